import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateToLatest, openDatabase, type Database } from '../../src/server/db/database.js';
import { systemClock } from '../../src/server/lib/clock.js';
import type { BlobStore } from '../../src/server/modules/storage/blob-store.js';
import { CHUNK_BYTES, DatabaseBlobStore } from '../../src/server/modules/storage/database-blob-store.js';
import { FileBlobStore } from '../../src/server/modules/storage/file-blob-store.js';
import { dialects, isolatedDatabase, type Dialect } from '../support/harness.js';
import { sql } from 'kysely';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function read(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A stream of `bytes` in pieces of odd sizes, as a socket would deliver them. */
function pieces(bytes: Buffer, size = 65_521): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
    })(),
  );
}

interface StoreUnderTest {
  store: BlobStore;
  /** What the store keeps besides whole blobs: temporary files or chunk rows. */
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

async function fileStore(): Promise<StoreUnderTest> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-blobs-'));
  const tmp = path.join(dir, 'tmp');
  return {
    store: new FileBlobStore(dir),
    leftovers: async () => {
      try {
        return readdirSync(tmp);
      } catch {
        return [];
      }
    },
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function databaseStore(dialect: Dialect): Promise<StoreUnderTest> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-blobs-'));
  const config = isolatedDatabase(dialect, dir);
  const database: Database = await openDatabase(config);
  const outcome = await migrateToLatest(database);
  if (outcome.error) throw outcome.error;
  return {
    store: new DatabaseBlobStore({ db: database.db, clock: systemClock }),
    leftovers: async () => {
      const rows = await database.db
        .selectFrom('blob_chunks')
        .select('hash')
        .where('hash', 'like', 'tmp-%')
        .execute();
      return rows.map((r) => r.hash);
    },
    close: async () => {
      if (config.kind === 'postgres' && config.schema)
        await sql`drop schema ${sql.id(config.schema)} cascade`.execute(database.db);
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const setups: [string, () => Promise<StoreUnderTest>][] = [
  ['files', fileStore],
  ...dialects.map((d): [string, () => Promise<StoreUnderTest>] => [
    `the database (${d})`,
    () => databaseStore(d),
  ]),
];

describe.each(setups)('storage: blobs in %s', (_label, make) => {
  let subject: StoreUnderTest;
  let store: BlobStore;

  beforeAll(async () => {
    subject = await make();
    store = subject.store;
  });
  afterAll(async () => {
    await subject?.close();
  });

  it('storage: a put answers the SHA-256 and size, and open gives the same bytes back', async () => {
    // more than two chunks of the database store, and not a multiple of one
    const bytes = randomBytes(2 * CHUNK_BYTES + 12_345);
    const ref = await store.put(pieces(bytes));
    expect(ref).toEqual({ hash: sha256(bytes), size: bytes.length });
    expect(await store.has(ref.hash)).toBe(true);
    expect(await store.size(ref.hash)).toBe(bytes.length);
    const back = await read((await store.open(ref.hash))!);
    expect(back.equals(bytes)).toBe(true);
    expect(await subject.leftovers()).toEqual([]);
  });

  it('storage: equal content is stored once; putting it again (even at once) is idempotent', async () => {
    const bytes = randomBytes(CHUNK_BYTES + 7);
    const [a, b] = await Promise.all([store.put(pieces(bytes)), store.put(pieces(bytes, 4096))]);
    const c = await store.put(pieces(bytes));
    expect(a).toEqual(b);
    expect(c).toEqual(a);
    expect((await read((await store.open(a.hash))!)).equals(bytes)).toBe(true);
    expect(await subject.leftovers()).toEqual([]);
  });

  it('storage: an empty blob is a blob', async () => {
    const ref = await store.put(Readable.from([]));
    expect(ref).toEqual({ hash: sha256(Buffer.alloc(0)), size: 0 });
    expect((await read((await store.open(ref.hash))!)).length).toBe(0);
  });

  it('storage: remove deletes the blob; a missing blob is undefined, removing it again no error', async () => {
    const ref = await store.put(pieces(randomBytes(1000)));
    await store.remove(ref.hash);
    expect(await store.has(ref.hash)).toBe(false);
    expect(await store.size(ref.hash)).toBeUndefined();
    expect(await store.open(ref.hash)).toBeUndefined();
    await store.remove(ref.hash);
  });

  it('storage: a stream that fails midway leaves nothing behind', async () => {
    const failing = Readable.from(
      (async function* () {
        yield randomBytes(CHUNK_BYTES + 10);
        throw new Error('connection reset');
      })(),
    );
    await expect(store.put(failing)).rejects.toThrow(/connection reset/);
    expect(await subject.leftovers()).toEqual([]);
  });

  it('storage: what is not a hex SHA-256 never reaches a path or a query', async () => {
    for (const hash of ['../../etc/passwd', 'ABC', `${'a'.repeat(63)}/`])
      await expect(store.size(hash)).rejects.toThrow(/not a blob hash/);
  });
});
