import type { Kysely } from 'kysely';

/**
 * An agent's claim reads its queued, admitted jobs in id order: this index answers it (and the
 * admission lookup by agent) from the index alone, without sorting. It replaces the
 * (agent_id, status) index, whose every use it covers.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('jobs_agent_claim_idx')
    .on('jobs')
    .columns(['agent_id', 'status', 'admitted', 'id'])
    .execute();
  await db.schema.dropIndex('jobs_agent_status_idx').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('jobs_agent_status_idx').on('jobs').columns(['agent_id', 'status']).execute();
  await db.schema.dropIndex('jobs_agent_claim_idx').execute();
}
