import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Migrator, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/server/db/database.js';
import { migrationProvider } from '../../src/server/db/migrations/index.js';
import { dialects, isolatedDatabase } from '../support/harness.js';

const NOW = '2026-01-01T00:00:00.000Z';

/** What a 0009 database holds: an organisation, an agent, a job and a chunk of its output. */
async function seed(database: Database): Promise<void> {
  const db = database.db;
  await sql`insert into orgs (id, name, created_at, updated_at) values ('o1', 'Org', ${NOW}, ${NOW})`.execute(
    db,
  );
  await sql`insert into agents (id, org_id, name, created_at, updated_at) values ('a1', 'o1', 'agent', ${NOW}, ${NOW})`.execute(
    db,
  );
  await sql`insert into jobs (id, org_id, agent_id, interpreter, command, timeout_seconds, status, max_attempts, output_cap_bytes, created_at, updated_at)
    values ('j1', 'o1', 'a1', 'sh', 'true', 60, 'succeeded', 1, 1000, ${NOW}, ${NOW})`.execute(db);
  await sql`insert into job_output (job_id, attempt, seq, stream, data, created_at) values ('j1', 1, 0, 'stdout', 'kept', ${NOW})`.execute(
    db,
  );
}

/**
 * Migrations that rebuild a table keep its rows, the rows that point at it, its indexes and its
 * triggers; and they go back down.
 */
describe.each(dialects)('system: migrations on %s', (dialect) => {
  let dir: string | undefined;
  let database: Database | undefined;
  afterEach(async () => {
    await database?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('system: 0010 makes a job’s agent optional without losing a job or its output, and goes back', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fp-migrations-'));
    const config = isolatedDatabase(dialect, dir);
    database = await openDatabase(config);
    const migrator = new Migrator({
      db: database.db,
      provider: migrationProvider,
      ...(config.kind === 'postgres' ? { migrationTableSchema: config.schema } : {}),
    });
    expect((await migrator.migrateTo('0009_max_attempts')).error).toBeUndefined();
    await seed(database);

    expect((await migrator.migrateTo('0010_pooled_jobs')).error).toBeUndefined();
    const db = database.db;
    const output = await sql<{ data: string }>`select data from job_output where job_id = 'j1'`.execute(db);
    expect(output.rows).toEqual([{ data: 'kept' }]);
    await sql`insert into jobs (id, org_id, agent_id, pool, interpreter, command, timeout_seconds, status, max_attempts, output_cap_bytes, created_at, updated_at)
      values ('j2', 'o1', null, '{}', 'sh', 'true', 60, 'queued', 1, 1000, ${NOW}, ${NOW})`.execute(db);
    // the status check (a trigger on SQLite) survived the rebuild
    await expect(sql`update jobs set status = 'bogus' where id = 'j2'`.execute(db)).rejects.toThrow(
      /CHECK constraint/i,
    );
    // and so did the cascade from agents and from jobs
    await sql`delete from agents where id = 'a1'`.execute(db);
    const left = await sql<{ id: string }>`select id from jobs order by id`.execute(db);
    expect(left.rows).toEqual([{ id: 'j2' }]);
    expect((await sql`select * from job_output`.execute(db)).rows).toEqual([]);

    expect((await migrator.migrateTo('0009_max_attempts')).error).toBeUndefined();
    expect((await sql`select id from jobs`.execute(db)).rows).toEqual([]);
    await expect(
      sql`insert into jobs (id, org_id, agent_id, interpreter, command, timeout_seconds, status, max_attempts, output_cap_bytes, created_at, updated_at)
        values ('j3', 'o1', null, 'sh', 'true', 60, 'queued', 1, 1000, ${NOW}, ${NOW})`.execute(db),
    ).rejects.toThrow(/not.null/i);
  });
});
