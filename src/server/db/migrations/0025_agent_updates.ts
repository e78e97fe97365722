import type { Kysely } from 'kysely';

/**
 * Agent self-update. agent_update_keys holds the instance's Ed25519 key pair that signs agent
 * builds (one row, the private key sealed), in the database so every server node signs alike.
 * agent_update_policies holds each organisation's rollout: paused, and at the canary stage only
 * the canary group's agents are offered updates. agent_update_states holds, per agent, what its
 * last hello said (version, platform, whether it can replace itself) and its latest update: the
 * build offered, and the outcome; a build an agent failed (by SHA-256) is not offered to it again.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('agent_update_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('private_key', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('agent_update_policies')
    .addColumn('org_id', 'text', (c) => c.primaryKey().references('orgs.id').onDelete('cascade'))
    .addColumn('paused', 'integer', (c) => c.notNull())
    .addColumn('stage', 'text', (c) => c.notNull())
    .addColumn('canary_group_id', 'text', (c) => c.references('agent_groups.id').onDelete('set null'))
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('agent_update_states')
    .addColumn('agent_id', 'text', (c) => c.primaryKey().references('agents.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('hostname', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('os', 'text', (c) => c.notNull())
    .addColumn('arch', 'text', (c) => c.notNull())
    .addColumn('self_update', 'integer', (c) => c.notNull())
    .addColumn('offered_version', 'text')
    .addColumn('offered_sha256', 'text')
    .addColumn('offered_at', 'text')
    .addColumn('outcome', 'text')
    .addColumn('reason', 'text')
    .addColumn('failed_sha256', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('agent_update_states_org_idx')
    .on('agent_update_states')
    .columns(['org_id', 'outcome'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('agent_update_states').execute();
  await db.schema.dropTable('agent_update_policies').execute();
  await db.schema.dropTable('agent_update_keys').execute();
}
