import { SqliteAdapter, type Kysely } from 'kysely';

/**
 * Automation packages, and the database side of blob storage. A blob is kept once by its SHA-256
 * (hex) and shared by every package row of any organisation with that content; its bytes are rows
 * of about 1 MiB in `blob_chunks`, so neither the server nor the database handles a whole file at
 * once. `blobs` and `blob_chunks` stay empty when blobs are kept in the data directory.
 */
function binaryType(db: Kysely<unknown>): 'blob' | 'bytea' {
  return db.getExecutor().adapter instanceof SqliteAdapter ? 'blob' : 'bytea';
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('blobs')
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('blob_chunks')
    // A blob being written is kept under a temporary key until its hash is known.
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('data', binaryType(db), (c) => c.notNull())
    .addPrimaryKeyConstraint('blob_chunks_pk', ['hash', 'seq'])
    .execute();

  await db.schema
    .createTable('packages')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('manifest', 'text', (c) => c.notNull())
    .addColumn('entry_points', 'text', (c) => c.notNull())
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('packages_org_name_version_unique', ['org_id', 'name', 'version'])
    .execute();
  await db.schema.createIndex('packages_org_idx').on('packages').columns(['org_id', 'id']).execute();
  // Whether any organisation still references a blob, asked on every delete.
  await db.schema.createIndex('packages_hash_idx').on('packages').column('hash').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['packages', 'blob_chunks', 'blobs'])
    await db.schema.dropTable(table).ifExists().execute();
}
