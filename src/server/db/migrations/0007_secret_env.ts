import type { Kysely } from 'kysely';

/**
 * `secret_env`: environment variables whose values are secret whatever their names. Jobs, profile
 * tasks and schedules keep them as a JSON object of sealed values (runs keep them in their spec).
 */
const tables = ['jobs', 'profile_tasks', 'schedules'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of tables)
    await db.schema
      .alterTable(table)
      .addColumn('secret_env', 'text', (c) => c.notNull().defaultTo('{}'))
      .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of tables) await db.schema.alterTable(table).dropColumn('secret_env').execute();
}
