import { sql } from 'kysely';
import type { Interpreter } from '../../../protocol/jobs.js';
import { capsOf, type Executor } from '../../db/executor.js';
import type { ExpressionBuilder } from 'kysely';
import type { DB, DeploymentStepsTable, DeploymentTargetsTable, DeploymentsTable } from '../../db/schema.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import type { TargetSelector } from '../agents/agents.repo.js';
import type { RolloutPolicy } from './rollout.js';

export type ServiceRunsOn =
  { type: 'server' } | { type: 'agent'; agent_id: string } | { type: 'selector'; selector: TargetSelector };

/** The service as it was when a deployment started: what the deployment runs, whatever changes later. */
export interface DeploymentSpec {
  interpreter: Interpreter;
  script: string;
  runs_on: ServiceRunsOn;
  rollout: RolloutPolicy;
  timeout_seconds: number;
  config_schema: Record<string, unknown> | null;
}

export type DeploymentStatus = 'running' | 'paused' | 'succeeded' | 'failed';
export const LIVE_DEPLOYMENT: DeploymentStatus[] = ['running', 'paused'];

export interface DeploymentRow extends Omit<
  DeploymentsTable,
  'spec' | 'planned_steps' | 'env' | 'secret_env' | 'config' | 'awaiting_continue' | 'status'
> {
  status: DeploymentStatus;
  spec: DeploymentSpec;
  /** The step names each machine starts with, pending until reported. */
  planned_steps: string[];
  /** Values under secret-looking names sealed. */
  env: Record<string, string>;
  /** Every value sealed. */
  secret_env: Record<string, string>;
  config: unknown;
  awaiting_continue: boolean;
}

export type TargetStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'canceled';
export const FINAL_TARGET: TargetStatus[] = ['succeeded', 'failed', 'canceled'];

export interface TargetRow extends Omit<DeploymentTargetsTable, 'config' | 'status' | 'reported_status'> {
  status: TargetStatus;
  reported_status: 'success' | 'failure' | null;
  config: unknown;
}

export type StepState = 'pending' | 'running' | 'success' | 'failure';
export type StepRow = DeploymentStepsTable & { state: StepState };

export interface DeploymentFilter {
  serviceId?: string;
  status?: DeploymentStatus;
  origin?: string;
  from?: string;
  to?: string;
}

function deploymentOf(row: DeploymentsTable): DeploymentRow {
  return {
    ...row,
    status: row.status as DeploymentStatus,
    spec: JSON.parse(row.spec) as DeploymentSpec,
    planned_steps: JSON.parse(row.planned_steps) as string[],
    env: JSON.parse(row.env) as Record<string, string>,
    secret_env: JSON.parse(row.secret_env) as Record<string, string>,
    config: row.config === null ? null : (JSON.parse(row.config) as unknown),
    awaiting_continue: row.awaiting_continue === 1,
  };
}

function targetOf(row: DeploymentTargetsTable): TargetRow {
  return {
    ...row,
    status: row.status as TargetStatus,
    reported_status: row.reported_status as TargetRow['reported_status'],
    config: row.config === null ? null : (JSON.parse(row.config) as unknown),
  };
}

type DeploymentChanges = Partial<
  Pick<
    DeploymentsTable,
    'status' | 'error' | 'current_batch' | 'next_batch_at' | 'updated_at' | 'finished_at' | 'config'
  > & { awaiting_continue: boolean }
>;

type TargetChanges = Partial<
  Pick<
    DeploymentTargetsTable,
    'status' | 'job_id' | 'error' | 'reported_status' | 'config' | 'started_at' | 'finished_at' | 'updated_at'
  >
>;

function deploymentColumns(changes: DeploymentChanges) {
  const { awaiting_continue, ...rest } = changes;
  return awaiting_continue === undefined ? rest : { ...rest, awaiting_continue: awaiting_continue ? 1 : 0 };
}

export const deploymentsRepo = {
  async insert(db: Executor, deployment: DeploymentRow, targets: readonly TargetRow[]): Promise<void> {
    await db
      .insertInto('deployments')
      .values({
        ...deployment,
        spec: JSON.stringify(deployment.spec),
        planned_steps: JSON.stringify(deployment.planned_steps),
        env: JSON.stringify(deployment.env),
        secret_env: JSON.stringify(deployment.secret_env),
        config: deployment.config === null ? null : JSON.stringify(deployment.config),
        awaiting_continue: deployment.awaiting_continue ? 1 : 0,
      })
      .execute();
    // a rollout over thousands of machines: rows in slices, under both dialects' parameter limits
    for (let i = 0; i < targets.length; i += 500)
      await db
        .insertInto('deployment_targets')
        .values(targets.slice(i, i + 500).map((t) => ({ ...t, config: null })))
        .execute();
  },

  get(db: Executor, orgId: string, id: string): Promise<DeploymentRow | undefined> {
    return db
      .selectFrom('deployments')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst()
      .then((row) => row && deploymentOf(row));
  },

  /** A deployment by id alone: for what the engine and deploy tokens name, not for callers' ids. */
  byId(db: Executor, id: string): Promise<DeploymentRow | undefined> {
    return db
      .selectFrom('deployments')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
      .then((row) => row && deploymentOf(row));
  },

  /** Reads a deployment for a change; with row locks (PostgreSQL) other nodes wait their turn. */
  lock(db: Executor, id: string): Promise<DeploymentRow | undefined> {
    let q = db.selectFrom('deployments').selectAll().where('id', '=', id);
    if (capsOf(db).rowLocks) q = q.forUpdate();
    return q.executeTakeFirst().then((row) => row && deploymentOf(row));
  },

  async list(
    db: Executor,
    orgId: string,
    filter: DeploymentFilter,
    page: PageParams,
  ): Promise<Page<DeploymentRow>> {
    let q = db.selectFrom('deployments').selectAll().where('org_id', '=', orgId);
    if (filter.serviceId) q = q.where('service_id', '=', filter.serviceId);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.origin) q = q.where('origin', '=', filter.origin);
    if (filter.from) q = q.where('created_at', '>=', filter.from);
    if (filter.to) q = q.where('created_at', '<', filter.to);
    return mapPage(await paginate(q, 'id', page), deploymentOf);
  },

  async update(db: Executor, id: string, changes: DeploymentChanges): Promise<void> {
    await db.updateTable('deployments').set(deploymentColumns(changes)).where('id', '=', id).execute();
  },

  /** Paused rollouts whose pause is over: the next batch is due. */
  async due(db: Executor, now: string, limit: number): Promise<{ id: string }[]> {
    return db
      .selectFrom('deployments')
      .select('id')
      .where('status', '=', 'paused')
      .where('next_batch_at', '<=', now)
      .limit(limit)
      .execute();
  },

  /** A service's deployments still running (at most `limit`): such a service cannot be deleted. */
  live(db: Executor, orgId: string, serviceId: string, limit: number): Promise<{ id: string }[]> {
    return db
      .selectFrom('deployments')
      .select('id')
      .where('org_id', '=', orgId)
      .where('service_id', '=', serviceId)
      .where('status', 'in', LIVE_DEPLOYMENT)
      .limit(limit)
      .execute();
  },

  /** The last succeeded deployment that published config, of each service of the organisation. */
  deployed(db: Executor, orgId: string): Promise<DeploymentRow[]> {
    return db
      .selectFrom('deployments as d')
      .selectAll('d')
      .where('d.org_id', '=', orgId)
      .where('d.status', '=', 'succeeded')
      .where('d.config', 'is not', null)
      .where((eb) =>
        eb(
          'd.id',
          '=',
          eb
            .selectFrom('deployments as later')
            .select('later.id')
            .whereRef('later.service_id', '=', 'd.service_id')
            .where('later.status', '=', 'succeeded')
            .where('later.config', 'is not', null)
            .orderBy('later.id', 'desc')
            .limit(1),
        ),
      )
      .orderBy('d.service_name')
      .execute()
      .then((rows) => rows.map(deploymentOf));
  },

  targets(db: Executor, deploymentId: string): Promise<TargetRow[]> {
    return db
      .selectFrom('deployment_targets')
      .selectAll()
      .where('deployment_id', '=', deploymentId)
      .orderBy('batch')
      .orderBy('agent_name')
      .orderBy('id')
      .execute()
      .then((rows) => rows.map(targetOf));
  },

  target(db: Executor, id: string): Promise<TargetRow | undefined> {
    return db
      .selectFrom('deployment_targets')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst()
      .then((row) => row && targetOf(row));
  },

  /** The first machines of a deployment, in rollout order: what its detail shows. */
  firstTargets(db: Executor, deploymentId: string, limit: number): Promise<TargetRow[]> {
    return db
      .selectFrom('deployment_targets')
      .selectAll()
      .where('deployment_id', '=', deploymentId)
      .orderBy('batch')
      .orderBy('agent_name')
      .orderBy('id')
      .limit(limit)
      .execute()
      .then((rows) => rows.map(targetOf));
  },

  async pageOfTargets(
    db: Executor,
    deploymentId: string,
    filter: { batch?: number; status?: TargetStatus },
    page: PageParams,
  ): Promise<Page<TargetRow>> {
    let q = db.selectFrom('deployment_targets').selectAll().where('deployment_id', '=', deploymentId);
    if (filter.batch !== undefined) q = q.where('batch', '=', filter.batch);
    if (filter.status) q = q.where('status', '=', filter.status);
    return mapPage(await paginate(q, 'id', page), targetOf);
  },

  /** The machines of a batch not started yet. */
  pendingOfBatch(
    db: Executor,
    deploymentId: string,
    batch: number,
  ): Promise<{ id: string; agent_id: string }[]> {
    return db
      .selectFrom('deployment_targets')
      .select(['id', 'agent_id'])
      .where('deployment_id', '=', deploymentId)
      .where('batch', '=', batch)
      .where('status', '=', 'pending')
      .execute();
  },

  /**
   * A batch starts: its machines with a job are running, with that job (the engine's jobs name
   * their deployment and agent: one statement for the whole batch); those without one, whose agent
   * is gone, fail. Answers the machines moved.
   */
  async startBatch(db: Executor, deploymentId: string, batch: number, now: string): Promise<TargetRow[]> {
    const jobOfTarget = (eb: ExpressionBuilder<DB, 'deployment_targets'>) =>
      eb
        .selectFrom('jobs')
        .select('jobs.id')
        .whereRef('jobs.deployment_id', '=', 'deployment_targets.deployment_id')
        .whereRef('jobs.agent_id', '=', 'deployment_targets.agent_id');
    const started = await db
      .updateTable('deployment_targets')
      .set((eb) => ({ status: 'running', job_id: jobOfTarget(eb), started_at: now, updated_at: now }))
      .where('deployment_id', '=', deploymentId)
      .where('batch', '=', batch)
      .where('status', '=', 'pending')
      .where((eb) => eb.exists(jobOfTarget(eb)))
      .returningAll()
      .execute();
    const gone = await db
      .updateTable('deployment_targets')
      .set({ status: 'failed', error: 'the agent was deleted', finished_at: now, updated_at: now })
      .where('deployment_id', '=', deploymentId)
      .where('batch', '=', batch)
      .where('status', '=', 'pending')
      .returningAll()
      .execute();
    return [...started, ...gone].map(targetOf);
  },

  /** The machine a deployment token names, with what its reports need of its deployment. */
  caller(
    db: Executor,
    targetId: string,
  ): Promise<
    | (Pick<DeploymentTargetsTable, 'id' | 'org_id' | 'deployment_id' | 'agent_id' | 'finished_at'> & {
        service_id: string;
        planned_steps: string;
      })
    | undefined
  > {
    return db
      .selectFrom('deployment_targets as t')
      .innerJoin('deployments as d', 'd.id', 't.deployment_id')
      .select([
        't.id',
        't.org_id',
        't.deployment_id',
        't.agent_id',
        't.finished_at',
        'd.service_id',
        'd.planned_steps',
      ])
      .where('t.id', '=', targetId)
      .executeTakeFirst();
  },

  targetOfJob(db: Executor, jobId: string): Promise<TargetRow | undefined> {
    return db
      .selectFrom('deployment_targets')
      .selectAll()
      .where('job_id', '=', jobId)
      .executeTakeFirst()
      .then((row) => row && targetOf(row));
  },

  async updateTarget(db: Executor, id: string, changes: TargetChanges): Promise<void> {
    await db.updateTable('deployment_targets').set(changes).where('id', '=', id).execute();
  },

  /** Targets by batch and status. */
  counts(db: Executor, deploymentId: string): Promise<{ batch: number; status: TargetStatus; n: number }[]> {
    return db
      .selectFrom('deployment_targets')
      .select(['batch', 'status', sql<number>`count(*)`.as('n')])
      .where('deployment_id', '=', deploymentId)
      .groupBy(['batch', 'status'])
      .execute()
      .then((rows) => rows.map((row) => ({ ...row, status: row.status as TargetStatus, n: Number(row.n) })));
  },

  /** Targets by batch and status of each of these deployments, in one statement. */
  async countsOf(
    db: Executor,
    deploymentIds: readonly string[],
  ): Promise<Map<string, { batch: number; status: TargetStatus; n: number }[]>> {
    const byDeployment = new Map<string, { batch: number; status: TargetStatus; n: number }[]>();
    if (deploymentIds.length === 0) return byDeployment;
    const rows = await db
      .selectFrom('deployment_targets')
      .select(['deployment_id', 'batch', 'status', sql<number>`count(*)`.as('n')])
      .where('deployment_id', 'in', deploymentIds)
      .groupBy(['deployment_id', 'batch', 'status'])
      .execute();
    for (const row of rows) {
      const count = { batch: row.batch, status: row.status as TargetStatus, n: Number(row.n) };
      const list = byDeployment.get(row.deployment_id);
      if (list) list.push(count);
      else byDeployment.set(row.deployment_id, [count]);
    }
    return byDeployment;
  },

  /** Ends the targets not started yet as canceled; answers them. */
  async cancelPending(db: Executor, deploymentId: string, reason: string, now: string): Promise<TargetRow[]> {
    const rows = await db
      .updateTable('deployment_targets')
      .set({ status: 'canceled', error: reason, finished_at: now, updated_at: now })
      .where('deployment_id', '=', deploymentId)
      .where('status', '=', 'pending')
      .returningAll()
      .execute();
    return rows.map(targetOf);
  },

  /** The reported steps of these machines (at most a page of them). */
  stepsOf(db: Executor, targetIds: readonly string[]): Promise<StepRow[]> {
    if (targetIds.length === 0) return Promise.resolve([]);
    return db
      .selectFrom('deployment_steps')
      .selectAll()
      .where('target_id', 'in', targetIds)
      .orderBy('position')
      .execute() as Promise<StepRow[]>;
  },

  /**
   * A step report in one statement: the step of that name is written, or created at its place (a
   * planned step at its index, another after the last one). Start time is kept once set.
   */
  upsertStep(
    db: Executor,
    step: StepRow,
    options: { plannedCount: number; planned: boolean; keepMessage: boolean; keepError: boolean },
  ): Promise<StepRow> {
    const { plannedCount } = options;
    const position = options.planned
      ? step.position
      : sql<number>`coalesce((select max(s.position) + 1 from deployment_steps s where s.target_id = ${step.target_id} and s.position >= ${plannedCount}), ${plannedCount})`;
    return db
      .insertInto('deployment_steps')
      .values({ ...step, position })
      .onConflict((oc) =>
        oc.columns(['target_id', 'name']).doUpdateSet((eb) => ({
          state: eb.ref('excluded.state'),
          ...(options.keepMessage ? {} : { message: eb.ref('excluded.message') }),
          ...(options.keepError ? {} : { error_message: eb.ref('excluded.error_message') }),
          started_at: eb.fn.coalesce('deployment_steps.started_at', 'excluded.started_at'),
          finished_at: eb.ref('excluded.finished_at'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .returningAll()
      .executeTakeFirstOrThrow() as Promise<StepRow>;
  },

  /** A target's steps still running end as failures, with the reason; answers them. */
  async failRunningSteps(db: Executor, targetId: string, reason: string, now: string): Promise<StepRow[]> {
    return db
      .updateTable('deployment_steps')
      .set({ state: 'failure', error_message: reason, finished_at: now, updated_at: now })
      .where('target_id', '=', targetId)
      .where('state', '=', 'running')
      .returningAll()
      .execute() as Promise<StepRow[]>;
  },
};
