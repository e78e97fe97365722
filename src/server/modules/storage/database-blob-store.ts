import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { assertBlobHash, HashingStream, type BlobRef, type BlobStore } from './blob-store.js';
import { blobsRepo } from './blobs.repo.js';

/** Bytes per `blob_chunks` row: large enough for few rows, small enough that no side holds a file. */
export const CHUNK_BYTES = 1024 * 1024;

/** Cuts a stream into buffers of exactly `size` bytes (the last one shorter). */
async function* chunksOf(stream: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of stream) {
    pending.push(piece);
    pendingBytes += piece.length;
    while (pendingBytes >= size) {
      const joined = Buffer.concat(pending, pendingBytes);
      yield joined.subarray(0, size);
      pending = [joined.subarray(size)];
      pendingBytes -= size;
    }
  }
  if (pendingBytes > 0) yield Buffer.concat(pending, pendingBytes);
}

/**
 * Blobs in the database (`blobs`, `blob_chunks`), for several server nodes that share one
 * PostgreSQL and no disk. A put writes its chunks under a temporary key as they arrive (the
 * hash is known only at the end), then files them under the hash in one transaction: readers
 * never see a blob whose chunks are not all there.
 */
export class DatabaseBlobStore implements BlobStore {
  readonly #db: Executor;
  readonly #clock: Clock;

  constructor(deps: { db: Executor; clock: Clock }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
  }

  async put(stream: Readable): Promise<BlobRef> {
    const key = `tmp-${randomUUID()}`;
    const hashing = new HashingStream();
    try {
      // pipe() does not pass a failure on: the source's error must end the hashing stream too.
      stream.once('error', (error) => hashing.destroy(error));
      let seq = 0;
      for await (const chunk of chunksOf(stream.pipe(hashing), CHUNK_BYTES)) {
        await blobsRepo.insertChunk(this.#db, key, seq, chunk);
        seq += 1;
      }
      const ref = hashing.ref();
      const now = this.#clock.now().toISOString();
      await inTransaction(this.#db, (trx) => blobsRepo.keep(trx, key, ref, now));
      return ref;
    } catch (error) {
      stream.destroy();
      await blobsRepo.discard(this.#db, key);
      throw error;
    }
  }

  async open(hash: string): Promise<Readable | undefined> {
    const found = await this.size(hash);
    if (found === undefined) return undefined;
    const size = found;
    const db = this.#db;
    // One chunk read at a time, as the consumer asks for more.
    async function* chunks(): AsyncGenerator<Buffer> {
      let sent = 0;
      for (let seq = 0; sent < size; seq += 1) {
        const data = await blobsRepo.chunk(db, hash, seq);
        if (!data) throw new Error(`blob ${hash} was removed while it was read`);
        sent += data.length;
        yield data;
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async has(hash: string): Promise<boolean> {
    return (await this.size(hash)) !== undefined;
  }

  async remove(hash: string): Promise<void> {
    assertBlobHash(hash);
    await inTransaction(this.#db, (trx) => blobsRepo.remove(trx, hash));
  }

  async size(hash: string): Promise<number | undefined> {
    assertBlobHash(hash);
    return blobsRepo.size(this.#db, hash);
  }
}
