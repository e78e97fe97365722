import type { Kysely } from 'kysely';

/**
 * agents.facts_requested_at: an operator asked the agent to report its facts again, and they have
 * not arrived since. A socket hears the request at once; an agent polling over HTTP hears it in
 * its next heartbeat's answer, from any node, so the request lives in the row.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('agents').addColumn('facts_requested_at', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('agents').dropColumn('facts_requested_at').execute();
}
