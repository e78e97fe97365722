import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/crypto.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/logger.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { Usage } from '../../lib/usage.js';
import type { RequestContext } from '../access/context.js';
import { agentsRepo, type TargetAgent } from '../agents/agents.repo.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { JobRow } from '../execution/jobs.rows.js';
import type { JobInput, JobsService } from '../execution/jobs.service.js';
import { systemContext } from '../rpa/system-context.js';
import {
  deploymentsRepo,
  FINAL_TARGET,
  LIVE_DEPLOYMENT,
  type DeploymentFilter,
  type DeploymentRow,
  type DeploymentSpec,
  type ServiceRunsOn,
  type StepRow,
  type TargetRow,
  type TargetStatus,
} from './deployments.repo.js';
import { batchOfEach, stopReason, tallyOf } from './rollout.js';
import type { DeploymentEvents } from './deployments.events.js';
import type { DeploymentTokens } from './deployment-tokens.js';
import {
  deploymentView,
  stepsOf,
  targetView,
  type DeploymentDetail,
  type DeploymentView,
  type TargetDetail,
} from './deployments.views.js';

/** The tag that marks the server's own agent (`fleetplane start` enrolls its local agent with it). */
export const SERVER_AGENT_TAG = 'fleetplane-server';

/** What a deployment needs of its service: the services module answers (app.ts wires it). */
export interface ServiceRecipe extends DeploymentSpec {
  id: string;
  name: string;
  steps: string[];
  /** Values under secret-looking names sealed. */
  env: Record<string, string>;
  /** Every value sealed. */
  secret_env: Record<string, string>;
}

export interface ServiceCatalog {
  recipe(orgId: string, id: string): Promise<ServiceRecipe>;
  recipeByName(orgId: string, name: string): Promise<ServiceRecipe>;
}

export interface DeploymentInput {
  service_id?: string;
  service?: string;
  env?: Record<string, string>;
  secret_env?: Record<string, string>;
  origin?: string;
}

/** Machines a deployment's detail shows with their steps; the rest page through `targets`. */
export const DETAIL_TARGETS = 100;
const NAMES_PER_QUERY = 1000;

const FAILED_JOB: Record<string, string> = {
  timed_out: 'the deploy script timed out',
  lost: 'the agent was lost while the deploy script ran',
};

/**
 * Deployments: a service's script run on its targets through the execution engine, one job per
 * machine, batch after batch. Every change of a deployment happens in a transaction holding its
 * row (locked on PostgreSQL), so several server nodes hearing the same job end advance it once.
 */
export class DeploymentsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #events: DeploymentEvents;
  readonly #box: SecretBox;
  readonly #jobs: JobsService;
  readonly #services: ServiceCatalog;
  readonly #tokens: DeploymentTokens;
  readonly #logger: Logger;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    events: DeploymentEvents;
    box: SecretBox;
    jobs: JobsService;
    services: ServiceCatalog;
    tokens: DeploymentTokens;
    logger: Logger;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#events = deps.events;
    this.#box = deps.box;
    this.#jobs = deps.jobs;
    this.#services = deps.services;
    this.#tokens = deps.tokens;
    this.#logger = deps.logger;
    this.#jobs.onFinal((job) => this.#jobEnded(job));
  }

  /** A service with deployments still running cannot be deleted (409 naming them). */
  readonly usage: Usage = {
    usersOf: async (db, orgId, serviceId) =>
      (await deploymentsRepo.live(db, orgId, serviceId, 100)).map(({ id }) => ({
        type: 'deployment',
        id,
        name: id,
      })),
  };

  async start(ctx: RequestContext, input: DeploymentInput): Promise<DeploymentDetail> {
    const service = await this.#serviceFor(ctx, input);
    const agents = await this.#targetAgents(ctx.orgId, service.runs_on);
    const names = await this.#agentNames(
      ctx.orgId,
      agents.map((agent) => agent.id),
    );
    const now = this.#clock.now().toISOString();
    const sealed = this.#jobs.sealInput({
      interpreter: service.interpreter,
      command: service.script,
      env: { ...service.env, ...input.env },
      secret_env: { ...service.secret_env, ...input.secret_env },
    });
    const deployment: DeploymentRow = {
      id: newId(),
      org_id: ctx.orgId,
      service_id: service.id,
      service_name: service.name,
      status: 'running',
      origin: input.origin ?? (ctx.actor.type === 'service_token' ? (ctx.actor.label ?? 'ci') : 'api'),
      started_by_type: ctx.actor.type,
      started_by_id: ctx.actor.id,
      started_by_label: ctx.actor.label,
      spec: {
        interpreter: service.interpreter,
        script: service.script,
        runs_on: service.runs_on,
        rollout: service.rollout,
        timeout_seconds: service.timeout_seconds,
        config_schema: service.config_schema,
      },
      planned_steps: service.steps,
      env: sealed.env ?? {},
      secret_env: sealed.secret_env ?? {},
      config: null,
      error: null,
      batch_count: 0,
      current_batch: 0,
      next_batch_at: null,
      awaiting_continue: false,
      created_at: now,
      updated_at: now,
      finished_at: null,
    };
    // one machine of each kind is checked first: an interpreter a machine lacks is a 422 now, not midway
    const kinds = new Map(
      agents.map((agent) => [`${agent.os_type}\n${agent.interpreters.join(' ')}`, agent]),
    );
    await this.#jobInputs(deployment, [...kinds.values()]);
    const batches = batchOfEach(agents.length, service.rollout);
    deployment.batch_count = (batches.at(-1) ?? 0) + 1;
    const targets: TargetRow[] = agents.map((agent, i) => ({
      id: newId(),
      org_id: ctx.orgId,
      deployment_id: deployment.id,
      agent_id: agent.id,
      agent_name: names.get(agent.id) ?? agent.id,
      batch: batches[i] ?? 0,
      status: 'pending',
      job_id: null,
      error: null,
      reported_status: null,
      config: null,
      started_at: null,
      finished_at: null,
      updated_at: now,
    }));
    const started = await inTransaction(this.#db, async (trx) => {
      await deploymentsRepo.insert(trx, deployment, targets);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'deployment',
        entityId: deployment.id,
        after: {
          service_id: service.id,
          service_name: service.name,
          origin: deployment.origin,
          env: deployment.env,
          secret_env: deployment.secret_env,
          machines: targets.length,
          batches: deployment.batch_count,
        },
      });
      return this.#startBatch(trx, deployment, 0);
    });
    await this.#afterCommit(started);
    this.#events.state(deployment.id);
    return this.get(ctx, deployment.id);
  }

  async list(ctx: RequestContext, filter: DeploymentFilter, page: PageParams): Promise<Page<DeploymentView>> {
    // a service token sees its own service's deployments only
    const scoped = ctx.serviceId ? { ...filter, serviceId: ctx.serviceId } : filter;
    if (ctx.serviceId && filter.serviceId && filter.serviceId !== ctx.serviceId) throw wrongServiceToken();
    const rows = await deploymentsRepo.list(this.#db, ctx.orgId, scoped, page);
    const counts = await deploymentsRepo.countsOf(
      this.#db,
      rows.items.map((row) => row.id),
    );
    return mapPage(rows, (row) => deploymentView(row, counts.get(row.id) ?? []));
  }

  async get(ctx: RequestContext, id: string): Promise<DeploymentDetail> {
    const deployment = await this.#visible(ctx, id);
    const [counts, targets] = await Promise.all([
      deploymentsRepo.counts(this.#db, id),
      deploymentsRepo.firstTargets(this.#db, id, DETAIL_TARGETS),
    ]);
    return {
      ...deploymentView(deployment, counts),
      targets: await this.#withSteps(deployment, targets),
    };
  }

  /** A deployment's machines with their steps, a page at a time (a filter by batch or status). */
  async targets(
    ctx: RequestContext,
    id: string,
    filter: { batch?: number; status?: TargetStatus },
    page: PageParams,
  ): Promise<Page<TargetDetail>> {
    const deployment = await this.#visible(ctx, id);
    const targets = await deploymentsRepo.pageOfTargets(this.#db, id, filter, page);
    return { items: await this.#withSteps(deployment, targets.items), next_cursor: targets.next_cursor };
  }

  async #withSteps(deployment: DeploymentRow, targets: readonly TargetRow[]): Promise<TargetDetail[]> {
    const reported = await deploymentsRepo.stepsOf(
      this.#db,
      targets.map((target) => target.id),
    );
    const byTarget = new Map<string, StepRow[]>();
    for (const step of reported) {
      const list = byTarget.get(step.target_id);
      if (list) list.push(step);
      else byTarget.set(step.target_id, [step]);
    }
    return targets.map((target) => ({
      ...targetView(target),
      steps: stepsOf(target.id, deployment.planned_steps, byTarget.get(target.id) ?? []),
    }));
  }

  /** The jobs of a deployment's machines so far: a console follows their output live. */
  async jobsOf(ctx: RequestContext, id: string): Promise<string[]> {
    await this.#visible(ctx, id);
    const targets = await deploymentsRepo.targets(this.#db, id);
    return targets.flatMap((target) => (target.job_id ? [target.job_id] : []));
  }

  /** One machine's script output as stored. */
  async output(ctx: RequestContext, id: string, targetId: string) {
    await this.#visible(ctx, id);
    const target = await deploymentsRepo.target(this.#db, targetId);
    if (!target || target.deployment_id !== id) throw notFound('deployment target');
    if (!target.job_id) return { target: targetView(target), chunks: [] };
    const { chunks } = await this.#jobs.output(ctx.orgId, target.job_id);
    return {
      target: targetView(target),
      chunks: chunks.map(({ seq, stream, data, created_at }) => ({ seq, stream, data, created_at })),
    };
  }

  /**
   * Stops a deployment: machines not started are canceled, scripts running are told to stop (their
   * running step fails with the reason). It ends failed once the last script has stopped.
   */
  async cancel(ctx: RequestContext, id: string): Promise<DeploymentDetail> {
    const deployment = await this.#visible(ctx, id);
    if (!LIVE_DEPLOYMENT.includes(deployment.status))
      throw new AppError('conflict', `deployment is already ${deployment.status}`);
    const reason = `canceled by ${ctx.actor.label ?? ctx.actor.type}`;
    const stopped = await inTransaction(this.#db, async (trx) => {
      const locked = await deploymentsRepo.lock(trx, id);
      if (!locked || !LIVE_DEPLOYMENT.includes(locked.status))
        throw new AppError('conflict', 'deployment changed meanwhile; try again');
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'deployment',
        entityId: id,
        before: { status: locked.status },
        after: { status: 'failed', error: reason },
      });
      return this.#stop(trx, locked, reason);
    });
    await this.#afterCommit(stopped);
    await this.#advance(id);
    return this.get(ctx, id);
  }

  /** Starts the next batch of a rollout that waits for a manual continue (409 otherwise). */
  async continue(ctx: RequestContext, id: string): Promise<DeploymentDetail> {
    await this.#visible(ctx, id);
    const started = await inTransaction(this.#db, async (trx) => {
      const locked = await deploymentsRepo.lock(trx, id);
      if (!locked || locked.status !== 'paused')
        throw new AppError(
          'conflict',
          `deployment is ${locked?.status ?? 'gone'}, not paused between batches`,
        );
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'deployment',
        entityId: id,
        before: { status: 'paused' },
        after: { status: 'running', batch: locked.current_batch + 1 },
      });
      return this.#startBatch(trx, locked, locked.current_batch + 1);
    });
    await this.#afterCommit(started);
    this.#events.state(id);
    return this.get(ctx, id);
  }

  /** Starts the next batch of rollouts whose pause is over: the sweep calls it, on every node. */
  async resumeDue(): Promise<void> {
    const now = this.#clock.now().toISOString();
    for (const { id } of await deploymentsRepo.due(this.#db, now, 100)) {
      const started = await inTransaction(this.#db, async (trx) => {
        const locked = await deploymentsRepo.lock(trx, id);
        // another node got there first
        if (locked?.status !== 'paused' || locked.next_batch_at === null || locked.next_batch_at > now)
          return undefined;
        return this.#startBatch(trx, locked, locked.current_batch + 1);
      });
      if (!started) continue;
      await this.#afterCommit(started);
      this.#events.state(id);
    }
  }

  /** The last config each service published in a successful deployment: discovery. */
  async deployed(orgId: string) {
    const rows = await deploymentsRepo.deployed(this.#db, orgId);
    return rows.map((row) => ({
      service_id: row.service_id,
      service_name: row.service_name,
      deployment_id: row.id,
      config: row.config,
      deployed_at: row.finished_at ?? row.updated_at,
    }));
  }

  /** The deploy token of a machine: its script's environment carries it. */
  tokenFor(targetId: string): string {
    return this.#tokens.mint(targetId);
  }

  /** Agents' names, a slice of ids per statement (a rollout may name tens of thousands). */
  async #agentNames(orgId: string, ids: readonly string[]): Promise<Map<string, string>> {
    const names = new Map<string, string>();
    for (let i = 0; i < ids.length; i += NAMES_PER_QUERY)
      for (const [id, name] of await agentsRepo.names(this.#db, orgId, ids.slice(i, i + NAMES_PER_QUERY)))
        names.set(id, name);
    return names;
  }

  async #serviceFor(ctx: RequestContext, input: DeploymentInput): Promise<ServiceRecipe> {
    const byName = input.service_id === undefined && input.service !== undefined;
    const wanted = input.service_id ?? input.service ?? ctx.serviceId;
    if (wanted === undefined)
      throw new AppError('unprocessable', 'name the service to deploy', {
        details: [{ field: 'service_id', message: 'give service_id or service' }],
      });
    const service = await (
      byName ? this.#services.recipeByName(ctx.orgId, wanted) : this.#services.recipe(ctx.orgId, wanted)
    ).catch((error: unknown) => {
      // a service token's own service is the only one it may name; others are refused, not hidden
      if (ctx.serviceId && error instanceof AppError && error.code === 'not_found') throw wrongServiceToken();
      throw error;
    });
    if (ctx.serviceId && service.id !== ctx.serviceId) throw wrongServiceToken();
    return service;
  }

  async #targetAgents(orgId: string, runsOn: ServiceRunsOn): Promise<TargetAgent[]> {
    if (runsOn.type === 'agent') {
      const agents = await agentsRepo.selectTargets(this.#db, orgId, { agent_ids: [runsOn.agent_id] });
      if (agents.length === 0)
        throw new AppError('unprocessable', "the service's agent is gone", {
          details: [{ field: 'runs_on.agent_id', message: 'not an agent of the organisation' }],
        });
      return agents;
    }
    if (runsOn.type === 'server') {
      const agents = await agentsRepo.selectTargets(this.#db, orgId, { tags: [SERVER_AGENT_TAG] });
      const agent = agents.find((a) => a.connected) ?? agents[0];
      if (!agent)
        throw new AppError('unprocessable', `no agent of the server is enrolled (tag ${SERVER_AGENT_TAG})`, {
          details: [{ field: 'runs_on', message: 'the server runs no agent' }],
        });
      return [agent];
    }
    const agents = await agentsRepo.selectTargets(this.#db, orgId, runsOn.selector);
    if (agents.length === 0)
      throw new AppError('unprocessable', "the service's selector picks no agent", {
        details: [{ field: 'runs_on.selector', message: 'no agents' }],
      });
    return agents;
  }

  /** The jobs of these machines, each with its own deployment token. */
  async #jobInputs(
    deployment: DeploymentRow,
    agents: readonly Pick<TargetAgent, 'id' | 'os_type' | 'interpreters'>[],
    db: Executor = this.#db,
    tokens?: ReadonlyMap<string, string>,
  ): Promise<JobRow[]> {
    const { spec } = deployment;
    const input: JobInput = {
      interpreter: spec.interpreter,
      command: spec.script,
      env: { ...deployment.env, FP_DEPLOYMENT_ID: deployment.id, FP_SERVICE_NAME: deployment.service_name },
      secret_env: deployment.secret_env,
      timeout_seconds: spec.timeout_seconds,
      // a deploy is never rerun behind its operator's back
      max_attempts: 1,
    };
    const placement = {
      runId: null,
      admitted: true,
      deadlineAt: null,
      createdBy: deployment.started_by_type === 'user' ? deployment.started_by_id : null,
      deploymentId: deployment.id,
    };
    const rows = await this.#jobs.prepare(deployment.org_id, agents, input, placement, db);
    if (!tokens) return rows;
    return rows.map((row) => {
      const token = row.agent_id === null ? undefined : tokens.get(row.agent_id);
      if (token === undefined || row.agent_id === null) return row;
      return {
        ...row,
        env: { ...row.env, FP_AGENT_ID: row.agent_id },
        secret_env: { ...row.secret_env, FP_DEPLOYMENT_TOKEN: this.#box.sealOnce(token) },
      };
    });
  }

  /**
   * Starts a batch in the caller's transaction: a job per machine of it, each machine marked
   * running. A machine whose agent was deleted since the start fails at once.
   */
  async #startBatch(trx: Executor, deployment: DeploymentRow, batch: number): Promise<Started> {
    const now = this.#clock.now().toISOString();
    const pending = await deploymentsRepo.pendingOfBatch(trx, deployment.id, batch);
    const agents = await agentsRepo.selectTargets(trx, deployment.org_id, {
      agent_ids: pending.map((target) => target.agent_id),
    });
    const tokens = new Map(pending.map((target) => [target.agent_id, this.tokenFor(target.id)]));
    const jobs = agents.length > 0 ? await this.#jobInputs(deployment, agents, trx, tokens) : [];
    await this.#jobs.insertPrepared(trx, jobs);
    const moved = await deploymentsRepo.startBatch(trx, deployment.id, batch, now);
    await deploymentsRepo.update(trx, deployment.id, {
      status: 'running',
      current_batch: batch,
      next_batch_at: null,
      awaiting_continue: false,
      updated_at: now,
    });
    return { deployment: { ...deployment, current_batch: batch }, jobs, targets: moved, steps: [] };
  }

  /** Cancels what has not started and tells running scripts to stop; the deployment ends failed. */
  async #stop(trx: Executor, deployment: DeploymentRow, reason: string): Promise<Started> {
    const now = this.#clock.now().toISOString();
    const canceled = await deploymentsRepo.cancelPending(trx, deployment.id, reason, now);
    await deploymentsRepo.update(trx, deployment.id, {
      status: 'failed',
      error: reason,
      next_batch_at: null,
      awaiting_continue: false,
      updated_at: now,
    });
    const running = (await deploymentsRepo.targets(trx, deployment.id)).filter(
      (target) => target.status === 'running' && target.job_id !== null,
    );
    return { deployment, jobs: [], targets: canceled, steps: [], cancelJobs: running.map((t) => t.job_id!) };
  }

  /** A machine's job ended: its target takes the outcome, then the rollout moves on. */
  async #jobEnded(job: JobRow): Promise<void> {
    if (!job.deployment_id) return;
    const now = this.#clock.now().toISOString();
    const ended = await inTransaction(this.#db, async (trx) => {
      const target = await deploymentsRepo.targetOfJob(trx, job.id);
      if (!target || FINAL_TARGET.includes(target.status)) return undefined;
      const { status, error } = outcomeOf(job, target);
      await deploymentsRepo.updateTarget(trx, target.id, {
        status,
        error,
        finished_at: now,
        updated_at: now,
      });
      const steps =
        status === 'succeeded'
          ? []
          : await deploymentsRepo.failRunningSteps(trx, target.id, error ?? status, now);
      const deployment = await deploymentsRepo.byId(trx, target.deployment_id);
      return {
        target: { ...target, status, error, finished_at: now },
        steps,
        serviceId: deployment?.service_id ?? '',
      };
    });
    if (!ended) return;
    this.#events.target(ended.serviceId, ended.target);
    for (const step of ended.steps) this.#events.step(ended.serviceId, ended.target, step);
    await this.#advance(job.deployment_id);
  }

  /**
   * Moves a rollout on after a machine ended: past the failure budget it stops; when its batch is
   * done it pauses, waits for a continue, starts the next batch or ends. A stopped deployment is
   * finished once its last script has ended.
   */
  async #advance(id: string): Promise<void> {
    const moved = await inTransaction(this.#db, async (trx) => {
      const deployment = await deploymentsRepo.lock(trx, id);
      if (!deployment || deployment.finished_at !== null) return undefined;
      let tally = tallyOf(await deploymentsRepo.counts(trx, id), deployment.current_batch);
      let stopped: Started | undefined;
      if (deployment.status === 'running') {
        const { rollout } = deployment.spec;
        const canaryFailed = rollout.canary > 0 && deployment.current_batch === 0 && tally.batchFailed > 0;
        const reason = stopReason(rollout, { total: tally.total, failed: tally.failed }, canaryFailed);
        if (reason === null) {
          if (tally.batchActive > 0) return undefined;
          if (deployment.current_batch + 1 < deployment.batch_count) return this.#nextBatch(trx, deployment);
        } else {
          stopped = await this.#stopAudited(trx, deployment, reason);
          tally = tallyOf(await deploymentsRepo.counts(trx, id), deployment.current_batch);
        }
      }
      if (deployment.status === 'paused' || tally.active > 0) return stopped;
      await this.#finish(trx, deployment, tally);
      return stopped ?? { deployment, jobs: [], targets: [], steps: [] };
    });
    if (!moved) return;
    await this.#afterCommit(moved);
    this.#events.state(id);
  }

  /** A batch is done: the rollout pauses, waits for a continue, or starts the next one now. */
  async #nextBatch(trx: Executor, deployment: DeploymentRow): Promise<Started> {
    const { rollout } = deployment.spec;
    if (!rollout.manual_continue && rollout.pause_seconds === 0)
      return this.#startBatch(trx, deployment, deployment.current_batch + 1);
    const now = this.#clock.now();
    await deploymentsRepo.update(trx, deployment.id, {
      status: 'paused',
      next_batch_at: rollout.manual_continue
        ? null
        : new Date(now.getTime() + rollout.pause_seconds * 1000).toISOString(),
      awaiting_continue: rollout.manual_continue,
      updated_at: now.toISOString(),
    });
    return { deployment, jobs: [], targets: [], steps: [] };
  }

  /** The rollout stops by itself (failure budget, canary): audited as the system's doing. */
  async #stopAudited(trx: Executor, deployment: DeploymentRow, reason: string): Promise<Started> {
    await this.#audit.record(trx, systemContext(deployment.org_id, 'deployment rollout'), {
      action: 'status_changed',
      entityType: 'deployment',
      entityId: deployment.id,
      before: { status: deployment.status },
      after: { status: 'failed', error: reason },
    });
    const stopped = await this.#stop(trx, deployment, reason);
    deployment.status = 'failed';
    deployment.error = reason;
    return stopped;
  }

  /** Every machine has ended: the deployment succeeded if each of them did. */
  async #finish(trx: Executor, deployment: DeploymentRow, tally: ReturnType<typeof tallyOf>): Promise<void> {
    const now = this.#clock.now().toISOString();
    const unsuccessful = tally.failed + tally.canceled;
    const status = deployment.status === 'running' && unsuccessful === 0 ? 'succeeded' : 'failed';
    const error =
      status === 'failed' ? (deployment.error ?? `${unsuccessful} of ${tally.total} machines failed`) : null;
    await deploymentsRepo.update(trx, deployment.id, { status, error, finished_at: now, updated_at: now });
    await this.#audit.record(trx, systemContext(deployment.org_id, 'deployment'), {
      action: 'status_changed',
      entityType: 'deployment',
      entityId: deployment.id,
      before: { status: deployment.status },
      after: { status, error, finished: true },
    });
  }

  /** A deployment of the organisation the caller may see: another service's is 403 to a service token. */
  async #visible(ctx: RequestContext, id: string): Promise<DeploymentRow> {
    const deployment = await deploymentsRepo.get(this.#db, ctx.orgId, id);
    if (!deployment) throw notFound('deployment');
    if (ctx.serviceId && deployment.service_id !== ctx.serviceId) throw wrongServiceToken();
    return deployment;
  }

  /** Announces the jobs a transaction wrote, stops those it asked to, and tells consoles. */
  async #afterCommit(started: Started): Promise<void> {
    this.#jobs.announce(started.jobs);
    for (const target of started.targets) this.#events.target(started.deployment.service_id, target);
    const ctx = systemContext(started.deployment.org_id, 'deployment stopped');
    await Promise.all(
      (started.cancelJobs ?? []).map((jobId) =>
        this.#jobs.cancel(ctx, jobId).catch((error: unknown) => {
          // a script that ended meanwhile needs no stopping
          if (!(error instanceof AppError && error.code === 'conflict'))
            this.#logger.error({ err: error, jobId }, 'could not stop a deploy script');
        }),
      ),
    );
  }
}

/** What a transaction changed, for after its commit. */
interface Started {
  deployment: DeploymentRow;
  jobs: JobRow[];
  targets: TargetRow[];
  steps: StepRow[];
  cancelJobs?: string[];
}

function wrongServiceToken(): AppError {
  return new AppError('forbidden', 'wrong service token: it is for another service');
}

/** A machine's outcome from its job's end and what its script reported. */
function outcomeOf(job: JobRow, target: TargetRow): { status: TargetStatus; error: string | null } {
  if (job.status === 'succeeded')
    return target.reported_status === 'failure'
      ? { status: 'failed', error: target.error ?? 'the deploy script reported a failure' }
      : { status: 'succeeded', error: null };
  if (job.status === 'canceled') return { status: 'canceled', error: job.error ?? 'canceled' };
  const error =
    FAILED_JOB[job.status] ??
    job.error ??
    (job.exit_code === null
      ? 'the deploy script failed'
      : `the deploy script exited with code ${job.exit_code}`);
  return { status: 'failed', error };
}
