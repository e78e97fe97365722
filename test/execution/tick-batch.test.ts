import { describe, expect, it } from 'vitest';
import { TickBatch } from '../../src/server/lib/tick-batch.js';

/** A batch function that records what it was handed and answers each item doubled. */
function recorder(fail?: (items: number[]) => Error | undefined) {
  const batches: number[][] = [];
  const run = async (items: number[]) => {
    batches.push(items);
    const error = fail?.(items);
    if (error) throw error;
    return items.map((item) => item * 2);
  };
  return { batches, run };
}

describe('tick batch: calls of one turn of the event loop, run together', () => {
  it('tick batch: calls made together share a batch, each answered with its own result', async () => {
    const { batches, run } = recorder();
    const batch = new TickBatch(run, { maxSize: 100, maxInFlight: 1 });
    expect(await Promise.all([1, 2, 3].map((n) => batch.add(n)))).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('tick batch: a batch holds at most maxSize items; the rest follow in order', async () => {
    const { batches, run } = recorder();
    const batch = new TickBatch(run, { maxSize: 2, maxInFlight: 1 });
    await Promise.all([1, 2, 3, 4, 5].map((n) => batch.add(n)));
    expect(batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('tick batch: a second item for a key waits for the next batch, so one key keeps its order', async () => {
    const { batches, run } = recorder();
    const batch = new TickBatch(run, { maxSize: 100, maxInFlight: 1, keyOf: (n) => String(n % 10) });
    await Promise.all([1, 11, 2, 21, 12].map((n) => batch.add(n)));
    expect(batches).toEqual([[1, 2], [11, 12], [21]]);
  });

  it('tick batch: items arriving while a batch is under way make the next batch', async () => {
    const { batches, run } = recorder();
    const batch = new TickBatch(run, { maxSize: 100, maxInFlight: 1 });
    const first = batch.add(1);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3].map((n) => batch.add(n));
    await Promise.all([first, ...later]);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it('tick batch: a failed batch is tried item by item when retryAlone says so, and only the bad item fails', async () => {
    const { batches, run } = recorder((items) => (items.includes(2) ? new Error('bad row') : undefined));
    const batch = new TickBatch(run, { maxSize: 100, maxInFlight: 1, retryAlone: () => true });
    const results = await Promise.allSettled([1, 2, 3].map((n) => batch.add(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(batches).toEqual([[1, 2, 3], [1], [2], [3]]);
  });

  it('tick batch: a failure every item would meet fails the whole batch at once', async () => {
    const { batches, run } = recorder(() => new Error('database unreachable'));
    const batch = new TickBatch(run, { maxSize: 100, maxInFlight: 1, retryAlone: () => false });
    const results = await Promise.allSettled([1, 2, 3].map((n) => batch.add(n)));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(batches).toEqual([[1, 2, 3]]);
  });
});
