import type { Kysely } from 'kysely';

/**
 * Schedules: what to run (a script, a saved command or a profile) on a target set, and when (a
 * cron expression in a time zone, or an interval). `next_fire_at` is the claim token: a node
 * fires a schedule only by moving it forward from the value it read, so one node wins each fire.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('schedules')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('action_kind', 'text', (c) => c.notNull())
    // No cascade: the scripts service refuses (409) to delete a script a schedule runs.
    .addColumn('script_id', 'text', (c) => c.references('scripts.id'))
    // No reference (profiles share a table with templates): the profiles service refuses (409) to
    // delete a profile a schedule runs.
    .addColumn('profile_id', 'text')
    .addColumn('parameters', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('timeout_seconds', 'integer')
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('concurrency', 'integer')
    .addColumn('failure_threshold', 'integer')
    .addColumn('deadline_seconds', 'integer')
    .addColumn('cron', 'text')
    .addColumn('timezone', 'text')
    .addColumn('interval_seconds', 'integer')
    .addColumn('next_fire_at', 'text')
    .addColumn('last_fired_at', 'text')
    .addColumn('last_run_id', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('schedules_org_name_unique', ['org_id', 'name'])
    .execute();
  await db.schema.createIndex('schedules_org_idx').on('schedules').columns(['org_id', 'id']).execute();
  // The scheduler's one query: enabled schedules whose next fire time has come.
  await db.schema
    .createIndex('schedules_due_idx')
    .on('schedules')
    .columns(['enabled', 'next_fire_at'])
    .execute();
  await db.schema.createIndex('schedules_script_idx').on('schedules').column('script_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('schedules').ifExists().execute();
}
