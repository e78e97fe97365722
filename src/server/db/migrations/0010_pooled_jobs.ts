import { sql, SqliteAdapter, type Kysely } from 'kysely';

/**
 * Pooled jobs: a job for "any one agent matching a selector" has no agent until one claims it, so
 * `jobs.agent_id` becomes nullable, and `pool` (JSON: the selector) says who may claim it. A
 * partial index answers a claim's look for waiting pooled jobs of an organisation.
 *
 * SQLite cannot drop a NOT NULL: the table is rebuilt (SQLite's documented procedure: foreign
 * keys off, copy into a table created from the old one's own SQL, drop, rename, indexes and
 * triggers recreated from theirs, foreign keys checked), in one transaction. Foreign keys must be
 * off for the drop, or it would delete every `job_output` row by cascade; migrations run before
 * the server serves anything, so nothing else uses the connection meanwhile.
 */
function isSqlite(db: Kysely<unknown>): boolean {
  return db.getExecutor().adapter instanceof SqliteAdapter;
}

const AGENT_ID_NOT_NULL = /"agent_id" text not null/i;

async function rebuildSqliteJobs(db: Kysely<unknown>, rewrite: (createSql: string) => string): Promise<void> {
  const objects = await sql<{ type: string; name: string; sql: string | null }>`
    select type, name, sql from sqlite_master where tbl_name = 'jobs'`.execute(db);
  const table = objects.rows.find((o) => o.type === 'table');
  if (!table?.sql) throw new Error('jobs table not found');
  const rebuilt = rewrite(table.sql).replace(/^create table "?jobs"?/i, 'create table "jobs_rebuilt"');
  const dependents = objects.rows.filter((o) => o.type !== 'table' && o.sql !== null);
  await sql`pragma foreign_keys = off`.execute(db);
  try {
    await db.transaction().execute(async (trx) => {
      await sql.raw(rebuilt).execute(trx);
      await sql`insert into jobs_rebuilt select * from jobs`.execute(trx);
      await sql`drop table jobs`.execute(trx);
      await sql`alter table jobs_rebuilt rename to jobs`.execute(trx);
      for (const dependent of dependents) await sql.raw(dependent.sql!).execute(trx);
      const broken = await sql`pragma foreign_key_check`.execute(trx);
      if (broken.rows.length > 0) throw new Error('foreign keys broken by the jobs rebuild');
    });
  } finally {
    await sql`pragma foreign_keys = on`.execute(db);
  }
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('pool', 'text').execute();
  if (isSqlite(db)) {
    await rebuildSqliteJobs(db, (create) => {
      if (!AGENT_ID_NOT_NULL.test(create)) throw new Error('jobs.agent_id is not as 0002 made it');
      return create.replace(AGENT_ID_NOT_NULL, '"agent_id" text');
    });
  } else {
    await db.schema
      .alterTable('jobs')
      .alterColumn('agent_id', (c) => c.dropNotNull())
      .execute();
  }
  await db.schema
    .createIndex('jobs_pool_idx')
    .on('jobs')
    .columns(['org_id', 'status', 'admitted', 'id'])
    .where(sql.ref('agent_id'), 'is', null)
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('jobs_pool_idx').execute();
  // a pooled job no agent took has nowhere to go back to
  await sql`delete from jobs where agent_id is null`.execute(db);
  if (isSqlite(db)) {
    await rebuildSqliteJobs(db, (create) =>
      create.replace(/"agent_id" text(?! not null)/i, '"agent_id" text not null'),
    );
  } else {
    await db.schema
      .alterTable('jobs')
      .alterColumn('agent_id', (c) => c.setNotNull())
      .execute();
  }
  await db.schema.alterTable('jobs').dropColumn('pool').execute();
}
