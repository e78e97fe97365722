/**
 * Exponential backoff with full jitter (a uniform delay in [0, min(cap, base·2ⁿ)]), so a fleet
 * that lost its server does not reconnect in lockstep when it comes back.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs = 500,
    private readonly capMs = 30_000,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt; each call widens the window until it reaches the cap. */
  next(): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** this.attempt);
    // stop growing once at the cap so the exponent never overflows on a long outage
    if (ceiling < this.capMs) this.attempt += 1;
    return Math.floor(this.random() * ceiling);
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Waits ms, or less when the signal aborts; never rejects, so callers just check the signal. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
