import type { Kysely } from 'kysely';

/**
 * Deployment pipelines. A service is a deployment recipe (script, planned steps, where it runs,
 * its rollout and the schema of the config it publishes), defined through the API or synced from
 * a folder of the services directory. Deploy tokens are narrower than API keys: a service token
 * starts and reads deployments of one service, a config token reads deployed-service discovery;
 * both are stored hashed. A deployment runs the service's script on its targets (one per
 * machine, in batches), each through a job of the execution engine (`jobs.deployment_id`); its
 * script reports steps per target. A planned step has a row once it is first reported: until then
 * it is pending, and a rollout over ten thousand machines writes no step rows to start.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('services')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('interpreter', 'text', (c) => c.notNull())
    .addColumn('script', 'text', (c) => c.notNull())
    .addColumn('steps', 'text', (c) => c.notNull())
    .addColumn('runs_on', 'text', (c) => c.notNull())
    .addColumn('rollout', 'text', (c) => c.notNull())
    .addColumn('env', 'text', (c) => c.notNull())
    .addColumn('secret_env', 'text', (c) => c.notNull())
    .addColumn('config_schema', 'text')
    .addColumn('timeout_seconds', 'integer', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('folder', 'text')
    .addColumn('content_hash', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('services_org_name_unique', ['org_id', 'name'])
    .execute();
  await db.schema.createIndex('services_org_idx').on('services').columns(['org_id', 'id']).execute();

  await db.schema
    .createTable('deploy_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('service_id', 'text', (c) => c.references('services.id').onDelete('cascade'))
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'text')
    .addColumn('last_used_at', 'text')
    .execute();
  await db.schema
    .createIndex('deploy_tokens_org_idx')
    .on('deploy_tokens')
    .columns(['org_id', 'id'])
    .execute();

  await db.schema
    .createTable('deployments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('service_id', 'text', (c) => c.notNull().references('services.id').onDelete('cascade'))
    .addColumn('service_name', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('origin', 'text', (c) => c.notNull())
    .addColumn('started_by_type', 'text', (c) => c.notNull())
    .addColumn('started_by_id', 'text')
    .addColumn('started_by_label', 'text')
    .addColumn('spec', 'text', (c) => c.notNull())
    .addColumn('planned_steps', 'text', (c) => c.notNull())
    .addColumn('env', 'text', (c) => c.notNull())
    .addColumn('secret_env', 'text', (c) => c.notNull())
    .addColumn('config', 'text')
    .addColumn('error', 'text')
    .addColumn('batch_count', 'integer', (c) => c.notNull())
    .addColumn('current_batch', 'integer', (c) => c.notNull())
    .addColumn('next_batch_at', 'text')
    .addColumn('awaiting_continue', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('finished_at', 'text')
    .execute();
  await db.schema.createIndex('deployments_org_idx').on('deployments').columns(['org_id', 'id']).execute();
  await db.schema
    .createIndex('deployments_service_idx')
    .on('deployments')
    .columns(['service_id', 'status'])
    .execute();
  await db.schema
    .createIndex('deployments_status_idx')
    .on('deployments')
    .columns(['status', 'next_batch_at'])
    .execute();

  await db.schema
    .createTable('deployment_targets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('deployment_id', 'text', (c) => c.notNull().references('deployments.id').onDelete('cascade'))
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('agent_name', 'text', (c) => c.notNull())
    .addColumn('batch', 'integer', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('job_id', 'text')
    .addColumn('error', 'text')
    .addColumn('reported_status', 'text')
    .addColumn('config', 'text')
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('deployment_targets_deployment_idx')
    .on('deployment_targets')
    .columns(['deployment_id', 'batch', 'status'])
    .execute();
  await db.schema
    .createIndex('deployment_targets_job_idx')
    .on('deployment_targets')
    .column('job_id')
    .execute();

  await db.schema
    .createTable('deployment_steps')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('deployment_id', 'text', (c) => c.notNull().references('deployments.id').onDelete('cascade'))
    .addColumn('target_id', 'text', (c) =>
      c.notNull().references('deployment_targets.id').onDelete('cascade'),
    )
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('error_message', 'text')
    .addColumn('started_at', 'text')
    .addColumn('finished_at', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('deployment_steps_target_name_unique', ['target_id', 'name'])
    .execute();
  await db.schema
    .createIndex('deployment_steps_deployment_idx')
    .on('deployment_steps')
    .columns(['deployment_id', 'target_id', 'position'])
    .execute();

  await db.schema.alterTable('jobs').addColumn('deployment_id', 'text').execute();
  await db.schema.createIndex('jobs_deployment_idx').on('jobs').column('deployment_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('jobs_deployment_idx').ifExists().execute();
  await db.schema.alterTable('jobs').dropColumn('deployment_id').execute();
  for (const table of ['deployment_steps', 'deployment_targets', 'deployments', 'deploy_tokens', 'services'])
    await db.schema.dropTable(table).ifExists().execute();
}
