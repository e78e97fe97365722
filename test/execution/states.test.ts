import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  finalJobStatuses,
  jobStatuses,
  jobTransitions,
  runStatuses,
  runTransitions,
  statusesLeadingTo,
  type JobStatus,
  type RunStatus,
} from '../../src/protocol/jobs.js';
import { newId } from '../../src/server/lib/ids.js';
import { dialects } from '../support/harness.js';
import { Engine } from './support.js';

describe('execution: the transition tables', () => {
  it('execution: every job status leads to a final one, and a final one leads nowhere', () => {
    for (const status of finalJobStatuses) expect(jobTransitions[status]).toEqual([]);
    const reachesFinal = (status: JobStatus, seen = new Set<JobStatus>()): boolean =>
      (finalJobStatuses as readonly string[]).includes(status) ||
      jobTransitions[status].some((to) => !seen.has(to) && reachesFinal(to, new Set([...seen, status])));
    for (const status of jobStatuses) expect(reachesFinal(status), status).toBe(true);
    expect(runTransitions.canceled).toEqual([]);
  });

  it('execution: a write derives where it may move rows from, and refuses a move the table lacks', () => {
    expect(statusesLeadingTo(jobTransitions, 'lost')).toEqual(['dispatched', 'running']);
    expect(statusesLeadingTo(jobTransitions, 'dispatched')).toEqual(['queued']);
    expect(statusesLeadingTo(jobTransitions, 'succeeded')).toEqual(['queued', 'dispatched', 'running']);
    expect(statusesLeadingTo(runTransitions, 'running')).toEqual(['succeeded', 'failed']);
    expect(statusesLeadingTo(jobTransitions, 'canceled', ['queued'])).toEqual(['queued']);
    expect(() => statusesLeadingTo(jobTransitions, 'lost', ['queued'])).toThrow(
      'no transition from queued to lost',
    );
    expect(() => statusesLeadingTo(runTransitions, 'running', ['canceled'])).toThrow(
      'no transition from canceled to running',
    );
  });
});

describe.each(dialects)('execution: job and run statuses in the database on %s', (dialect) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.start(dialect, 'states');
  });
  afterAll(async () => {
    await engine.close();
  });

  // The one test that writes the tables by hand: the database's own refusal is what it tests.
  it('execution: the database refuses a job or run status outside the state machine, on insert and on update', async () => {
    const agent = await engine.httpAgent();
    const run = await engine.launch([agent.id]);
    const [job] = await engine.runJobs(run.id);
    const { db } = engine.server.database;
    const jobRow = await db.selectFrom('jobs').selectAll().where('id', '=', job.id).executeTakeFirstOrThrow();
    const runRow = await db.selectFrom('runs').selectAll().where('id', '=', run.id).executeTakeFirstOrThrow();
    const badJob = 'finished' as JobStatus;
    const badRun = 'done' as RunStatus;

    await expect(
      db.updateTable('jobs').set({ status: badJob }).where('id', '=', job.id).execute(),
    ).rejects.toThrow(/jobs_status_check/);
    await expect(
      db
        .insertInto('jobs')
        .values({ ...jobRow, id: newId(), status: badJob })
        .execute(),
    ).rejects.toThrow(/jobs_status_check/);
    await expect(
      db.updateTable('runs').set({ status: badRun }).where('id', '=', run.id).execute(),
    ).rejects.toThrow(/runs_status_check/);
    await expect(
      db
        .insertInto('runs')
        .values({ ...runRow, id: newId(), status: badRun })
        .execute(),
    ).rejects.toThrow(/runs_status_check/);
    expect(await engine.job(job.id)).toMatchObject({ status: jobRow.status });
    expect(await engine.run(run.id)).toMatchObject({ status: 'running' });

    // every status of the state machine is taken (and then rolled back)
    const rollback = new Error('rollback');
    await expect(
      db.transaction().execute(async (trx) => {
        for (const status of jobStatuses) {
          await trx.updateTable('jobs').set({ status }).where('id', '=', job.id).execute();
          await trx
            .insertInto('jobs')
            .values({ ...jobRow, id: newId(), status })
            .execute();
        }
        for (const status of runStatuses)
          await trx.updateTable('runs').set({ status }).where('id', '=', run.id).execute();
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await engine.runJobs(run.id)).toHaveLength(1);
  });
});
