/** A call waiting for its batch. */
interface Waiting<I, R> {
  item: I;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export interface TickBatchOptions<I> {
  /** Items in one batch at most: keeps a statement under the dialects' parameter limits. */
  maxSize: number;
  /** Batches under way at once; the items arriving meanwhile wait and make the next batch bigger. */
  maxInFlight: number;
  /** At most one item per key in a batch: a second waits for the next, so one key's items keep their order. */
  keyOf?: (item: I) => string;
  /**
   * Whether a failed batch of several items is tried again item by item, so one bad item fails
   * alone; false for failures every item would meet (the database is unreachable). Default: never.
   */
  retryAlone?: (error: unknown) => boolean;
}

/**
 * Calls made in one turn of the event loop, handed to `run` together: ten thousand agents
 * reporting in the same poll of their sockets cost a few statements, not ten thousand. `run`
 * answers one result per item, in the items' order.
 *
 * States of a call: waiting → in a batch under way → resolved or rejected with its batch (or
 * alone, when `retryAlone` says so).
 */
export class TickBatch<I, R> {
  readonly #run: (items: I[]) => Promise<R[]>;
  readonly #options: TickBatchOptions<I>;
  #waiting: Waiting<I, R>[] = [];
  #scheduled = false;
  #inFlight = 0;

  constructor(run: (items: I[]) => Promise<R[]>, options: TickBatchOptions<I>) {
    this.#run = run;
    this.#options = options;
  }

  add(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#waiting.length === 0 || this.#inFlight >= this.#options.maxInFlight) return;
    this.#scheduled = true;
    // After the poll phase: every socket read in this turn has added its items by then.
    setImmediate(() => {
      this.#scheduled = false;
      while (this.#inFlight < this.#options.maxInFlight && this.#waiting.length > 0) {
        const batch = this.#take();
        this.#inFlight += 1;
        void this.#settle(batch).finally(() => {
          this.#inFlight -= 1;
          this.#schedule();
        });
      }
    });
  }

  /** The next batch: the oldest items, one per key, up to maxSize; the rest keep their order. */
  #take(): Waiting<I, R>[] {
    const { keyOf, maxSize } = this.#options;
    if (!keyOf) return this.#waiting.splice(0, maxSize);
    const batch: Waiting<I, R>[] = [];
    const later: Waiting<I, R>[] = [];
    const keys = new Set<string>();
    let i = 0;
    for (; i < this.#waiting.length && batch.length < maxSize; i += 1) {
      const waiting = this.#waiting[i]!;
      const key = keyOf(waiting.item);
      if (keys.has(key)) later.push(waiting);
      else {
        keys.add(key);
        batch.push(waiting);
      }
    }
    this.#waiting = [...later, ...this.#waiting.slice(i)];
    return batch;
  }

  async #settle(batch: Waiting<I, R>[]): Promise<void> {
    try {
      const results = await this.#run(batch.map((waiting) => waiting.item));
      batch.forEach((waiting, i) => waiting.resolve(results[i]!));
    } catch (error) {
      if (batch.length > 1 && this.#options.retryAlone?.(error)) {
        await Promise.all(batch.map((waiting) => this.#settle([waiting])));
        return;
      }
      for (const waiting of batch) waiting.reject(error);
    }
  }
}
