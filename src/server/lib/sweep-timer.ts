/**
 * setInterval for the sweeps that judge agents by their silence (expired leases, offline agents).
 * A tick that comes more than two intervals after the previous one means this process was
 * paused (a long GC, a starved or suspended machine): what the agents sent meanwhile is still
 * unread in the socket buffers, so judging now would expire live leases and mark live agents
 * offline. That tick is skipped and the next one, after the sockets are read, does the work.
 * Only one tick in a row is skipped, so a process that is always late still sweeps.
 */
export function sweepTimer(work: () => void, intervalMs: number): NodeJS.Timeout {
  let last = performance.now();
  let skipped = false;
  return setInterval(() => {
    const now = performance.now();
    const late = now - last > 2 * intervalMs;
    last = now;
    if (late && !skipped) {
      skipped = true;
      return;
    }
    skipped = false;
    work();
  }, intervalMs).unref();
}
