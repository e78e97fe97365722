import type { Kysely } from 'kysely';

/**
 * agent_update_states keeps what an update is (offered, swapped, failed…), no longer a copy of the
 * agent's hostname, version and architecture: those are read from agents, which every hello
 * already writes.
 */
const COPIED = ['hostname', 'version', 'arch'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const column of COPIED) await db.schema.alterTable('agent_update_states').dropColumn(column).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const column of COPIED)
    await db.schema
      .alterTable('agent_update_states')
      .addColumn(column, 'text', (c) => c.notNull().defaultTo(''))
      .execute();
}
