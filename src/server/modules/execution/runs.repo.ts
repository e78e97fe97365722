import { sql } from 'kysely';
import type { Executor } from '../../db/executor.js';
import type { JobsTable, RunsTable } from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';

export type RunRow = RunsTable;

export const runsRepo = {
  insert(db: Executor, run: RunRow): Promise<unknown> {
    return db.insertInto('runs').values(run).execute();
  },

  get(db: Executor, orgId: string, id: string): Promise<RunRow | undefined> {
    return db
      .selectFrom('runs')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  /** Reads a run for a change; with row locks (PostgreSQL) other nodes wait, so admission never overshoots. */
  lock(db: Executor, id: string, rowLocks: boolean): Promise<RunRow | undefined> {
    let q = db.selectFrom('runs').selectAll().where('id', '=', id);
    if (rowLocks) q = q.forUpdate();
    return q.executeTakeFirst();
  },

  list(db: Executor, orgId: string, filter: { status?: string }, page: PageParams): Promise<Page<RunRow>> {
    let q = db.selectFrom('runs').selectAll().where('org_id', '=', orgId);
    if (filter.status) q = q.where('status', '=', filter.status);
    return paginate(q, 'id', page);
  },

  update(
    db: Executor,
    id: string,
    changes: Partial<Pick<RunRow, 'status' | 'finished_at' | 'updated_at'>>,
  ): Promise<unknown> {
    return db.updateTable('runs').set(changes).where('id', '=', id).execute();
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

  /** Admits up to `limit` held jobs whose agents are online now; offline agents keep waiting. */
  async admit(db: Executor, runId: string, limit: number, now: string): Promise<JobsTable[]> {
    const candidates = await db
      .selectFrom('jobs')
      .innerJoin('agents', 'agents.id', 'jobs.agent_id')
      .select('jobs.id')
      .where('jobs.run_id', '=', runId)
      .where('jobs.admitted', '=', 0)
      .where('jobs.status', '=', 'queued')
      .where('agents.status', '=', 'online')
      .orderBy('jobs.id')
      .limit(limit)
      .execute();
    if (candidates.length === 0) return [];
    const ids = candidates.map((c) => c.id);
    const admitted: JobsTable[] = [];
    // Chunked so a run over ten thousand agents stays under the dialects' parameter limits.
    for (let i = 0; i < ids.length; i += 1000) {
      admitted.push(
        ...(await db
          .updateTable('jobs')
          .set({ admitted: 1, updated_at: now })
          .where('id', 'in', ids.slice(i, i + 1000))
          .where('admitted', '=', 0)
          .returningAll()
          .execute()),
      );
    }
    return admitted;
  },

  /** Ends a run's jobs that never left the queue; returns them. */
  cancelQueued(
    db: Executor,
    runId: string,
    error: string,
    now: string,
    filter: { deadlineBefore?: string } = {},
  ): Promise<JobsTable[]> {
    let q = db
      .updateTable('jobs')
      .set({ status: 'canceled', error, finished_at: now, updated_at: now })
      .where('run_id', '=', runId)
      .where('status', '=', 'queued');
    if (filter.deadlineBefore) q = q.where('deadline_at', '<', filter.deadlineBefore);
    return q.returningAll().execute();
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

  runsPastDeadline(db: Executor, now: string): Promise<{ run_id: string | null }[]> {
    return db
      .selectFrom('jobs')
      .select('run_id')
      .distinct()
      .where('status', '=', 'queued')
      .where('run_id', 'is not', null)
      .where('deadline_at', '<', now)
      .execute();
  },
};
