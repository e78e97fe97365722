import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('agent_groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('agent_groups_org_name_unique', ['org_id', 'name'])
    .execute();

  await db.schema
    .createTable('enrollment_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('expires_at', 'text')
    .addColumn('max_uses', 'integer')
    .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('default_tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('group_id', 'text', (c) => c.references('agent_groups.id').onDelete('set null'))
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema
    .createIndex('enrollment_tokens_org_idx')
    .on('enrollment_tokens')
    .columns(['org_id', 'id'])
    .execute();

  await db.schema
    .createTable('agents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('hostname', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('fingerprint', 'text')
    .addColumn('os_type', 'text', (c) => c.notNull().defaultTo('other'))
    .addColumn('os_version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('arch', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('ip', 'text')
    .addColumn('agent_version', 'text')
    .addColumn('interpreters', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('tags', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('group_id', 'text', (c) => c.references('agent_groups.id').onDelete('set null'))
    .addColumn('notes', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('connected', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_seen_at', 'text')
    .addColumn('metrics', 'text')
    .addColumn('system_info', 'text')
    .addColumn('token_hash', 'text', (c) => c.unique())
    .addColumn('machine_key_hash', 'text', (c) => c.unique())
    .addColumn('enrolled_via', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('deleted_at', 'text')
    .addColumn('delete_reason', 'text')
    .execute();
  await db.schema.createIndex('agents_org_idx').on('agents').columns(['org_id', 'id']).execute();
  await db.schema
    .createIndex('agents_fingerprint_idx')
    .on('agents')
    .columns(['org_id', 'fingerprint'])
    .execute();
  await db.schema
    .createIndex('agents_status_seen_idx')
    .on('agents')
    .columns(['status', 'last_seen_at'])
    .execute();

  await db.schema
    .createTable('runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('command'))
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('concurrency', 'integer', (c) => c.notNull())
    .addColumn('failure_threshold', 'integer')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('deadline_at', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema.createIndex('runs_org_idx').on('runs').columns(['org_id', 'id']).execute();

  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('agent_id', 'text', (c) => c.notNull().references('agents.id').onDelete('cascade'))
    .addColumn('run_id', 'text', (c) => c.references('runs.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('exec'))
    .addColumn('interpreter', 'text', (c) => c.notNull())
    .addColumn('command', 'text', (c) => c.notNull())
    .addColumn('script_id', 'text')
    .addColumn('script_version', 'integer')
    .addColumn('env', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('cwd', 'text')
    .addColumn('run_as', 'text')
    .addColumn('timeout_seconds', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('admitted', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('attempt', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('lease_expires_at', 'text')
    .addColumn('cancel_requested_at', 'text')
    .addColumn('deadline_at', 'text')
    .addColumn('dispatched_at', 'text')
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('exit_code', 'integer')
    .addColumn('duration_ms', 'integer')
    .addColumn('error', 'text')
    .addColumn('output_bytes', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('output_cap_bytes', 'integer', (c) => c.notNull())
    .addColumn('output_truncated', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('jobs_org_idx').on('jobs').columns(['org_id', 'id']).execute();
  await db.schema.createIndex('jobs_agent_status_idx').on('jobs').columns(['agent_id', 'status']).execute();
  // Covers a run's counts and its admission check without reading table rows.
  await db.schema
    .createIndex('jobs_run_status_idx')
    .on('jobs')
    .columns(['run_id', 'status', 'admitted'])
    .execute();
  await db.schema
    .createIndex('jobs_status_lease_idx')
    .on('jobs')
    .columns(['status', 'lease_expires_at'])
    .execute();

  await db.schema
    .createTable('job_output')
    .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('stream', 'text', (c) => c.notNull())
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('job_output_pk', ['job_id', 'attempt', 'seq'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['job_output', 'jobs', 'runs', 'agents', 'enrollment_tokens', 'agent_groups']) {
    await db.schema.dropTable(table).ifExists().execute();
  }
}
