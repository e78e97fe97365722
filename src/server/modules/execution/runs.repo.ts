import { sql } from 'kysely';
import { jobTransitions, runTransitions, statusesLeadingTo, type RunStatus } from '../../../protocol/jobs.js';
import { capsOf, type Executor } from '../../db/executor.js';
import type { RunsTable } from '../../db/schema.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import type { TargetSelector } from '../agents/agents.repo.js';
import { jobOf, type JobRow } from './jobs.rows.js';
import type { JobInput } from './jobs.service.js';
import type { PlanDocument } from './plan.js';

/** A run as services see it: its target and its stored plan decoded. */
export interface RunRow extends Omit<RunsTable, 'target' | 'spec'> {
  target: TargetSelector;
  /** A command run's job, or a plan document (see `stepsOf`), its secret values sealed. */
  spec: JobInput | PlanDocument;
}

/** A job just admitted, as much as announcing it takes. */
export type AdmittedJob = Pick<
  JobRow,
  'id' | 'org_id' | 'agent_id' | 'run_id' | 'status' | 'attempt' | 'exit_code' | 'admitted'
>;

function runOf(row: RunsTable): RunRow {
  return {
    ...row,
    target: JSON.parse(row.target) as TargetSelector,
    spec: JSON.parse(row.spec) as JobInput | PlanDocument,
  };
}

export const runsRepo = {
  insert(db: Executor, run: RunRow): Promise<unknown> {
    return db
      .insertInto('runs')
      .values({ ...run, target: JSON.stringify(run.target), spec: JSON.stringify(run.spec) })
      .execute();
  },

  get(db: Executor, orgId: string, id: string): Promise<RunRow | undefined> {
    return db
      .selectFrom('runs')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst()
      .then((row) => row && runOf(row));
  },

  /** Reads a run for a change; with row locks (PostgreSQL) other nodes wait, so admission never overshoots. */
  lock(db: Executor, id: string): Promise<RunRow | undefined> {
    let q = db.selectFrom('runs').selectAll().where('id', '=', id);
    if (capsOf(db).rowLocks) q = q.forUpdate();
    return q.executeTakeFirst().then((row) => row && runOf(row));
  },

  async list(
    db: Executor,
    orgId: string,
    filter: { status?: RunStatus },
    page: PageParams,
  ): Promise<Page<RunRow>> {
    let q = db.selectFrom('runs').selectAll().where('org_id', '=', orgId);
    if (filter.status) q = q.where('status', '=', filter.status);
    return mapPage(await paginate(q, 'id', page), runOf);
  },

  /**
   * Moves a run to `to` from any status `runTransitions` allows; false when it is in none of them
   * (another writer got there first, or the move is not allowed: a canceled run stays canceled).
   */
  async transition(
    db: Executor,
    id: string,
    to: RunStatus,
    changes: Partial<Pick<RunRow, 'finished_at' | 'updated_at'>>,
  ): Promise<boolean> {
    const result = await db
      .updateTable('runs')
      .set({ ...changes, status: to })
      .where('id', '=', id)
      .where('status', 'in', statusesLeadingTo(runTransitions, to))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** A run stopped earlier (canceled, or at its failure threshold) whose last job has ended. */
  markFinished(db: Executor, id: string, now: string): Promise<unknown> {
    return db
      .updateTable('runs')
      .set({ finished_at: now, updated_at: now })
      .where('id', '=', id)
      .where('finished_at', 'is', null)
      .execute();
  },

  async countActiveAdmitted(db: Executor, runId: string): Promise<number> {
    const row = await db
      .selectFrom('jobs')
      .select(sql<number>`count(*)`.as('n'))
      .where('run_id', '=', runId)
      .where('admitted', '=', 1)
      .where('status', 'in', ['queued', 'dispatched', 'running'])
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  /**
   * Admits up to `limit` held jobs whose agents are online now, in one statement; offline agents
   * keep waiting. Answers what announcing them needs, not whole rows: a fan-out admits thousands.
   */
  admit(db: Executor, runId: string, limit: number, now: string): Promise<AdmittedJob[]> {
    const candidates = db
      .selectFrom('jobs')
      .innerJoin('agents', 'agents.id', 'jobs.agent_id')
      .select('jobs.id')
      .where('jobs.run_id', '=', runId)
      .where('jobs.admitted', '=', 0)
      .where('jobs.status', '=', 'queued')
      .where('agents.status', '=', 'online')
      .orderBy('jobs.id')
      .limit(limit);
    return db
      .updateTable('jobs')
      .set({ admitted: 1, updated_at: now })
      .where('id', 'in', candidates)
      .where('admitted', '=', 0)
      .returning(['id', 'org_id', 'agent_id', 'run_id', 'status', 'attempt', 'exit_code'])
      .execute()
      .then((rows) => rows.map((row) => ({ ...row, admitted: true })));
  },

  /** Ends a run's jobs that never left the queue; returns them. */
  cancelQueued(db: Executor, runId: string, error: string, now: string): Promise<JobRow[]> {
    return db
      .updateTable('jobs')
      .set({ status: 'canceled', error, finished_at: now, updated_at: now })
      .where('run_id', '=', runId)
      .where('status', 'in', statusesLeadingTo(jobTransitions, 'canceled', ['queued']))
      .returningAll()
      .execute()
      .then((rows) => rows.map(jobOf));
  },

  leasedJobs(db: Executor, runId: string): Promise<{ id: string }[]> {
    return db
      .selectFrom('jobs')
      .select('id')
      .where('run_id', '=', runId)
      .where('status', 'in', ['dispatched', 'running'])
      .execute();
  },

  runsWaitingForAgent(db: Executor, agentId: string): Promise<{ run_id: string | null }[]> {
    return db
      .selectFrom('jobs')
      .select('run_id')
      .distinct()
      .where('agent_id', '=', agentId)
      .where('admitted', '=', 0)
      .where('status', '=', 'queued')
      .where('run_id', 'is not', null)
      .execute();
  },

  running(db: Executor): Promise<{ id: string }[]> {
    return db.selectFrom('runs').select('id').where('status', '=', 'running').execute();
  },

  /** Ends every run's jobs still queued past their deadline, in one statement; returns them. */
  cancelPastDeadline(db: Executor, error: string, now: string): Promise<JobRow[]> {
    return db
      .updateTable('jobs')
      .set({ status: 'canceled', error, finished_at: now, updated_at: now })
      .where('status', 'in', statusesLeadingTo(jobTransitions, 'canceled', ['queued']))
      .where('run_id', 'is not', null)
      .where('deadline_at', '<', now)
      .returningAll()
      .execute()
      .then((rows) => rows.map(jobOf));
  },
};
