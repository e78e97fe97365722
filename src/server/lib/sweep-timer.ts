import type { Config } from '../config.js';
import { isDatabaseUnavailable } from '../db/availability.js';

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

/**
 * After the database was unreachable no heartbeat could be written, so every agent reads silent:
 * judging silence (leases, offline agents) must wait until each node has written the heartbeats
 * it heard meanwhile. One per node, shared by its sweeps.
 *
 * States: judging → (a sweep fails: the database is unreachable) holding → (graceMs after the
 * database last failed) judging. While holding, each sweep probes the database instead of
 * judging, so the hold ends graceMs after the database is back, not after the failure.
 */
export class OutageHold {
  readonly #graceMs: number;
  readonly #probe: () => Promise<boolean>;
  #until = 0;

  constructor(deps: { graceMs: number; probe: () => Promise<boolean> }) {
    this.#graceMs = deps.graceMs;
    this.#probe = deps.probe;
  }

  /** Called with a sweep's failure. */
  failed(error: unknown): void {
    if (isDatabaseUnavailable(error)) this.#extend();
  }

  /** Whether a sweep must not judge now. */
  async holding(): Promise<boolean> {
    if (performance.now() >= this.#until) return false;
    if (!(await this.#probe())) this.#extend();
    return true;
  }

  #extend(): void {
    this.#until = performance.now() + this.#graceMs;
  }
}

/** Time for a node to hear each live agent once more and write it, from a sweep that may lag a tick. */
export function silenceGraceMs(
  fleet: Pick<Config['fleet'], 'heartbeatIntervalMs' | 'heartbeatFlushMs' | 'sweepIntervalMs'>,
): number {
  return fleet.heartbeatIntervalMs + fleet.heartbeatFlushMs + fleet.sweepIntervalMs;
}
