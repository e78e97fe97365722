import { sql } from 'kysely';
import type { Executor } from '../../db/executor.js';
import type { JobOutputTable, JobsTable } from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';

export type JobRow = JobsTable;
export type OutputRow = JobOutputTable;

export interface JobFilter {
  agentId?: string;
  runId?: string;
  status?: string;
}

const LIVE = ['dispatched', 'running'] as const;

export const jobsRepo = {
  async insert(db: Executor, jobs: JobRow[]): Promise<void> {
    // About 35 parameters a row: 500 rows stay under both dialects' parameter limits.
    for (let i = 0; i < jobs.length; i += 500)
      await db
        .insertInto('jobs')
        .values(jobs.slice(i, i + 500))
        .execute();
  },

  get(db: Executor, orgId: string, id: string): Promise<JobRow | undefined> {
    return db
      .selectFrom('jobs')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  /** A job as its agent sees it: scoped by agent, not by organisation. */
  getForAgent(db: Executor, agentId: string, id: string): Promise<JobRow | undefined> {
    return db
      .selectFrom('jobs')
      .selectAll()
      .where('agent_id', '=', agentId)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  list(db: Executor, orgId: string, filter: JobFilter, page: PageParams): Promise<Page<JobRow>> {
    let q = db.selectFrom('jobs').selectAll().where('org_id', '=', orgId);
    if (filter.agentId) q = q.where('agent_id', '=', filter.agentId);
    if (filter.runId) q = q.where('run_id', '=', filter.runId);
    if (filter.status) q = q.where('status', '=', filter.status);
    return paginate(q, 'id', page);
  },

  /**
   * Leases up to `limit` admitted queued jobs of one agent, oldest first. On PostgreSQL the
   * candidate rows are locked with SKIP LOCKED, so two nodes never lease the same job; SQLite
   * serialises writers, and the `status = 'queued'` guard keeps the update honest on both.
   */
  async claimForAgent(
    db: Executor,
    input: { agentId: string; limit: number; now: string; leaseExpiresAt: string; skipLocked: boolean },
  ): Promise<JobRow[]> {
    let candidates = db
      .selectFrom('jobs')
      .select('id')
      .where('agent_id', '=', input.agentId)
      .where('status', '=', 'queued')
      .where('admitted', '=', 1)
      .orderBy('id')
      .limit(input.limit);
    if (input.skipLocked) candidates = candidates.forUpdate().skipLocked();
    const ids = (await candidates.execute()).map((r) => r.id);
    if (ids.length === 0) return [];
    return db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'dispatched',
        attempt: eb('attempt', '+', 1),
        dispatched_at: input.now,
        lease_expires_at: input.leaseExpiresAt,
        updated_at: input.now,
      }))
      .where('id', 'in', ids)
      .where('status', '=', 'queued')
      .returningAll()
      .execute();
  },

  /** Moves a job between states only from the states given; false when another writer got there first. */
  async transition(
    db: Executor,
    id: string,
    from: readonly string[],
    changes: Partial<Omit<JobRow, 'id' | 'org_id' | 'agent_id'>>,
  ): Promise<boolean> {
    const result = await db
      .updateTable('jobs')
      .set(changes)
      .where('id', '=', id)
      .where('status', 'in', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  renewLeases(db: Executor, agentIds: readonly string[], leaseExpiresAt: string): Promise<unknown> {
    if (agentIds.length === 0) return Promise.resolve();
    return db
      .updateTable('jobs')
      .set({ lease_expires_at: leaseExpiresAt })
      .where('agent_id', 'in', agentIds)
      .where('status', 'in', LIVE)
      .execute();
  },

  expiredLeases(db: Executor, now: string, limit: number): Promise<JobRow[]> {
    return db
      .selectFrom('jobs')
      .selectAll()
      .where('status', 'in', LIVE)
      .where('lease_expires_at', '<', now)
      .orderBy('lease_expires_at')
      .limit(limit)
      .execute();
  },

  /** Dispatched jobs the agent says it does not hold: the delivery was lost with a connection. */
  async requeueUnheld(
    db: Executor,
    agentId: string,
    heldIds: readonly string[],
    now: string,
  ): Promise<JobRow[]> {
    let q = db
      .updateTable('jobs')
      .set({ status: 'queued', lease_expires_at: null, updated_at: now })
      .where('agent_id', '=', agentId)
      .where('status', '=', 'dispatched');
    if (heldIds.length > 0) q = q.where('id', 'not in', heldIds);
    return q.returningAll().execute();
  },

  /**
   * Queued jobs that were leased before (attempt > 0) and that the agent says it still holds: it
   * is running them or has their result, so they are leased to it again, not dispatched anew.
   */
  async releaseHeld(
    db: Executor,
    input: { agentId: string; heldIds: readonly string[]; now: string; leaseExpiresAt: string },
  ): Promise<JobRow[]> {
    if (input.heldIds.length === 0) return [];
    return db
      .updateTable('jobs')
      .set((eb) => ({
        status: eb.case().when('started_at', 'is', null).then('dispatched').else('running').end(),
        lease_expires_at: input.leaseExpiresAt,
        updated_at: input.now,
      }))
      .where('agent_id', '=', input.agentId)
      .where('status', '=', 'queued')
      .where('attempt', '>', 0)
      .where('id', 'in', input.heldIds)
      .returningAll()
      .execute();
  },

  /** A revived agent must not carry out the uninstall queued when it was deleted. */
  cancelLiveUninstalls(db: Executor, agentId: string, now: string): Promise<unknown> {
    return db
      .updateTable('jobs')
      .set({
        status: 'canceled',
        error: 'the agent registered again',
        finished_at: now,
        lease_expires_at: null,
        updated_at: now,
      })
      .where('agent_id', '=', agentId)
      .where('kind', '=', 'agent_uninstall')
      .where('status', 'in', ['queued', ...LIVE])
      .execute();
  },

  liveUninstalls(db: Executor, agentId: string): Promise<JobRow[]> {
    return db
      .selectFrom('jobs')
      .selectAll()
      .where('agent_id', '=', agentId)
      .where('kind', '=', 'agent_uninstall')
      .where('status', 'in', ['queued', ...LIVE])
      .execute();
  },

  pendingCancels(db: Executor, agentId: string): Promise<{ id: string }[]> {
    return db
      .selectFrom('jobs')
      .select('id')
      .where('agent_id', '=', agentId)
      .where('status', 'in', LIVE)
      .where('cancel_requested_at', 'is not', null)
      .execute();
  },

  /** Stores an output chunk once; a chunk delivered again is ignored. True when it was new. */
  async insertOutput(db: Executor, chunk: OutputRow): Promise<boolean> {
    const result = await db
      .insertInto('job_output')
      .values(chunk)
      .onConflict((oc) => oc.columns(['job_id', 'attempt', 'seq']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  },

  addOutputBytes(db: Executor, id: string, bytes: number, truncated: boolean): Promise<unknown> {
    return db
      .updateTable('jobs')
      .set((eb) => ({
        output_bytes: eb('output_bytes', '+', bytes),
        ...(truncated ? { output_truncated: 1 } : {}),
      }))
      .where('id', '=', id)
      .execute();
  },

  output(db: Executor, jobId: string, attempt: number): Promise<OutputRow[]> {
    return db
      .selectFrom('job_output')
      .selectAll()
      .where('job_id', '=', jobId)
      .where('attempt', '=', attempt)
      .orderBy('seq')
      .execute();
  },

  async countByStatus(db: Executor, runId: string): Promise<Record<string, number>> {
    const rows = await db
      .selectFrom('jobs')
      .select(['status', sql<number>`count(*)`.as('n')])
      .where('run_id', '=', runId)
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  },
};
