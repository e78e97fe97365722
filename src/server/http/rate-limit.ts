import type { Clock } from '../lib/clock.js';
import { AppError } from '../lib/errors.js';

interface Window {
  startedAt: number;
  count: number;
}

/**
 * Fixed-window counters held in memory: cheap, and enough to slow password guessing. With
 * several server nodes each node counts for itself, so the effective limit is per node.
 */
export class RateLimiter {
  readonly #windows = new Map<string, Window>();
  readonly #max: number;
  readonly #windowMs: number;
  readonly #clock: Clock;

  constructor(deps: { max: number; windowMs: number; clock: Clock }) {
    this.#max = deps.max;
    this.#windowMs = deps.windowMs;
    this.#clock = deps.clock;
  }

  /** Counts one attempt against every key; throws rate_limited when any key is over its limit. */
  hit(keys: readonly string[]): void {
    const now = this.#clock.now().getTime();
    if (this.#windows.size > 10_000) this.#sweep(now);
    let retryAfterMs = 0;
    for (const key of keys) {
      let window = this.#windows.get(key);
      if (!window || now - window.startedAt >= this.#windowMs) {
        window = { startedAt: now, count: 0 };
        this.#windows.set(key, window);
      }
      window.count += 1;
      if (window.count > this.#max)
        retryAfterMs = Math.max(retryAfterMs, window.startedAt + this.#windowMs - now);
    }
    if (retryAfterMs > 0) {
      throw new AppError('rate_limited', 'too many attempts; try again later', {
        retryAfterSeconds: Math.ceil(retryAfterMs / 1000),
      });
    }
  }

  #sweep(now: number): void {
    for (const [key, window] of this.#windows)
      if (now - window.startedAt >= this.#windowMs) this.#windows.delete(key);
  }
}
