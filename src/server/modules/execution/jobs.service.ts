import {
  AGENT_RECONNECT_MAX_MS,
  PROCESS_RESULT_MAX_BYTES,
  type EventAck,
  type JobEvent,
  type JobSpec,
} from '../../../protocol/agent.js';
import { isFinal, type Interpreter } from '../../../protocol/jobs.js';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/crypto.js';
import { AppError, assertNever, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/logger.js';
import type { Page, PageParams } from '../../lib/pagination.js';
import { isSecretKey } from '../../lib/secrets.js';
import type { RequestContext, RequestMeta } from '../access/context.js';
import { agentsRepo, type Agent } from '../agents/agents.repo.js';
import type { AuditLog, AuditScope } from '../audit/audit.service.js';
import type { SettingsService } from '../settings/settings.service.js';
import type { EventBus } from '../../realtime/events.js';
import type { JobTokens } from './job-tokens.js';
import { JobBatches } from './jobs.batch.js';
import { RecentJobs } from './jobs.recent.js';
import { jobsRepo, type JobFilter } from './jobs.repo.js';
import type { AgentJob, JobRow, OutputRow } from './jobs.rows.js';
import {
  interpreterOf,
  isRobotPool,
  noRobotSeats,
  robotInPool,
  type ProcessJobInput,
  type ProcessRun,
  type RobotPool,
  type RobotRef,
  type RobotSeats,
} from './jobs.process.js';
import { inPool, resolveInterpreter } from './jobs.rules.js';
import type { PoolSelector } from './jobs.schemas.js';

/** A job as the API shows it: with its agent's name, so no client looks each one up. */
export type NamedJob = JobRow & { agent_name: string | null };

export interface JobInput {
  interpreter: Interpreter;
  command: string;
  env?: Record<string, string>;
  /** Always sealed at rest and masked when shown; merged into `env` only in the spec an agent claims. */
  secret_env?: Record<string, string>;
  cwd?: string;
  timeout_seconds?: number;
  run_as?: string;
  target_os_type?: string;
  script_id?: string;
  script_version?: number;
  /** How many times the job may start (a lapsed lease after a start retries it); the jobs settings' default (1) when absent. */
  max_attempts?: number;
}

export interface JobPlacement {
  runId: string | null;
  /** False while a run holds the job back for its concurrency limit. */
  admitted: boolean;
  deadlineAt: string | null;
  createdBy: string | null;
  /** The deployment whose script the job runs on one of its targets. */
  deploymentId?: string;
}

type FinalListener = (job: JobRow) => Promise<void>;

/** What came of an agent's event; `message` says why a refused one was refused. */
export type EventVerdict = Pick<EventAck, 'outcome' | 'message'>;
/**
 * A job handed out and never started is handed out again up to this many times beyond its
 * max_attempts, then lost: an agent that dies each time it takes a job must not loop forever.
 */
const EXTRA_DELIVERIES = 5;

/** Agents named per `agent.jobs_available` event: about 4 KB, within one NOTIFY payload. */
const AGENTS_PER_ANNOUNCEMENT = 100;

/** Pooled jobs an agent looks through per claim, oldest first, and takes at most. */
const POOL_WINDOW = 200;
const POOLED_PER_CLAIM = 5;
/** Waiting pooled jobs whose pools a sweep wakes again. */
const POOLS_PER_SWEEP = 100;

const APPLIED: EventVerdict = { outcome: 'applied' };
const DUPLICATE: EventVerdict = { outcome: 'duplicate' };

function changedMeanwhile(): AppError {
  return new AppError('conflict', 'job changed meanwhile; try again');
}

/**
 * A process job's result as stored: its JSON, unless too large (then an error says so); nothing
 * for other jobs.
 */
function processResult(output: unknown): { result?: string; error?: string } {
  if (output === undefined) return {};
  const json = JSON.stringify(output);
  if (Buffer.byteLength(json) > PROCESS_RESULT_MAX_BYTES)
    return { error: `the process result is larger than ${PROCESS_RESULT_MAX_BYTES} bytes; not kept` };
  return { result: json };
}

/** The agent's own moves come over its socket, not an HTTP request. */
const NO_META: RequestMeta = { ip: null, userAgent: null, requestId: null };

/** The start of the error of a process job an operator ended by hand. */
export const HAND_SET = 'set by hand:';

/** What audit events call a job: process jobs are an entity of their own to operators. */
function entityTypeOf(job: Pick<JobRow, 'kind'>): string {
  return job.kind === 'process' ? 'process_job' : 'job';
}

/** A copy in random order: the agents woken for a pool are not always the same ones. */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Jobs move queued → dispatched (leased to the agent) → running → a final state. The lease is
 * renewed by the agent's heartbeats; when it lapses a job never started is queued again, and
 * a started one is `lost` (at most once) unless its max_attempts allows a retry. Results are
 * applied once: a repeat is a duplicate, a contradiction a conflict (both answered, not thrown).
 */
export class JobsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #bus: EventBus;
  readonly #settings: SettingsService;
  readonly #leaseMs: number;
  readonly #logger: Logger;
  readonly #box: SecretBox;
  /** The agent paths' statements, shared by the calls of one turn of the event loop. */
  readonly #batches: JobBatches;
  /** Rows this node just leased or wrote: an agent's events about them need not read them again. */
  readonly #recent: RecentJobs;
  readonly #finalListeners: FinalListener[] = [];
  readonly #robots: RobotSeats;
  readonly #jobTokens: JobTokens;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    bus: EventBus;
    settings: SettingsService;
    leaseMs: number;
    logger: Logger;
    box: SecretBox;
    /** Robots that run process jobs; none until the robots module is wired. */
    robots?: RobotSeats;
    jobTokens: JobTokens;
  }) {
    this.#robots = deps.robots ?? noRobotSeats;
    this.#jobTokens = deps.jobTokens;
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#bus = deps.bus;
    this.#settings = deps.settings;
    this.#leaseMs = deps.leaseMs;
    this.#logger = deps.logger;
    this.#box = deps.box;
    this.#recent = new RecentJobs(deps.bus);
    this.#batches = new JobBatches({ db: deps.db, clock: deps.clock, leaseMs: deps.leaseMs });
  }

  /**
   * The input with its secret environment values sealed: every `secret_env` value, and `env` values
   * under secret-looking names (`FP_SECRET_*` among them). Jobs and run specs store them so, and
   * only an agent's job spec opens them.
   */
  sealInput(input: JobInput): JobInput {
    const seal = (value: string) => this.#box.sealOnce(value);
    const sealed = { ...input };
    if (input.env)
      sealed.env = Object.fromEntries(
        Object.entries(input.env).map(([key, value]) => [key, isSecretKey(key) ? seal(value) : value]),
      );
    if (input.secret_env)
      sealed.secret_env = Object.fromEntries(
        Object.entries(input.secret_env).map(([key, value]) => [key, seal(value)]),
      );
    return sealed;
  }

  /** Runs learn here when one of their jobs ends. */
  onFinal(listener: FinalListener): void {
    this.#finalListeners.push(listener);
  }

  async create(ctx: RequestContext, agentId: string, input: JobInput): Promise<JobRow> {
    const agent = await agentsRepo.get(this.#db, ctx.orgId, agentId);
    if (!agent) throw notFound('agent');
    const [job] = await this.prepare(ctx.orgId, [agent], input, {
      runId: null,
      admitted: true,
      deadlineAt: null,
      createdBy: ctx.userId,
    });
    if (!job) throw new AppError('internal', 'no job prepared');
    await this.#insertAudited(ctx, job);
    this.announce([job]);
    return job;
  }

  /** One job written with its audit event. */
  #insertAudited(ctx: RequestContext, job: JobRow): Promise<void> {
    return inTransaction(this.#db, async (trx) => {
      await jobsRepo.insert(trx, [job]);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: entityTypeOf(job),
        entityId: job.id,
        after: this.#auditView(job),
      });
    });
  }

  /**
   * Jobs another module prepared (`prepare`), written in its own transaction, which audits what
   * they belong to; announce them after the commit.
   */
  insertPrepared(trx: Executor, jobs: readonly JobRow[]): Promise<unknown> {
    return jobsRepo.insert(trx, [...jobs]);
  }

  /** Builds job rows for agents, refusing (422) an interpreter or OS an agent cannot honour. */
  async prepare(
    orgId: string,
    agents: readonly Pick<Agent, 'id' | 'os_type' | 'interpreters'>[],
    input: JobInput,
    placement: JobPlacement,
    db: Executor = this.#db,
  ): Promise<JobRow[]> {
    const fields = await this.#fields(orgId, input, placement, db);
    return agents.map((agent) => ({
      ...fields,
      id: newId(),
      agent_id: agent.id,
      interpreter: resolveInterpreter(
        { os_type: agent.os_type, interpreters: agent.interpreters },
        input.interpreter,
        input.target_os_type ?? null,
      ),
    }));
  }

  /** A job's row but for its id, agent and interpreter. */
  async #fields(
    orgId: string,
    input: JobInput,
    placement: JobPlacement,
    db: Executor,
  ): Promise<Omit<JobRow, 'id' | 'agent_id' | 'interpreter'>> {
    const defaults = await this.#settings.read(orgId, 'jobs', db);
    const now = this.#clock.now().toISOString();
    const sealed = this.sealInput(input);
    return {
      org_id: orgId,
      pool: null,
      run_id: placement.runId,
      kind: 'exec',
      command: input.command,
      script_id: input.script_id ?? null,
      script_version: input.script_version ?? null,
      env: sealed.env ?? {},
      secret_env: sealed.secret_env ?? {},
      cwd: input.cwd ?? null,
      run_as: input.run_as ?? null,
      timeout_seconds: input.timeout_seconds ?? defaults.default_timeout_seconds,
      status: 'queued',
      admitted: placement.admitted,
      attempt: 0,
      max_attempts: input.max_attempts ?? defaults.max_attempts,
      lease_expires_at: null,
      cancel_requested_at: null,
      deadline_at: placement.deadlineAt,
      dispatched_at: null,
      started_at: null,
      finished_at: null,
      exit_code: null,
      duration_ms: null,
      error: null,
      output_bytes: 0,
      output_cap_bytes: defaults.output_cap_bytes,
      output_truncated: false,
      created_by: placement.createdBy,
      created_at: now,
      updated_at: now,
      task_index: null,
      task_name: null,
      robot_id: null,
      process_id: null,
      process: null,
      result: null,
      deployment_id: placement.deploymentId ?? null,
    };
  }

  /**
   * A process job: for one robot (on its agent, or waiting for its runner), or for any robot of a
   * pool (a pooled job: the first robot of the pool to be free takes it). Every status change of
   * a process job is audited, whoever makes it.
   */
  async createProcessJob(ctx: RequestContext, input: ProcessJobInput): Promise<JobRow> {
    const { run, target } = input;
    const interpreter = interpreterOf(run.language);
    const placement = { runId: null, admitted: true, deadlineAt: null, createdBy: ctx.userId };
    const fields = await this.#fields(
      ctx.orgId,
      {
        interpreter,
        command: run.entry_point,
        timeout_seconds: input.timeout_seconds,
        max_attempts: input.max_attempts,
        ...(input.env ? { env: input.env } : {}),
      },
      placement,
      this.#db,
    );
    const robot = 'robot' in target ? target.robot : null;
    if (robot?.agent_id) await this.#checkRobotAgent(ctx.orgId, robot.agent_id, interpreter);
    const job: JobRow = {
      ...fields,
      id: newId(),
      kind: 'process',
      interpreter,
      agent_id: robot?.agent_id ?? null,
      robot_id: robot?.id ?? null,
      pool: 'robot_pool' in target ? { robot_pool: target.robot_pool } : null,
      process_id: run.process_id,
      process: JSON.stringify(run),
    };
    await this.#insertAudited(ctx, job);
    if (job.agent_id) this.announce([job]);
    else {
      this.#publishState(job);
      if (job.pool) await this.#wakePools([job]);
    }
    return job;
  }

  /** The robot's agent exists in the organisation and runs the entry point's language (422 otherwise). */
  async #checkRobotAgent(orgId: string, agentId: string, interpreter: Interpreter): Promise<void> {
    const agent = await agentsRepo.get(this.#db, orgId, agentId);
    if (!agent)
      throw new AppError('unprocessable', "the robot's agent is gone", {
        details: [{ field: 'robot_id', message: 'its agent was deleted' }],
      });
    resolveInterpreter(agent, interpreter, null);
  }

  /**
   * A job for any one agent of the pool: queued with no agent, the first agent of the pool to ask
   * for work takes it (`claim`). 422 when no agent of the organisation is in the pool now.
   */
  async createPooled(ctx: RequestContext, pool: PoolSelector, input: JobInput): Promise<JobRow> {
    const members = await this.#poolMembers(ctx.orgId, pool, input.interpreter);
    if (members.length === 0)
      throw new AppError('unprocessable', 'no agent of the organisation is in this pool', {
        details: [{ field: 'pool', message: `no agent matches it and runs ${input.interpreter}` }],
      });
    const placement = { runId: null, admitted: true, deadlineAt: null, createdBy: ctx.userId };
    const job: JobRow = {
      ...(await this.#fields(ctx.orgId, input, placement, this.#db)),
      id: newId(),
      agent_id: null,
      pool,
      interpreter: input.interpreter,
    };
    await this.#insertAudited(ctx, job);
    this.#publishState(job);
    this.#wake(ctx.orgId, members);
    return job;
  }

  /** The organisation's agents in the pool that can run the interpreter as asked. */
  async #poolMembers(orgId: string, pool: PoolSelector, interpreter: Interpreter) {
    const agents = await agentsRepo.selectTargets(this.#db, orgId, {
      all: true,
      ...(pool.tags ? { tags: pool.tags } : {}),
      ...(pool.group_id ? { group_id: pool.group_id } : {}),
    });
    // tags and group were matched by the query
    const known = { tags: pool.tags ?? [], group_id: pool.group_id ?? null };
    return agents.filter((agent) => inPool({ ...agent, ...known }, pool, interpreter));
  }

  /**
   * Tells the nodes holding sockets of connected agents of each waiting pooled job's pool that
   * work waits (up to AGENTS_PER_ANNOUNCEMENT of them: the first to ask takes it). Agents over HTTP
   * look for pooled work at each heartbeat.
   */
  async #wakePools(jobs: readonly JobRow[]): Promise<void> {
    const pools = new Map<
      string,
      { orgId: string; pool: PoolSelector | RobotPool; interpreter: Interpreter }
    >();
    for (const job of jobs) {
      if (job.pool === null || job.agent_id !== null || job.status !== 'queued' || !job.admitted) continue;
      const key = `${job.org_id}\n${job.interpreter}\n${JSON.stringify(job.pool)}`;
      if (!pools.has(key))
        pools.set(key, {
          orgId: job.org_id,
          pool: job.pool,
          interpreter: job.interpreter as Interpreter,
        });
    }
    for (const { orgId, pool, interpreter } of pools.values())
      this.#wake(
        orgId,
        isRobotPool(pool)
          ? (await this.#robots.agentsFor(orgId, pool.robot_pool)).map((id) => ({ id, connected: true }))
          : await this.#poolMembers(orgId, pool, interpreter),
      );
  }

  /** Wakes up to AGENTS_PER_ANNOUNCEMENT of a pool's connected members, at random, for its pooled work. */
  #wake(orgId: string, members: readonly { id: string; connected: boolean }[]): void {
    const connected = members.filter((agent) => agent.connected).map((agent) => agent.id);
    if (connected.length === 0) return;
    this.#bus.publish({
      type: 'agent.jobs_available',
      org_id: orgId,
      agent_ids: shuffled(connected).slice(0, AGENTS_PER_ANNOUNCEMENT),
      pooled: true,
    });
  }

  /** Wakes the pools of pooled jobs still waiting (a woken agent may have gone meanwhile): the sweep calls it. */
  async sweepPools(): Promise<void> {
    await this.#wakePools(await jobsRepo.pooledQueued(this.#db, POOLS_PER_SWEEP));
  }

  /** Tells whichever node holds each agent's socket that work waits; call after the commit. */
  announce(
    jobs: readonly Pick<
      JobRow,
      'org_id' | 'agent_id' | 'id' | 'run_id' | 'status' | 'attempt' | 'exit_code' | 'admitted'
    >[],
  ): void {
    const agentsByOrg = new Map<string, Set<string>>();
    for (const job of jobs) {
      this.#publishState(job);
      // a pooled job waiting has no agent: #wakePools tells its pool
      if (!job.admitted || job.agent_id === null) continue;
      const agents = agentsByOrg.get(job.org_id);
      if (agents) agents.add(job.agent_id);
      else agentsByOrg.set(job.org_id, new Set([job.agent_id]));
    }
    for (const [orgId, agents] of agentsByOrg) {
      const ids = [...agents];
      for (let i = 0; i < ids.length; i += AGENTS_PER_ANNOUNCEMENT)
        this.#bus.publish({
          type: 'agent.jobs_available',
          org_id: orgId,
          agent_ids: ids.slice(i, i + AGENTS_PER_ANNOUNCEMENT),
        });
    }
  }

  /** The jobs with their agents' names: one lookup for them all. */
  async named(orgId: string, jobs: readonly JobRow[]): Promise<NamedJob[]> {
    const ids = [...new Set(jobs.flatMap((job) => (job.agent_id ? [job.agent_id] : [])))];
    const names = await agentsRepo.names(this.#db, orgId, ids);
    return jobs.map((job) => ({
      ...job,
      agent_name: job.agent_id ? (names.get(job.agent_id) ?? null) : null,
    }));
  }

  async namedPage(orgId: string, page: Page<JobRow>): Promise<Page<NamedJob>> {
    return { items: await this.named(orgId, page.items), next_cursor: page.next_cursor };
  }

  async namedOne(orgId: string, job: JobRow): Promise<NamedJob> {
    const [named] = await this.named(orgId, [job]);
    return named!;
  }

  async get(orgId: string, id: string): Promise<JobRow> {
    const job = await jobsRepo.get(this.#db, orgId, id);
    if (!job) throw notFound('job');
    return job;
  }

  list(orgId: string, filter: JobFilter, page: PageParams): Promise<Page<JobRow>> {
    return jobsRepo.list(this.#db, orgId, filter, page);
  }

  /** An agent's jobs; an agent of another organisation is not found, not an empty list. */
  async listForAgent(orgId: string, agentId: string, page: PageParams): Promise<Page<JobRow>> {
    if (!(await agentsRepo.get(this.#db, orgId, agentId))) throw notFound('agent');
    return jobsRepo.list(this.#db, orgId, { agentId }, page);
  }

  async output(orgId: string, id: string): Promise<{ job: JobRow; chunks: OutputRow[] }> {
    const job = await this.get(orgId, id);
    return { job, chunks: await jobsRepo.output(this.#db, id, Math.max(job.attempt, 1)) };
  }

  /** Resolves with the job once it is final, or as it stands when `timeoutMs` runs out. */
  async waitForFinal(orgId: string, id: string, timeoutMs: number): Promise<JobRow> {
    let settle: () => void = () => undefined;
    const finished = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const unsubscribe = this.#bus.subscribe((event) => {
      if (event.type === 'job.state' && event.job_id === id && isFinal(event.status)) settle();
    });
    const timer = setTimeout(settle, timeoutMs);
    try {
      const current = await this.get(orgId, id);
      if (!isFinal(current.status)) await finished;
      return await this.get(orgId, id);
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }
  }

  /** A process's jobs not yet ended (at most `limit`): a process with some cannot be deleted. */
  liveProcessJobs(
    orgId: string,
    processId: string,
    limit = 100,
    db: Executor = this.#db,
  ): Promise<{ id: string }[]> {
    return jobsRepo.liveProcessJobs(db, orgId, processId, limit);
  }

  /** What the process jobs a robot holds now run: an asset they declare is the robot's to read. */
  async liveRunsOfRobot(robotId: string): Promise<ProcessRun[]> {
    const rows = await jobsRepo.liveRunsOfRobot(this.#db, robotId);
    return rows.flatMap((row) => (row.process ? [JSON.parse(row.process) as ProcessRun] : []));
  }

  /** The robot a job token acts for, while its job is handed out and not ended; else undefined. */
  async robotOfJobToken(token: string): Promise<{ orgId: string; robotId: string } | undefined> {
    const jobId = this.#jobTokens.jobOf(token);
    const job = jobId === undefined ? undefined : await jobsRepo.getById(this.#db, jobId);
    if (job?.kind !== 'process' || job.robot_id === null) return undefined;
    if (job.status !== 'dispatched' && job.status !== 'running') return undefined;
    return { orgId: job.org_id, robotId: job.robot_id };
  }

  /** A process job of the organisation (404 for any other job). */
  async getProcessJob(orgId: string, id: string): Promise<JobRow> {
    const job = await jobsRepo.get(this.#db, orgId, id);
    if (!job || job.kind !== 'process') throw notFound('process job');
    return job;
  }

  /** An operator gives a process job still waiting to another robot, or to a pool. Audited with before/after. */
  async reassignProcessJob(
    ctx: RequestContext,
    id: string,
    target: ProcessJobInput['target'],
  ): Promise<JobRow> {
    const robot = 'robot' in target ? target.robot : null;
    const before = await this.getProcessJob(ctx.orgId, id);
    if (before.status !== 'queued')
      throw new AppError(
        'conflict',
        `only a queued process job can be reassigned; this one is ${before.status}`,
      );
    if (robot?.agent_id)
      await this.#checkRobotAgent(ctx.orgId, robot.agent_id, before.interpreter as Interpreter);
    const to = {
      robotId: robot?.id ?? null,
      agentId: robot?.agent_id ?? null,
      pool: 'robot_pool' in target ? { robot_pool: target.robot_pool } : null,
      now: this.#clock.now().toISOString(),
    };
    const after: JobRow = {
      ...before,
      robot_id: to.robotId,
      agent_id: to.agentId,
      pool: to.pool,
      updated_at: to.now,
    };
    await inTransaction(this.#db, async (trx) => {
      if (!(await jobsRepo.reassign(trx, id, to))) throw changedMeanwhile();
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'process_job',
        entityId: id,
        before: { robot_id: before.robot_id, agent_id: before.agent_id, pool: before.pool },
        after: { robot_id: after.robot_id, agent_id: after.agent_id, pool: after.pool },
      });
    });
    if (after.agent_id) this.announce([after]);
    else await this.#wakePools([after]);
    return after;
  }

  /**
   * An operator ends a process job by hand with the status they say (its robot will never report,
   * or reported elsewhere); a robot still running it is asked to stop. Audited with before/after.
   */
  async settleProcessJob(
    ctx: RequestContext,
    id: string,
    input: { status: 'succeeded' | 'failed' | 'canceled'; reason: string },
  ): Promise<JobRow> {
    const before = await this.getProcessJob(ctx.orgId, id);
    if (isFinal(before.status)) throw new AppError('conflict', `process job is already ${before.status}`);
    const now = this.#clock.now().toISOString();
    const changes = {
      finished_at: now,
      error: `set by hand: ${input.reason}`,
      lease_expires_at: null,
      updated_at: now,
    };
    const after: JobRow = { ...before, ...changes, status: input.status };
    await inTransaction(this.#db, async (trx) => {
      if (!(await jobsRepo.transition(trx, id, input.status, changes, before.status)))
        throw changedMeanwhile();
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'process_job',
        entityId: id,
        before: { status: before.status, error: before.error },
        after: { status: after.status, error: after.error },
      });
    });
    this.#recent.drop(id);
    if (before.agent_id !== null && before.status !== 'queued')
      this.#bus.publish({ type: 'job.cancel', org_id: before.org_id, agent_id: before.agent_id, job_id: id });
    await this.#finished(after);
    return after;
  }

  /** Queued jobs end at once; leased ones are asked to stop and end when the agent says so. */
  async cancel(ctx: RequestContext, id: string): Promise<JobRow> {
    const now = this.#clock.now().toISOString();
    const job = await inTransaction(this.#db, async (trx) => {
      const before = await jobsRepo.get(trx, ctx.orgId, id);
      if (!before) throw notFound('job');
      const seen = before.status;
      if (isFinal(seen)) throw new AppError('conflict', `job is already ${seen}`);
      let after: JobRow;
      if (seen === 'queued') {
        const changes = { finished_at: now, error: 'canceled before it started', updated_at: now };
        if (!(await jobsRepo.transition(trx, id, 'canceled', changes, seen))) throw changedMeanwhile();
        after = { ...before, ...changes, status: 'canceled' };
      } else {
        if (!(await jobsRepo.requestCancel(trx, id, seen, now))) throw changedMeanwhile();
        after = { ...before, cancel_requested_at: now, updated_at: now };
      }
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: entityTypeOf(before),
        entityId: id,
        before: { status: before.status },
        after: { status: after.status, cancel_requested: after.cancel_requested_at !== null },
      });
      return after;
    });
    if (job.status === 'canceled') await this.#finished(job);
    // only a job handed out is asked to stop, and it has its agent
    else if (job.agent_id !== null)
      this.#bus.publish({ type: 'job.cancel', org_id: job.org_id, agent_id: job.agent_id, job_id: job.id });
    return job;
  }

  /**
   * Leases waiting jobs to an agent (up to 100) and returns what it must run; with `pooled`, also
   * pooled jobs of the pools it is in (a few at a time, so a pool's agents share them).
   */
  async claim(agentId: string, options: { pooled?: boolean } = {}): Promise<JobSpec[]> {
    const own = await this.#batches.claim.add(agentId);
    const jobs = options.pooled ? [...own, ...(await this.#claimPooled(agentId))] : own;
    for (const job of jobs) {
      this.#recent.keep(job);
      this.#publishState(job);
    }
    return this.#specs(jobs);
  }

  /** The specs of claimed jobs; a process job whose robot or assets cannot be opened fails instead. */
  async #specs(jobs: readonly JobRow[], meta: RequestMeta = NO_META): Promise<JobSpec[]> {
    const specs: JobSpec[] = [];
    for (const job of jobs) {
      if (job.kind !== 'process') {
        specs.push(this.#spec(job));
        continue;
      }
      await this.#auditProcessMove(job, 'queued', meta);
      try {
        specs.push(await this.#processSpec(job));
      } catch (error) {
        await this.#failUnopened(job, error);
      }
    }
    return specs;
  }

  async #processSpec(job: JobRow): Promise<JobSpec> {
    const run = JSON.parse(job.process ?? 'null') as ProcessRun;
    if (!job.robot_id) throw new Error('the process job has no robot');
    const opened = await this.#robots.open(job.org_id, job.robot_id, run.assets);
    const spec = this.#spec(job);
    // a process on an agent robot reaches the runner API (queue items, assets) as its robot
    if (job.agent_id !== null) spec.env = { ...spec.env, FP_ROBOT_TOKEN: this.#jobTokens.mint(job.id) };
    return {
      ...spec,
      kind: 'process',
      process: {
        package_hash: run.package_hash,
        entry_point: run.entry_point,
        input: run.input,
        robot_id: job.robot_id,
        robot_name: opened.robot_name,
        run_as_user: opened.run_as_user,
        assets: opened.assets,
      },
    };
  }

  /** A claimed process job that cannot be handed out (an asset without a value, say) ends failed, saying why. */
  async #failUnopened(job: JobRow, error: unknown): Promise<void> {
    const now = this.#clock.now().toISOString();
    const reason = error instanceof Error ? error.message : String(error);
    const changes = {
      finished_at: now,
      error: reason.slice(0, 4096),
      lease_expires_at: null,
      updated_at: now,
    };
    this.#recent.drop(job.id);
    if (await jobsRepo.transition(this.#db, job.id, 'failed', changes, 'dispatched'))
      await this.#finished({ ...job, ...changes, status: 'failed' });
  }

  /**
   * Records a process job's move on the audit log: robots' and agents' changes are audited as a
   * person's are. Written after the move (the engine's moves are batched statements, not
   * transactions of their own).
   */
  async #auditProcessMove(job: JobRow, from: string, meta: RequestMeta = NO_META): Promise<void> {
    if (job.kind !== 'process') return;
    const actor = job.agent_id
      ? { type: 'agent' as const, id: job.agent_id, label: null }
      : { type: 'robot' as const, id: job.robot_id, label: null };
    await this.#audit.record(
      this.#db,
      { orgId: job.org_id, actor, meta },
      {
        action: 'status_changed',
        entityType: 'process_job',
        entityId: job.id,
        before: { status: from },
        after: { status: job.status, robot_id: job.robot_id, attempt: job.attempt, error: job.error },
      },
    );
  }

  async #claimPooled(agentId: string): Promise<AgentJob[]> {
    const waiting = await jobsRepo.pooledWaiting(this.#db, agentId, POOL_WINDOW);
    if (waiting.length === 0) return [];
    const agent = await agentsRepo.get(this.#db, waiting[0]!.org_id, agentId);
    if (!agent) return [];
    const member = {
      os_type: agent.os_type,
      interpreters: agent.interpreters,
      tags: agent.tags,
      group_id: agent.group_id,
    };
    const robots = waiting.some((job) => isRobotPool(job.pool))
      ? await this.#robots.idleOnAgent(agentId)
      : [];
    let seats = robots.length;
    const eligible = waiting
      .filter((job) => {
        const pool = job.pool ?? {};
        if (!isRobotPool(pool)) return inPool(member, pool, job.interpreter as Interpreter);
        // one pooled process job per idle robot of the pool
        if (seats === 0 || !robots.some((robot) => robotInPool(robot, pool))) return false;
        if (!inPool(member, {}, job.interpreter as Interpreter)) return false;
        seats -= 1;
        return true;
      })
      .map((job) => job.id);
    // Agents woken together see the same oldest jobs: each tries a random few of the oldest, and
    // once more among the rest for those others took first.
    const first = shuffled(eligible.slice(0, POOLED_PER_CLAIM * 4)).slice(0, POOLED_PER_CLAIM);
    // the idle robots left to seat, read once for the claim
    const idle = [...robots];
    const claimed = await this.#leasePooled(agentId, first, idle);
    if (claimed.length === POOLED_PER_CLAIM || claimed.length === eligible.length) return claimed;
    const rest = eligible.filter((id) => !first.includes(id));
    return [
      ...claimed,
      ...(await this.#leasePooled(agentId, rest.slice(0, POOLED_PER_CLAIM - claimed.length), idle)),
    ];
  }

  async #leasePooled(
    agentId: string,
    ids: readonly string[],
    idle: { id: string; pools: string[] }[],
  ): Promise<AgentJob[]> {
    const now = this.#clock.now();
    const leased = await jobsRepo.claimPooled(this.#db, {
      ids,
      agentId,
      now: now.toISOString(),
      leaseExpiresAt: new Date(now.getTime() + this.#leaseMs).toISOString(),
    });
    const seated: AgentJob[] = [];
    for (const job of leased) {
      const robotId = isRobotPool(job.pool) ? await this.#seatOnAgent(job, job.pool, idle) : null;
      seated.push(robotId ? { ...job, robot_id: robotId } : job);
    }
    return seated;
  }

  /** Seats one of the agent's idle robots of the pool on the job, and takes it off `idle`. */
  async #seatOnAgent(
    job: AgentJob,
    pool: RobotPool,
    idle: { id: string; pools: string[] }[],
  ): Promise<string | null> {
    for (const [i, robot] of idle.entries()) {
      if (!robotInPool(robot, pool)) continue;
      idle.splice(i, 1);
      if (!(await this.#robots.occupy(job.org_id, robot.id, job.id)))
        return this.#seatOnAgent(job, pool, idle);
      await jobsRepo.setRobot(this.#db, job.id, robot.id);
      return robot.id;
    }
    return null;
  }

  /**
   * The next process job for a runner robot (its own, or one of its pools'), leased to it; null
   * when none waits. One at a time: a runner runs one process.
   */
  async claimForRunner(robot: RobotRef & { org_id: string }, meta: RequestMeta): Promise<JobSpec | null> {
    const waiting = await jobsRepo.runnerWaiting(this.#db, robot, POOL_WINDOW);
    const now = this.#clock.now();
    for (const candidate of waiting) {
      if (candidate.pool !== null && !(isRobotPool(candidate.pool) && robotInPool(robot, candidate.pool)))
        continue;
      const job = await jobsRepo.claimForRunner(this.#db, {
        id: candidate.id,
        robotId: robot.id,
        now: now.toISOString(),
        leaseExpiresAt: new Date(now.getTime() + this.#leaseMs).toISOString(),
      });
      if (!job) continue;
      await this.#robots.occupy(job.org_id, robot.id, job.id);
      this.#publishState(job);
      const [spec] = await this.#specs([job], meta);
      return spec ?? null;
    }
    return null;
  }

  /** A runner robot's heartbeat keeps the leases of its jobs. */
  renewRunnerLeases(robotId: string): Promise<unknown> {
    return jobsRepo.renewRunnerLeases(
      this.#db,
      robotId,
      new Date(this.#clock.now().getTime() + this.#leaseMs).toISOString(),
    );
  }

  /** Applies one event of a runner robot's about a job it holds, as an agent's are applied. */
  async applyRunnerEvent(robotId: string, event: JobEvent, meta: RequestMeta): Promise<EventVerdict> {
    const job = await jobsRepo.getForRobot(this.#db, robotId, event.job_id);
    return this.#apply(job, event, meta);
  }

  /**
   * On reconnect, matches the server's leases to what the agent holds. Jobs leased but never
   * acknowledged, and not held, go back to the queue now rather than when their lease lapses;
   * acknowledged ones wait for their spooled result. Jobs the agent still holds that an expired
   * lease sent back to the queue (the server restarted, or the agent was cut off for longer than
   * a lease) are leased to it again with the same attempt, so they are not run a second time.
   */
  async reconcileHeld(agentId: string, heldIds: readonly string[]): Promise<void> {
    const now = this.#clock.now();
    const requeued = await jobsRepo.requeueUnheld(this.#db, agentId, heldIds, now.toISOString());
    const released = await jobsRepo.releaseHeld(this.#db, {
      agentId,
      heldIds,
      now: now.toISOString(),
      leaseExpiresAt: new Date(now.getTime() + this.#leaseMs).toISOString(),
    });
    for (const job of [...requeued, ...released]) this.#publishState(job);
    await this.#wakePools(requeued);
    await this.#requeuedProcessJobs(requeued);
  }

  pendingCancels(agentId: string): Promise<{ id: string }[]> {
    return jobsRepo.pendingCancels(this.#db, agentId);
  }

  renewLeases(agentIds: readonly string[]): Promise<unknown> {
    return jobsRepo.renewLeases(
      this.#db,
      agentIds,
      new Date(this.#clock.now().getTime() + this.#leaseMs).toISOString(),
    );
  }

  /**
   * Applies one event of an agent's; what came of it is the answer, never an exception, so both
   * transports tell the agent the same (see EventOutcome).
   */
  async applyEvent(agentId: string, event: JobEvent): Promise<EventVerdict> {
    const job =
      this.#recent.get(agentId, event.job_id) ??
      (await this.#batches.load.add({ agentId, id: event.job_id }));
    return this.#apply(job, event);
  }

  async #apply(job: JobRow | undefined, event: JobEvent, meta: RequestMeta = NO_META): Promise<EventVerdict> {
    if (!job) return { outcome: 'impossible', message: 'this agent has no such job' };
    // An agent reports only on deliveries it was handed: attempt 0 was never dispatched.
    if (event.attempt < 1 || event.attempt > job.attempt)
      return {
        outcome: 'impossible',
        message: `job was never dispatched to this agent as attempt ${event.attempt}`,
      };
    switch (event.type) {
      case 'ack':
        return this.#applyAck(job, event.attempt, meta);
      case 'output':
        return this.#applyOutput(job, event);
      case 'result':
        // As a signed 32-bit number, as Windows' %ERRORLEVEL% shows it and an integer column holds it.
        return this.#applyResult(job, meta, {
          ...event,
          exit_code: event.exit_code === null ? null : event.exit_code | 0,
        });
      default:
        return assertNever(event);
    }
  }

  /**
   * A node starting: while no node ran, no agent could renew a lease, and a started job whose
   * lease lapsed would end `lost` though its agent is still running it. Every live lease gets a
   * full lease more, counted from when the agents have had time to reconnect.
   */
  extendLeasesAtStart(): Promise<unknown> {
    const until = this.#clock.now().getTime() + AGENT_RECONNECT_MAX_MS + this.#leaseMs;
    return jobsRepo.extendLiveLeases(this.#db, new Date(until).toISOString());
  }

  /**
   * Jobs whose agent stopped renewing their lease, in two statements. One never started goes back
   * to the queue (its delivery was lost); one started ends `lost` and is never run again, unless
   * its max_attempts allows another attempt, since a command is not idempotent. A job with a
   * cancel pending ends `canceled`.
   */
  async sweepLeases(): Promise<number> {
    const now = this.#clock.now().toISOString();
    const requeued = await jobsRepo.requeueLapsed(this.#db, { now, extraDeliveries: EXTRA_DELIVERIES });
    const ended = await jobsRepo.endLapsed(this.#db, now);
    if (requeued.length + ended.length > 0)
      this.#logger.warn(
        {
          requeued: requeued.length,
          ended: ended.length,
          jobIds: [...requeued, ...ended].slice(0, 20).map((job) => job.id),
        },
        'job leases expired',
      );
    this.announce(requeued);
    await this.#wakePools(requeued);
    await this.#requeuedProcessJobs(requeued);
    for (const job of ended) await this.#finished(job, 'live');
    return requeued.length + ended.length;
  }

  /** Process jobs back in the queue free their robots, and the move is audited. */
  async #requeuedProcessJobs(jobs: readonly JobRow[]): Promise<void> {
    for (const job of jobs) {
      if (job.kind !== 'process') continue;
      if (job.robot_id) await this.#robots.release(job.org_id, job.robot_id, job.id);
      await this.#auditProcessMove(job, 'live');
    }
  }

  async enqueueUninstall(trx: Executor, scope: AuditScope, agent: Agent, reason: string): Promise<void> {
    const [job] = await this.prepare(
      agent.org_id,
      [{ ...agent, interpreters: [], os_type: 'linux' }],
      { interpreter: 'sh', command: '' },
      {
        runId: null,
        admitted: true,
        deadlineAt: null,
        createdBy: scope.actor.type === 'user' ? scope.actor.id : null,
      },
      trx,
    );
    if (!job) return;
    const uninstall: JobRow = {
      ...job,
      kind: 'agent_uninstall',
      env: { FLEETPLANE_UNINSTALL_REASON: reason },
      timeout_seconds: 60,
    };
    await jobsRepo.insert(trx, [uninstall]);
    await this.#audit.record(
      trx,
      { ...scope, orgId: agent.org_id },
      { action: 'created', entityType: 'job', entityId: uninstall.id, after: this.#auditView(uninstall) },
    );
  }

  /** A revived agent must not carry out the uninstall queued when it was deleted. */
  async cancelUninstalls(trx: Executor, agentId: string, now: string): Promise<void> {
    await jobsRepo.cancelLiveUninstalls(trx, agentId, now);
  }

  /**
   * A deleted agent was told so (`how`: a 410 answer, or its socket closed with 4410), which is
   * its order to uninstall: its uninstall job counts as delivered.
   */
  async markUninstallDelivered(agentId: string, how: string): Promise<void> {
    const now = this.#clock.now().toISOString();
    const pending = await jobsRepo.liveUninstalls(this.#db, agentId);
    for (const job of pending) {
      const changes = {
        finished_at: now,
        error: `delivered as ${how}`,
        lease_expires_at: null,
        updated_at: now,
      };
      if (await jobsRepo.transition(this.#db, job.id, 'succeeded', changes, job.status))
        await this.#finished({ ...job, ...changes, status: 'succeeded' });
    }
  }

  /** Keeps an agent's row for its next events; a runner robot's jobs are read each time. */
  #keep(job: JobRow): void {
    if (job.agent_id !== null) this.#recent.keep({ ...job, agent_id: job.agent_id });
  }

  async #applyAck(job: JobRow, attempt: number, meta: RequestMeta): Promise<EventVerdict> {
    if (job.status !== 'dispatched' || job.attempt !== attempt) return DUPLICATE;
    const now = this.#clock.now().toISOString();
    const changes = { started_at: now, updated_at: now };
    if (!(await this.#batches.move.add({ id: job.id, to: 'running', changes, seen: 'dispatched' }))) {
      this.#recent.drop(job.id);
      return DUPLICATE;
    }
    const running: JobRow = { ...job, ...changes, status: 'running' };
    this.#keep(running);
    await this.#auditProcessMove(running, 'dispatched', meta);
    this.#publishState(running);
    return APPLIED;
  }

  async #applyOutput(job: JobRow, event: Extract<JobEvent, { type: 'output' }>): Promise<EventVerdict> {
    // the agent replays output after a reconnect; once the result is in, it is a repeat
    if (isFinal(job.status)) return DUPLICATE;
    const remaining = job.output_cap_bytes - job.output_bytes;
    if (remaining <= 0) {
      // past the cap the chunk is taken and dropped, as the cap says
      if (!job.output_truncated) {
        await this.#batches.outputBytes.add({ id: job.id, bytes: 0, truncated: true });
        this.#keep({ ...job, output_truncated: true });
      }
      return APPLIED;
    }
    const bytes = Buffer.from(event.data, 'utf8');
    const truncated = bytes.length > remaining;
    // Cutting at a byte count may split a character; the replacement char marks the cut.
    const data = truncated ? bytes.subarray(0, remaining).toString('utf8') : event.data;
    // Two batched statements, not one transaction: should the node die between them, the count
    // misses this chunk and the cap lets one more chunk through, which is all it costs.
    const stored = await this.#batches.output.add({
      job_id: job.id,
      attempt: event.attempt,
      seq: event.seq,
      stream: event.stream,
      data,
      created_at: this.#clock.now().toISOString(),
    });
    if (!stored) return DUPLICATE;
    const counted = Math.min(bytes.length, remaining);
    await this.#batches.outputBytes.add({ id: job.id, bytes: counted, truncated });
    this.#keep({
      ...job,
      output_bytes: job.output_bytes + counted,
      output_truncated: truncated || job.output_truncated,
    });
    this.#bus.publish({
      type: 'job.output',
      org_id: job.org_id,
      job_id: job.id,
      attempt: event.attempt,
      seq: event.seq,
      stream: event.stream,
      data,
    });
    return APPLIED;
  }

  async #applyResult(
    job: JobRow,
    meta: RequestMeta,
    event: Extract<JobEvent, { type: 'result' }>,
  ): Promise<EventVerdict> {
    if (isFinal(job.status)) return this.#sameResult(job, event);
    const now = this.#clock.now().toISOString();
    const changes = {
      exit_code: event.exit_code,
      duration_ms: event.duration_ms,
      error: event.error ?? null,
      finished_at: now,
      started_at: job.started_at ?? now,
      lease_expires_at: null,
      updated_at: now,
      ...processResult(event.output),
    };
    // The work was done even if the lease lapsed meanwhile: the table takes a result from any live state.
    // ended either way: a repeat of the result reads the row
    this.#recent.drop(job.id);
    if (await this.#batches.move.add({ id: job.id, to: event.status, changes })) {
      await this.#finished({ ...job, ...changes, status: event.status }, job.status, meta);
      return APPLIED;
    }
    const current = job.agent_id
      ? await this.#batches.load.add({ agentId: job.agent_id, id: job.id })
      : await jobsRepo.getForRobot(this.#db, job.robot_id ?? '', job.id);
    return current ? this.#sameResult(current, event) : { outcome: 'impossible', message: 'job is gone' };
  }

  /** A result for a job that already ended: a repeat of its result, or a conflict with it. */
  #sameResult(job: JobRow, event: Extract<JobEvent, { type: 'result' }>): EventVerdict {
    if (job.status === event.status && job.exit_code === event.exit_code) return DUPLICATE;
    return {
      outcome: 'conflict',
      message: `job is already ${job.status}${job.exit_code === null ? '' : ` (exit ${job.exit_code})`}`,
    };
  }

  async #finished(job: JobRow, from?: string, meta: RequestMeta = NO_META): Promise<void> {
    this.#publishState(job);
    if (job.kind === 'process') {
      if (from !== undefined) await this.#auditProcessMove(job, from, meta);
      if (job.robot_id) await this.#robots.release(job.org_id, job.robot_id, job.id);
    }
    // its agent may take the pool's next job
    if (job.pool !== null && job.agent_id !== null)
      this.#bus.publish({
        type: 'agent.jobs_available',
        org_id: job.org_id,
        agent_ids: [job.agent_id],
        pooled: true,
      });
    for (const listener of this.#finalListeners) {
      try {
        await listener(job);
      } catch (error) {
        this.#logger.error({ err: error, jobId: job.id }, 'job final listener failed');
      }
    }
  }

  #publishState(
    job: Pick<JobRow, 'org_id' | 'id' | 'agent_id' | 'run_id' | 'status' | 'attempt' | 'exit_code'>,
  ): void {
    this.#bus.publish({
      type: 'job.state',
      org_id: job.org_id,
      job_id: job.id,
      agent_id: job.agent_id,
      run_id: job.run_id,
      status: job.status,
      attempt: job.attempt,
      exit_code: job.exit_code,
    });
  }

  /** What the agent runs: the job with its sealed environment values opened, `secret_env` merged in. */
  #spec(job: JobRow): JobSpec {
    const env = {
      ...job.env,
      ...job.secret_env,
    };
    return {
      job_id: job.id,
      attempt: job.attempt,
      kind: job.kind === 'agent_uninstall' ? 'agent_uninstall' : 'exec',
      interpreter: job.interpreter as Interpreter,
      command: job.command,
      env: Object.fromEntries(Object.entries(env).map(([key, value]) => [key, this.#box.reveal(value)])),
      cwd: job.cwd,
      timeout_seconds: job.timeout_seconds,
    };
  }

  #auditView(job: JobRow) {
    return {
      agent_id: job.agent_id,
      pool: job.pool,
      run_id: job.run_id,
      kind: job.kind,
      interpreter: job.interpreter,
      command: job.command,
      env: job.env,
      secret_env: job.secret_env,
      timeout_seconds: job.timeout_seconds,
    };
  }
}
