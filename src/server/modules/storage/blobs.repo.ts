import type { Executor } from '../../db/executor.js';
import type { BlobRef } from './blob-store.js';

export const blobsRepo = {
  insertChunk(db: Executor, key: string, seq: number, data: Buffer): Promise<unknown> {
    return db.insertInto('blob_chunks').values({ hash: key, seq, data }).execute();
  },

  /**
   * Files the chunks written under a temporary key as the blob `ref`; when that blob exists
   * already (equal content, stored before or concurrently) they are dropped instead.
   */
  async keep(db: Executor, key: string, ref: BlobRef, createdAt: string): Promise<void> {
    const inserted = await db
      .insertInto('blobs')
      .values({ hash: ref.hash, size: ref.size, created_at: createdAt })
      .onConflict((oc) => oc.column('hash').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0)
      await db.updateTable('blob_chunks').set({ hash: ref.hash }).where('hash', '=', key).execute();
    else await blobsRepo.discard(db, key);
  },

  discard(db: Executor, key: string): Promise<unknown> {
    return db.deleteFrom('blob_chunks').where('hash', '=', key).execute();
  },

  async size(db: Executor, hash: string): Promise<number | undefined> {
    const row = await db.selectFrom('blobs').select('size').where('hash', '=', hash).executeTakeFirst();
    // bigint comes back as text on PostgreSQL
    return row && Number(row.size);
  },

  async chunk(db: Executor, hash: string, seq: number): Promise<Buffer | undefined> {
    const row = await db
      .selectFrom('blob_chunks')
      .select('data')
      .where('hash', '=', hash)
      .where('seq', '=', seq)
      .executeTakeFirst();
    return row?.data;
  },

  async remove(db: Executor, hash: string): Promise<void> {
    await db.deleteFrom('blobs').where('hash', '=', hash).execute();
    await db.deleteFrom('blob_chunks').where('hash', '=', hash).execute();
  },
};
