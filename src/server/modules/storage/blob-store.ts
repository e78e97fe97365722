import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';

/** What a stored blob is known by: the hex SHA-256 of its bytes, and how many there are. */
export interface BlobRef {
  hash: string;
  size: number;
}

/**
 * Large files (automation packages) kept by content: the same bytes are stored once, under the
 * hex SHA-256 that names them. Every method streams; none holds a whole blob in memory.
 */
export interface BlobStore {
  /** Stores what the stream yields; putting equal content again is a no-op answering the same ref. */
  put(stream: Readable): Promise<BlobRef>;
  /** The blob's bytes, or undefined when there is no such blob. */
  open(hash: string): Promise<Readable | undefined>;
  has(hash: string): Promise<boolean>;
  /** Removes the blob; removing one that is not there is no error. */
  remove(hash: string): Promise<void>;
  /** Its size in bytes, or undefined when there is no such blob. */
  size(hash: string): Promise<number | undefined>;
}

const BLOB_HASH = /^[0-9a-f]{64}$/;

export function isBlobHash(value: string): boolean {
  return BLOB_HASH.test(value);
}

/** Refuses anything but a hex SHA-256, before it can become part of a path or a query. */
export function assertBlobHash(value: string): void {
  if (!isBlobHash(value)) throw new Error(`not a blob hash: ${JSON.stringify(value.slice(0, 80))}`);
}

/** Passes bytes through unchanged, hashing and counting them on the way. */
export class HashingStream extends Transform {
  readonly #hash: Hash = createHash('sha256');
  #size = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
    done(null, chunk);
  }

  /** Once the stream has ended. */
  ref(): BlobRef {
    return { hash: this.#hash.digest('hex'), size: this.#size };
  }
}
