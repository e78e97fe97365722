import type { Kysely } from 'kysely';

/**
 * Work that must run once across server nodes (alert evaluation, housekeeping) is done by the node
 * holding its lease: a row per kind of work, taken by one conditional statement when free or expired.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('node_leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('node_leases').ifExists().execute();
}
