import type { Kysely } from 'kysely';

/**
 * Deployment profiles and templates (one table, `is_template`), their ordered tasks, the task a
 * job runs within a profile run, an agent's assigned profile and a group's auto-applied profile.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('profiles')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('target_os_type', 'text')
    .addColumn('is_template', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    // Profiles and templates are listed apart, so each keeps its own names.
    .addUniqueConstraint('profiles_org_kind_name_unique', ['org_id', 'is_template', 'name'])
    .execute();
  await db.schema.createIndex('profiles_org_idx').on('profiles').columns(['org_id', 'id']).execute();

  await db.schema
    .createTable('profile_tasks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('profile_id', 'text', (c) => c.notNull().references('profiles.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('action', 'text', (c) => c.notNull())
    // No cascade: the scripts service refuses (409) to delete a script a task names.
    .addColumn('script_id', 'text', (c) => c.references('scripts.id'))
    .addColumn('content', 'text')
    .addColumn('interpreter', 'text')
    .addColumn('parameters', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('source_url', 'text')
    .addColumn('destination', 'text')
    .addColumn('continue_on_error', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('timeout_seconds', 'integer')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('profile_tasks_profile_idx')
    .on('profile_tasks')
    .columns(['profile_id', 'position'])
    .execute();
  await db.schema.createIndex('profile_tasks_script_idx').on('profile_tasks').column('script_id').execute();

  await db.schema.alterTable('jobs').addColumn('task_index', 'integer').execute();
  await db.schema.alterTable('jobs').addColumn('task_name', 'text').execute();
  // One job per task per agent in a run: a follow-up delivered twice cannot queue a task twice.
  // Jobs outside profile runs have a null task_index, and nulls never collide.
  await db.schema
    .createIndex('jobs_run_agent_task_unique')
    .on('jobs')
    .columns(['run_id', 'agent_id', 'task_index'])
    .unique()
    .execute();

  // No foreign keys here: SQLite cannot drop a referencing column, and the profiles service
  // clears these in the transaction that deletes the profile.
  await db.schema.alterTable('agents').addColumn('profile_id', 'text').execute();
  await db.schema.alterTable('agent_groups').addColumn('auto_profile_id', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('agent_groups').dropColumn('auto_profile_id').execute();
  await db.schema.alterTable('agents').dropColumn('profile_id').execute();
  await db.schema.dropIndex('jobs_run_agent_task_unique').ifExists().execute();
  await db.schema.alterTable('jobs').dropColumn('task_name').execute();
  await db.schema.alterTable('jobs').dropColumn('task_index').execute();
  for (const table of ['profile_tasks', 'profiles']) await db.schema.dropTable(table).ifExists().execute();
}
