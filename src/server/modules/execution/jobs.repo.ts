import { sql, type ExpressionBuilder } from 'kysely';
import { isFinal, jobTransitions, statusesLeadingTo, type JobStatus } from '../../../protocol/jobs.js';
import { capsOf, type Executor } from '../../db/executor.js';
import type { DB, JobsTable } from '../../db/schema.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import { jobsBatchRepo, type JobMove } from './jobs.batch.repo.js';
import type { RobotPool } from './jobs.process.js';
import { jobOf, rowOf, type AgentJob, type JobRow, type OutputRow } from './jobs.rows.js';

const decoded = (rows: JobsTable[]): JobRow[] => rows.map(jobOf);

export interface JobFilter {
  agentId?: string;
  kind?: string;
  processId?: string;
  robotId?: string;
  runId?: string;
  status?: JobStatus;
}

const LIVE = ['dispatched', 'running'] as const;
export type LiveStatus = (typeof LIVE)[number];

/** Where a write moves jobs to `to`: the statuses it may move them from (see `statusesLeadingTo`). */
function movingTo(to: JobStatus, among?: readonly JobStatus[]): JobStatus[] {
  return statusesLeadingTo(jobTransitions, to, among);
}

/** A job going back to the queue: a pooled one goes back to its pool, for any of its agents. */
function backToPool(eb: ExpressionBuilder<DB, 'jobs'>) {
  return eb.case().when('pool', 'is', null).then(eb.ref('agent_id')).else(null).end();
}

export const jobsRepo = {
  /** Jobs start queued, or already final when they record a step that will not run. */
  async insert(db: Executor, jobs: JobRow[]): Promise<void> {
    const born = jobs.find((job) => job.status !== 'queued' && !isFinal(job.status));
    if (born) throw new Error(`a job cannot be written ${born.status}`);
    await jobsBatchRepo.insert(db, jobs.map(rowOf));
  },

  get(db: Executor, orgId: string, id: string): Promise<JobRow | undefined> {
    return db
      .selectFrom('jobs')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst()
      .then((row) => row && jobOf(row));
  },

  /** A job as its agent sees it: scoped by agent, not by organisation. */
  getForAgent(db: Executor, agentId: string, id: string): Promise<JobRow | undefined> {
    return db
      .selectFrom('jobs')
      .selectAll()
      .where('agent_id', '=', agentId)
      .where('id', '=', id)
      .executeTakeFirst()
      .then((row) => row && jobOf(row));
  },

  /** A job by its id alone, for what names a job without its organisation (a job token). */
  getById(db: Executor, id: string): Promise<JobRow | undefined> {
    return db
      .selectFrom('jobs')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
      .then((row) => row && jobOf(row));
  },

  /** A process job as the runner robot holding it sees it. */
  getForRobot(db: Executor, robotId: string, id: string): Promise<JobRow | undefined> {
    return db
      .selectFrom('jobs')
      .selectAll()
      .where('robot_id', '=', robotId)
      .where('agent_id', 'is', null)
      .where('id', '=', id)
      .executeTakeFirst()
      .then((row) => row && jobOf(row));
  },

  async list(db: Executor, orgId: string, filter: JobFilter, page: PageParams): Promise<Page<JobRow>> {
    let q = db.selectFrom('jobs').selectAll().where('org_id', '=', orgId);
    if (filter.agentId) q = q.where('agent_id', '=', filter.agentId);
    if (filter.kind) q = q.where('kind', '=', filter.kind);
    if (filter.processId) q = q.where('process_id', '=', filter.processId);
    if (filter.robotId) q = q.where('robot_id', '=', filter.robotId);
    if (filter.runId) q = q.where('run_id', '=', filter.runId);
    if (filter.status) q = q.where('status', '=', filter.status);
    return mapPage(await paginate(q, 'id', page), jobOf);
  },

  /**
   * Moves one job to `to` from any status `jobTransitions` allows, or only from `seen` (the status
   * the caller read, itself checked against the table), so a job that moved meanwhile is left
   * alone. False when the job is in none of them: another writer got there first, or the move is
   * not allowed (a final job never moves again).
   */
  async transition(
    db: Executor,
    id: string,
    to: JobStatus,
    changes: JobMove['changes'],
    seen?: JobStatus,
  ): Promise<boolean> {
    const result = await db
      .updateTable('jobs')
      .set({ ...changes, status: to })
      .where('id', '=', id)
      .where('status', 'in', movingTo(to, seen === undefined ? undefined : [seen]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** Asks the agent of a leased job to stop it; the status stays until the agent reports. */
  async requestCancel(db: Executor, id: string, seen: LiveStatus, now: string): Promise<boolean> {
    const result = await db
      .updateTable('jobs')
      .set({ cancel_requested_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', seen)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /**
   * Extends the live leases of these agents. With row locks (PostgreSQL) a row another statement
   * holds is skipped, not waited for: the batched writes of the agents' events lock many rows
   * at once, and two statements waiting on each other's rows would deadlock. A skipped lease is
   * renewed by the next flush, well before it lapses (a lease outlasts three heartbeats).
   */
  renewLeases(db: Executor, agentIds: readonly string[], leaseExpiresAt: string): Promise<unknown> {
    if (agentIds.length === 0) return Promise.resolve();
    let live = db
      .selectFrom('jobs')
      .select('id')
      .where('agent_id', 'in', agentIds)
      .where('status', 'in', LIVE);
    if (capsOf(db).skipLocked) live = live.forUpdate().skipLocked();
    return db.updateTable('jobs').set({ lease_expires_at: leaseExpiresAt }).where('id', 'in', live).execute();
  },

  /** Pushes every live lease that ends sooner out to `until`, in one statement. */
  extendLiveLeases(db: Executor, until: string): Promise<unknown> {
    return db
      .updateTable('jobs')
      .set({ lease_expires_at: until })
      .where('status', 'in', LIVE)
      .where('lease_expires_at', '<', until)
      .execute();
  },

  /**
   * Lapsed leases sent back to the queue, in one statement: a job never started (dispatched, not
   * acknowledged) while it has deliveries left (`max_attempts + extraDeliveries`), and a started
   * one only when it may be retried (max_attempts > 1 and attempts left). A job with a cancel
   * pending, and an uninstall order, never go back.
   */
  requeueLapsed(db: Executor, input: { now: string; extraDeliveries: number }): Promise<JobRow[]> {
    return db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'queued',
        agent_id: backToPool(eb),
        lease_expires_at: null,
        updated_at: input.now,
      }))
      .where('status', 'in', movingTo('queued', LIVE))
      .where('lease_expires_at', '<', input.now)
      .where('cancel_requested_at', 'is', null)
      .where('kind', '!=', 'agent_uninstall')
      .where((eb) =>
        eb.or([
          eb.and([
            eb('status', '=', 'dispatched'),
            eb('attempt', '<', eb('max_attempts', '+', input.extraDeliveries)),
          ]),
          eb.and([
            eb('status', '=', 'running'),
            eb('max_attempts', '>', 1),
            eb('attempt', '<', eb.ref('max_attempts')),
          ]),
        ]),
      )
      .returningAll()
      .execute()
      .then(decoded);
  },

  /**
   * Lapsed leases that were not requeued, ended in one statement: `lost`, or `canceled` when a
   * cancel was pending (the agent never confirmed it). The error says which case it was.
   */
  endLapsed(db: Executor, now: string): Promise<JobRow[]> {
    // both moves, to lost and to canceled, must be allowed from every live status
    const from = movingTo('lost', movingTo('canceled', LIVE));
    return db
      .updateTable('jobs')
      .set((eb) => ({
        status: eb
          .case()
          .when('cancel_requested_at', 'is not', null)
          .then<JobStatus>('canceled')
          .else<JobStatus>('lost')
          .end(),
        error: eb
          .case()
          .when('cancel_requested_at', 'is not', null)
          .then('canceled; the agent did not confirm')
          .when(eb.and([eb('status', '=', 'running'), eb('max_attempts', '>', 1)]))
          .then('the agent stopped answering while the job was running, on its last attempt')
          .when('status', '=', 'running')
          .then('the agent stopped answering while the job was running; not run again (max_attempts 1)')
          .else('the agent stopped answering before it started the job, too many times')
          .end(),
        finished_at: now,
        lease_expires_at: null,
        updated_at: now,
      }))
      .where('status', 'in', from)
      .where('lease_expires_at', '<', now)
      .returningAll()
      .execute()
      .then(decoded);
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
      .set((eb) => ({
        status: 'queued',
        agent_id: backToPool(eb),
        lease_expires_at: null,
        updated_at: now,
      }))
      .where('agent_id', '=', agentId)
      .where('status', 'in', movingTo('queued', ['dispatched']));
    if (heldIds.length > 0) q = q.where('id', 'not in', heldIds);
    return q.returningAll().execute().then(decoded);
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
    // Back to dispatched, or to running once it had started: both moves must be allowed.
    const from = movingTo('running', movingTo('dispatched', ['queued']));
    return db
      .updateTable('jobs')
      .set((eb) => ({
        status: eb
          .case()
          .when('started_at', 'is', null)
          .then<JobStatus>('dispatched')
          .else<JobStatus>('running')
          .end(),
        lease_expires_at: input.leaseExpiresAt,
        updated_at: input.now,
      }))
      .where('agent_id', '=', input.agentId)
      .where('status', 'in', from)
      .where('attempt', '>', 0)
      .where('id', 'in', input.heldIds)
      .returningAll()
      .execute()
      .then(decoded);
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
      .where('status', 'in', movingTo('canceled', ['queued', ...LIVE]))
      .execute();
  },

  liveUninstalls(db: Executor, agentId: string): Promise<JobRow[]> {
    return db
      .selectFrom('jobs')
      .selectAll()
      .where('agent_id', '=', agentId)
      .where('kind', '=', 'agent_uninstall')
      .where('status', 'in', ['queued', ...LIVE])
      .execute()
      .then(decoded);
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

  /** countByStatus of each run, in one grouped statement for a page of runs; a run without jobs is missing. */
  async countByStatusOfRuns(
    db: Executor,
    runIds: readonly string[],
  ): Promise<Map<string, Record<string, number>>> {
    const counts = new Map<string, Record<string, number>>();
    if (runIds.length === 0) return counts;
    const rows = await db
      .selectFrom('jobs')
      .select(['run_id', 'status', sql<number>`count(*)`.as('n')])
      .where('run_id', 'in', runIds)
      .groupBy(['run_id', 'status'])
      .execute();
    for (const row of rows) {
      if (row.run_id === null) continue;
      const byStatus = counts.get(row.run_id) ?? {};
      byStatus[row.status] = Number(row.n);
      counts.set(row.run_id, byStatus);
    }
    return counts;
  },

  /**
   * Pooled jobs waiting in the agent's organisation, oldest first, for the agent to pick those
   * whose pool it is in (the partial index `jobs_pool_idx` answers this). None for a deleted agent.
   */
  pooledWaiting(db: Executor, agentId: string, limit: number): Promise<JobRow[]> {
    return db
      .selectFrom('jobs')
      .innerJoin('agents', 'agents.org_id', 'jobs.org_id')
      .selectAll('jobs')
      .where('agents.id', '=', agentId)
      .where('agents.deleted_at', 'is', null)
      .where('jobs.agent_id', 'is', null)
      .where('jobs.pool', 'is not', null)
      .where('jobs.status', '=', 'queued')
      .where('jobs.admitted', '=', 1)
      .orderBy('jobs.id')
      .limit(limit)
      .execute()
      .then(decoded);
  },

  /** Pooled jobs waiting, across organisations, oldest first. */
  pooledQueued(db: Executor, limit: number): Promise<JobRow[]> {
    return db
      .selectFrom('jobs')
      .selectAll()
      .where('agent_id', 'is', null)
      .where('pool', 'is not', null)
      .where('status', '=', 'queued')
      .where('admitted', '=', 1)
      .orderBy('id')
      .limit(limit)
      .execute()
      .then(decoded);
  },

  /**
   * Leases these pooled jobs to the agent, those still waiting: exactly one agent gets each. On
   * PostgreSQL a row another claim holds is skipped (SKIP LOCKED), and one it took meanwhile no
   * longer matches when locked; SQLite runs one writer at a time.
   */
  claimPooled(
    db: Executor,
    input: { ids: readonly string[]; agentId: string; now: string; leaseExpiresAt: string },
  ): Promise<AgentJob[]> {
    if (input.ids.length === 0) return Promise.resolve([]);
    let waiting = db
      .selectFrom('jobs')
      .select('id')
      .where('id', 'in', input.ids)
      .where('agent_id', 'is', null)
      .where('status', 'in', movingTo('dispatched', ['queued']))
      .where('admitted', '=', 1);
    if (capsOf(db).skipLocked) waiting = waiting.forUpdate().skipLocked();
    return db
      .updateTable('jobs')
      .set((eb) => ({
        agent_id: input.agentId,
        status: 'dispatched',
        attempt: eb('attempt', '+', 1),
        dispatched_at: input.now,
        lease_expires_at: input.leaseExpiresAt,
        updated_at: input.now,
      }))
      .where('id', 'in', waiting)
      .where('agent_id', 'is', null)
      .returningAll()
      .$narrowType<{ agent_id: string }>()
      .execute()
      .then((rows) => rows.map(jobOf));
  },

  /** Process jobs waiting that a runner robot may take: its own, and pooled ones (its pools are checked by the caller). */
  runnerWaiting(db: Executor, robot: { id: string; org_id: string }, limit: number): Promise<JobRow[]> {
    return (
      db
        .selectFrom('jobs')
        .selectAll()
        .where('org_id', '=', robot.org_id)
        .where('kind', '=', 'process')
        .where('agent_id', 'is', null)
        .where('status', '=', 'queued')
        .where('admitted', '=', 1)
        // a pooled job names the robot that last held it, if any: any robot of its pool may take it
        .where((eb) => eb.or([eb('robot_id', '=', robot.id), eb('pool', 'is not', null)]))
        .orderBy('id')
        .limit(limit)
        .execute()
        .then(decoded)
    );
  },

  /** Leases one waiting process job to a runner robot; exactly one robot gets it. */
  async claimForRunner(
    db: Executor,
    input: { id: string; robotId: string; now: string; leaseExpiresAt: string },
  ): Promise<JobRow | undefined> {
    let waiting = db
      .selectFrom('jobs')
      .select('id')
      .where('id', '=', input.id)
      .where('agent_id', 'is', null)
      .where('status', 'in', movingTo('dispatched', ['queued']))
      .where((eb) => eb.or([eb('robot_id', '=', input.robotId), eb('pool', 'is not', null)]));
    if (capsOf(db).skipLocked) waiting = waiting.forUpdate().skipLocked();
    const row = await db
      .updateTable('jobs')
      .set((eb) => ({
        robot_id: input.robotId,
        status: 'dispatched',
        attempt: eb('attempt', '+', 1),
        dispatched_at: input.now,
        lease_expires_at: input.leaseExpiresAt,
        updated_at: input.now,
      }))
      .where('id', 'in', waiting)
      .where('status', '=', 'queued')
      .returningAll()
      .executeTakeFirst();
    return row && jobOf(row);
  },

  /** Names the robot of a pooled process job an agent claimed. */
  setRobot(db: Executor, id: string, robotId: string): Promise<unknown> {
    return db.updateTable('jobs').set({ robot_id: robotId }).where('id', '=', id).execute();
  },

  /** Extends the live leases of a runner robot's jobs (its heartbeat). */
  renewRunnerLeases(db: Executor, robotId: string, leaseExpiresAt: string): Promise<unknown> {
    return db
      .updateTable('jobs')
      .set({ lease_expires_at: leaseExpiresAt })
      .where('robot_id', '=', robotId)
      .where('agent_id', 'is', null)
      .where('status', 'in', LIVE)
      .execute();
  },

  /** A queued process job given to another robot (and its agent), or back to its pool. */
  async reassign(
    db: Executor,
    id: string,
    to: { robotId: string | null; agentId: string | null; pool: RobotPool | null; now: string },
  ): Promise<boolean> {
    const result = await db
      .updateTable('jobs')
      .set({
        robot_id: to.robotId,
        agent_id: to.agentId,
        pool: to.pool === null ? null : JSON.stringify(to.pool),
        updated_at: to.now,
      })
      .where('id', '=', id)
      .where('status', '=', 'queued')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** A process's jobs not yet ended, oldest first. */
  liveProcessJobs(db: Executor, orgId: string, processId: string, limit: number): Promise<{ id: string }[]> {
    return db
      .selectFrom('jobs')
      .select('id')
      .where('org_id', '=', orgId)
      .where('process_id', '=', processId)
      .where('status', 'in', ['queued', 'dispatched', 'running'])
      .orderBy('id')
      .limit(limit)
      .execute();
  },

  /** What a robot's jobs handed out and not yet ended run (their `process` column). */
  liveRunsOfRobot(db: Executor, robotId: string): Promise<{ process: string | null }[]> {
    return db
      .selectFrom('jobs')
      .select('process')
      .where('robot_id', '=', robotId)
      .where('kind', '=', 'process')
      .where('status', 'in', LIVE)
      .execute();
  },
};
