import { describe, expect, it } from 'vitest';
import { Backoff, sleep } from '../../src/agent/backoff.js';

describe('agent backoff', () => {
  it('agent: backoff doubles its window up to the cap', () => {
    const backoff = new Backoff(500, 30_000, () => 0.999_999);
    const delays = Array.from({ length: 10 }, () => backoff.next());
    expect(delays).toEqual([499, 999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999, 29_999]);
  });

  it('agent: backoff is jittered over the whole window', () => {
    const backoff = new Backoff(500, 30_000, () => 0);
    expect(backoff.next()).toBe(0);
    const real = new Backoff();
    const samples = Array.from({ length: 200 }, () => {
      real.reset();
      return real.next();
    });
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...samples)).toBeLessThan(500);
    expect(new Set(samples).size).toBeGreaterThan(50);
  });

  it('agent: backoff resets to the base window', () => {
    const backoff = new Backoff(500, 30_000, () => 0.999_999);
    for (let i = 0; i < 20; i += 1) backoff.next();
    expect(backoff.next()).toBe(29_999);
    backoff.reset();
    expect(backoff.next()).toBe(499);
  });

  it('agent: sleep ends early when the signal aborts', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 20);
    await sleep(10_000, controller.signal);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
