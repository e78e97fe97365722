import type { Kysely } from 'kysely';

/**
 * Housekeeping: each run (scheduled or asked for) is recorded with what it deleted. The indexes
 * let each purge find what has expired without reading a whole table, hour after hour.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('housekeeping_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('requested_by', 'text')
    .addColumn('node', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('counts', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema
    .createIndex('housekeeping_runs_started_idx')
    .on('housekeeping_runs')
    .column('started_at')
    .execute();
  await db.schema.createIndex('sessions_expires_idx').on('sessions').column('expires_at').execute();
  await db.schema
    .createIndex('password_resets_expires_idx')
    .on('password_resets')
    .column('expires_at')
    .execute();
  await db.schema.createIndex('invites_expires_idx').on('invites').column('expires_at').execute();
  await db.schema
    .createIndex('audit_events_org_created_idx')
    .on('audit_events')
    .columns(['org_id', 'created_at'])
    .execute();
  // Output is purged by age: the range of old rows still there, not every row ever written.
  await db.schema.createIndex('job_output_created_idx').on('job_output').column('created_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const index of [
    'job_output_created_idx',
    'audit_events_org_created_idx',
    'invites_expires_idx',
    'password_resets_expires_idx',
    'sessions_expires_idx',
  ])
    await db.schema.dropIndex(index).ifExists().execute();
  await db.schema.dropTable('housekeeping_runs').ifExists().execute();
}
