import type { Kysely } from 'kysely';

/**
 * `max_attempts` on scripts and profile tasks: how many times their jobs may start. Null takes the
 * jobs settings' default (1: at most once). Jobs have had the column since 0002; a run's plan
 * carries a task's value in its spec.
 */
const tables = ['scripts', 'profile_tasks'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of tables)
    await db.schema.alterTable(table).addColumn('max_attempts', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of tables) await db.schema.alterTable(table).dropColumn('max_attempts').execute();
}
