import type { Kysely } from 'kysely';

/**
 * Processes: an automation package's entry point published for robots to run, with its default
 * input, timeout, retry policy, robot pool and credential asset names; versioned like scripts.
 * A process names its package by name (and version, or none for the latest active one), so it
 * holds no foreign key into the packages module; `package_id` keeps the row of a pinned version,
 * which the packages service asks about before deleting a package.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('processes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('package_name', 'text', (c) => c.notNull())
    .addColumn('package_version', 'text')
    .addColumn('package_id', 'text')
    .addColumn('entry_point', 'text', (c) => c.notNull())
    .addColumn('default_input', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('timeout_seconds', 'integer', (c) => c.notNull())
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('retry_delay_seconds', 'integer', (c) => c.notNull())
    .addColumn('robot_pool', 'text')
    .addColumn('assets', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('processes_org_name_unique', ['org_id', 'name'])
    .execute();
  await db.schema.createIndex('processes_org_idx').on('processes').columns(['org_id', 'id']).execute();
  // The packages service asks which processes pin a package before it deletes one.
  await db.schema
    .createIndex('processes_package_idx')
    .on('processes')
    .columns(['org_id', 'package_id'])
    .execute();

  await db.schema
    .createTable('process_versions')
    // A time-ordered id of its own, so versions page like every other list.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('process_id', 'text', (c) => c.notNull().references('processes.id').onDelete('cascade'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('package_name', 'text', (c) => c.notNull())
    .addColumn('package_version', 'text')
    .addColumn('entry_point', 'text', (c) => c.notNull())
    .addColumn('default_input', 'text', (c) => c.notNull())
    .addColumn('timeout_seconds', 'integer', (c) => c.notNull())
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('retry_delay_seconds', 'integer', (c) => c.notNull())
    .addColumn('robot_pool', 'text')
    .addColumn('assets', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('process_versions_process_version_unique', ['process_id', 'version'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['process_versions', 'processes'])
    await db.schema.dropTable(table).ifExists().execute();
}
