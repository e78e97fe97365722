import type { Kysely } from 'kysely';

/**
 * Robots: the unattended identities that run processes. A robot lives on one of our agents, or is
 * a runner of its own (a Python or .NET runner we do not manage) that registers with a one-time
 * machine key and then speaks with a robot token; both secrets are stored hashed.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('robots')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('kind', 'text', (c) => c.notNull())
    // No cascade: the agents service refuses (409) to delete an agent robots live on.
    .addColumn('agent_id', 'text', (c) => c.references('agents.id'))
    .addColumn('pools', 'text', (c) => c.notNull().defaultTo('[]'))
    // The credential asset the robot's jobs run as; the assets service refuses to delete one in use.
    .addColumn('credential_asset_id', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('offline'))
    .addColumn('current_job_id', 'text')
    .addColumn('last_heartbeat_at', 'text')
    .addColumn('machine_key_hash', 'text')
    .addColumn('token_prefix', 'text')
    .addColumn('token_hash', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('robots_org_name_unique', ['org_id', 'name'])
    .execute();
  await db.schema.createIndex('robots_org_idx').on('robots').columns(['org_id', 'id']).execute();
  await db.schema.createIndex('robots_agent_idx').on('robots').column('agent_id').execute();
  await db.schema.createIndex('robots_token_idx').on('robots').column('token_hash').unique().execute();
  await db.schema
    .createIndex('robots_machine_key_idx')
    .on('robots')
    .column('machine_key_hash')
    .unique()
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('robots').ifExists().execute();
}
