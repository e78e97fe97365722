import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertBlobHash, HashingStream, type BlobRef, type BlobStore } from './blob-store.js';

function isMissing(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOENT';
}

/** fsync a directory, so a rename into it survives a crash. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Blobs as files: `<root>/<hash[0..2]>/<hash>`. A put writes to a temporary file under the root
 * (same file system), fsyncs it, and renames it into place: a reader sees a whole blob or none,
 * and equal content renamed over itself changes nothing.
 */
export class FileBlobStore implements BlobStore {
  readonly #root: string;
  readonly #tmp: string;

  /** `root` is `<dataDir>/blobs`. */
  constructor(root: string) {
    this.#root = root;
    this.#tmp = path.join(root, 'tmp');
  }

  #pathOf(hash: string): string {
    assertBlobHash(hash);
    return path.join(this.#root, hash.slice(0, 2), hash);
  }

  async put(stream: Readable): Promise<BlobRef> {
    await mkdir(this.#tmp, { recursive: true });
    const tmp = path.join(this.#tmp, `${randomUUID()}.part`);
    try {
      const hashing = new HashingStream();
      // flush: the file is fsynced before it closes, so the rename never publishes a torn blob
      await pipeline(stream, hashing, createWriteStream(tmp, { flags: 'wx', mode: 0o600, flush: true }));
      const ref = hashing.ref();
      const target = this.#pathOf(ref.hash);
      await mkdir(path.dirname(target), { recursive: true });
      await rename(tmp, target);
      await syncDir(path.dirname(target));
      return ref;
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  async open(hash: string): Promise<Readable | undefined> {
    const size = await this.size(hash);
    if (size === undefined) return undefined;
    // Bounded by the size (equal bytes have equal sizes): the stream ends with its last bytes,
    // without one more read to find the end of the file, which a busy thread pool can hold back
    // after the client has had every byte, keeping the connection busy past a server's close.
    const stream = createReadStream(this.#pathOf(hash), size > 0 ? { end: size - 1 } : {});
    try {
      // Opened before answering, so a blob removed meanwhile answers undefined, not a failing stream.
      await once(stream, 'open');
      return stream;
    } catch (error) {
      stream.destroy();
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  async has(hash: string): Promise<boolean> {
    return (await this.size(hash)) !== undefined;
  }

  async remove(hash: string): Promise<void> {
    await rm(this.#pathOf(hash), { force: true });
  }

  async size(hash: string): Promise<number | undefined> {
    try {
      return (await stat(this.#pathOf(hash))).size;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }
}
