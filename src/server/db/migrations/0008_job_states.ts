import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * The database refuses a job or run status outside the state machine's (src/protocol/jobs.ts);
 * which moves are allowed is checked where rows are written, by the transition tables.
 *
 * PostgreSQL takes a CHECK constraint on the existing tables. SQLite cannot add one to an existing
 * table: it would be rebuilt (create, copy, drop, rename, re-index), and dropping the old `jobs`
 * with foreign keys on deletes every `job_output` row by cascade (rebuilding `runs` would delete
 * every job), while turning them off holds for the one connection the server shares. Triggers that
 * abort the statement give the same refusal with no copy and no window without foreign keys.
 *
 * The lists are written out: a migration keeps the statuses of its time, and a new status needs a
 * new migration.
 */
const checks = [
  {
    table: 'jobs',
    name: 'jobs_status_check',
    statuses: ['queued', 'dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'canceled', 'lost'],
  },
  { table: 'runs', name: 'runs_status_check', statuses: ['running', 'succeeded', 'failed', 'canceled'] },
] as const;

function isSqlite(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

/** `column in ('queued', …)`; `new.status` in a trigger. */
function allowed(column: 'status' | 'new.status', statuses: readonly string[]) {
  return sql`${sql.raw(column)} in (${sql.join(statuses.map((status) => sql.lit(status)))})`;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const { table, name, statuses } of checks) {
    if (!isSqlite(db)) {
      await db.schema.alterTable(table).addCheckConstraint(name, allowed('status', statuses)).execute();
      continue;
    }
    // The message is SQLite's own for a failed CHECK, so the refusal reads alike on both dialects.
    const refuse = sql.raw(`select raise(abort, 'CHECK constraint failed: ${name}')`);
    for (const [suffix, event] of [
      ['insert', sql`insert`],
      ['update', sql`update of status`],
    ] as const)
      await sql`create trigger ${sql.id(`${name}_${suffix}`)} before ${event} on ${sql.table(table)}
        for each row when not (${allowed('new.status', statuses)}) begin ${refuse}; end`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const { table, name } of checks) {
    if (!isSqlite(db)) {
      await db.schema.alterTable(table).dropConstraint(name).execute();
      continue;
    }
    for (const suffix of ['insert', 'update'])
      await sql`drop trigger if exists ${sql.id(`${name}_${suffix}`)}`.execute(db);
  }
}
