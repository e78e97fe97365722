import type { JobEvent, JobSpec } from '../../../protocol/agent.js';
import { isFinal, type Interpreter } from '../../../protocol/jobs.js';
import type { DialectCaps } from '../../db/database.js';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/crypto.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/logger.js';
import type { Page, PageParams } from '../../lib/pagination.js';
import { isSecretKey } from '../../lib/secrets.js';
import type { RequestContext } from '../access/context.js';
import { agentsRepo, type AgentRow } from '../agents/agents.repo.js';
import type { AuditLog, AuditScope } from '../audit/audit.service.js';
import type { SettingsService } from '../settings/settings.service.js';
import type { EventBus } from '../../realtime/events.js';
import { jobsRepo, type JobFilter, type JobRow, type OutputRow } from './jobs.repo.js';
import { resolveInterpreter } from './jobs.rules.js';

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
}

export interface JobPlacement {
  runId: string | null;
  /** False while a run holds the job back for its concurrency limit. */
  admitted: boolean;
  deadlineAt: string | null;
  createdBy: string | null;
}

type FinalListener = (job: JobRow) => Promise<void>;

function parseInterpreters(json: string): string[] {
  return JSON.parse(json) as string[];
}

/**
 * Jobs move queued → dispatched (leased to the agent) → running → a final state. The lease is
 * renewed by the agent's heartbeats; when it lapses the job is queued again until its attempts
 * run out, then it is `lost`. Results are applied once: a repeat is ignored, a contradiction is 409.
 */
export class JobsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #bus: EventBus;
  readonly #settings: SettingsService;
  readonly #caps: DialectCaps;
  readonly #leaseMs: number;
  readonly #logger: Logger;
  readonly #box: SecretBox;
  readonly #finalListeners: FinalListener[] = [];

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    bus: EventBus;
    settings: SettingsService;
    caps: DialectCaps;
    leaseMs: number;
    logger: Logger;
    box: SecretBox;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#bus = deps.bus;
    this.#settings = deps.settings;
    this.#caps = deps.caps;
    this.#leaseMs = deps.leaseMs;
    this.#logger = deps.logger;
    this.#box = deps.box;
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
    await inTransaction(this.#db, async (trx) => {
      await jobsRepo.insert(trx, [job]);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'job',
        entityId: job.id,
        after: this.#auditView(job),
      });
    });
    this.announce([job]);
    return job;
  }

  /** Builds job rows for agents, refusing (422) an interpreter or OS an agent cannot honour. */
  async prepare(
    orgId: string,
    agents: readonly Pick<AgentRow, 'id' | 'os_type' | 'interpreters'>[],
    input: JobInput,
    placement: JobPlacement,
    db: Executor = this.#db,
  ): Promise<JobRow[]> {
    const defaults = await this.#settings.read(orgId, 'jobs', db);
    const now = this.#clock.now().toISOString();
    const sealed = this.sealInput(input);
    const env = JSON.stringify(sealed.env ?? {});
    const secretEnv = JSON.stringify(sealed.secret_env ?? {});
    return agents.map((agent) => ({
      id: newId(),
      org_id: orgId,
      agent_id: agent.id,
      run_id: placement.runId,
      kind: 'exec',
      interpreter: resolveInterpreter(
        { os_type: agent.os_type, interpreters: parseInterpreters(agent.interpreters) },
        input.interpreter,
        input.target_os_type ?? null,
      ),
      command: input.command,
      script_id: input.script_id ?? null,
      script_version: input.script_version ?? null,
      env,
      secret_env: secretEnv,
      cwd: input.cwd ?? null,
      run_as: input.run_as ?? null,
      timeout_seconds: input.timeout_seconds ?? defaults.default_timeout_seconds,
      status: 'queued',
      admitted: placement.admitted ? 1 : 0,
      attempt: 0,
      max_attempts: defaults.max_attempts,
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
      output_truncated: 0,
      created_by: placement.createdBy,
      created_at: now,
      updated_at: now,
      task_index: null,
      task_name: null,
    }));
  }

  /** Tells whichever node holds each agent's socket that work waits; call after the commit. */
  announce(
    jobs: readonly Pick<
      JobRow,
      'org_id' | 'agent_id' | 'id' | 'run_id' | 'status' | 'attempt' | 'exit_code' | 'admitted'
    >[],
  ): void {
    const agents = new Map<string, string>();
    for (const job of jobs) {
      this.#publishState(job);
      if (job.admitted === 1) agents.set(job.agent_id, job.org_id);
    }
    for (const [agentId, orgId] of agents)
      this.#bus.publish({ type: 'agent.jobs_available', org_id: orgId, agent_id: agentId });
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

  /** Queued jobs end at once; leased ones are asked to stop and end when the agent says so. */
  async cancel(ctx: RequestContext, id: string): Promise<JobRow> {
    const now = this.#clock.now().toISOString();
    const job = await inTransaction(this.#db, async (trx) => {
      const before = await jobsRepo.get(trx, ctx.orgId, id);
      if (!before) throw notFound('job');
      if (isFinal(before.status)) throw new AppError('conflict', `job is already ${before.status}`);
      const changes =
        before.status === 'queued'
          ? { status: 'canceled', finished_at: now, error: 'canceled before it started', updated_at: now }
          : { cancel_requested_at: now, updated_at: now };
      if (!(await jobsRepo.transition(trx, id, [before.status], changes)))
        throw new AppError('conflict', 'job changed meanwhile; try again');
      const after = { ...before, ...changes };
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'job',
        entityId: id,
        before: { status: before.status },
        after: { status: after.status, cancel_requested: after.cancel_requested_at !== null },
      });
      return after;
    });
    if (job.status === 'canceled') await this.#finished(job);
    else
      this.#bus.publish({ type: 'job.cancel', org_id: job.org_id, agent_id: job.agent_id, job_id: job.id });
    return job;
  }

  /** Leases waiting jobs to an agent and returns what it must run. */
  async claim(agentId: string, limit = 100): Promise<JobSpec[]> {
    const now = this.#clock.now();
    const jobs = await inTransaction(this.#db, (trx) =>
      jobsRepo.claimForAgent(trx, {
        agentId,
        limit,
        now: now.toISOString(),
        leaseExpiresAt: new Date(now.getTime() + this.#leaseMs).toISOString(),
        skipLocked: this.#caps.skipLocked,
      }),
    );
    for (const job of jobs) this.#publishState(job);
    return jobs.map((job) => this.#spec(job));
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

  async applyEvent(agentId: string, event: JobEvent): Promise<void> {
    const job = await jobsRepo.getForAgent(this.#db, agentId, event.job_id);
    if (!job) throw notFound('job');
    // An agent reports only on deliveries it was handed: attempt 0 was never dispatched.
    if (event.attempt < 1 || event.attempt > job.attempt)
      throw new AppError('conflict', `job was never dispatched to this agent as attempt ${event.attempt}`);
    switch (event.type) {
      case 'ack':
        return this.#applyAck(job, event.attempt);
      case 'output':
        return this.#applyOutput(job, event);
      case 'result':
        // As a signed 32-bit number, as Windows' %ERRORLEVEL% shows it and an integer column holds it.
        return this.#applyResult(job, {
          ...event,
          exit_code: event.exit_code === null ? null : event.exit_code | 0,
        });
      default:
        throw new AppError('bad_request', 'unknown event');
    }
  }

  /** Jobs whose agent stopped renewing: queued again while attempts remain, else lost. */
  async sweepLeases(): Promise<number> {
    const now = this.#clock.now().toISOString();
    const expired = await jobsRepo.expiredLeases(this.#db, now, 500);
    for (const job of expired) {
      const lost =
        job.attempt >= job.max_attempts || job.cancel_requested_at !== null || job.kind === 'agent_uninstall';
      const changes = lost
        ? {
            status: job.cancel_requested_at ? 'canceled' : 'lost',
            finished_at: now,
            lease_expires_at: null,
            error: job.cancel_requested_at
              ? 'canceled; the agent did not confirm'
              : `agent stopped answering (attempt ${job.attempt} of ${job.max_attempts})`,
            updated_at: now,
          }
        : { status: 'queued', lease_expires_at: null, updated_at: now };
      if (!(await jobsRepo.transition(this.#db, job.id, ['dispatched', 'running'], changes))) continue;
      const after = { ...job, ...changes };
      this.#logger.warn({ jobId: job.id, agentId: job.agent_id, status: after.status }, 'job lease expired');
      if (lost) await this.#finished(after);
      else this.announce([after]);
    }
    return expired.length;
  }

  async enqueueUninstall(trx: Executor, scope: AuditScope, agent: AgentRow, reason: string): Promise<void> {
    const [job] = await this.prepare(
      agent.org_id,
      [{ ...agent, interpreters: '[]', os_type: 'linux' }],
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
      env: JSON.stringify({ FLEETPLANE_UNINSTALL_REASON: reason }),
      timeout_seconds: 60,
    };
    await jobsRepo.insert(trx, [uninstall]);
    await this.#audit.record(
      trx,
      { ...scope, orgId: agent.org_id },
      { action: 'created', entityType: 'job', entityId: uninstall.id, after: this.#auditView(uninstall) },
    );
  }

  /** A deleted agent was told with 410: its uninstall order counts as delivered. */
  async markUninstallDelivered(agentId: string): Promise<void> {
    const now = this.#clock.now().toISOString();
    const pending = await jobsRepo.liveUninstalls(this.#db, agentId);
    for (const job of pending) {
      const changes = {
        status: 'succeeded',
        finished_at: now,
        error: 'delivered as 410 Gone',
        lease_expires_at: null,
        updated_at: now,
      };
      if (await jobsRepo.transition(this.#db, job.id, [job.status], changes))
        await this.#finished({ ...job, ...changes });
    }
  }

  async #applyAck(job: JobRow, attempt: number): Promise<void> {
    if (job.status !== 'dispatched' || job.attempt !== attempt) return;
    const now = this.#clock.now().toISOString();
    const changes = { status: 'running', started_at: now, updated_at: now };
    if (await jobsRepo.transition(this.#db, job.id, ['dispatched'], changes))
      this.#publishState({ ...job, ...changes });
  }

  async #applyOutput(job: JobRow, event: Extract<JobEvent, { type: 'output' }>): Promise<void> {
    if (isFinal(job.status)) return;
    const remaining = job.output_cap_bytes - job.output_bytes;
    if (remaining <= 0) {
      if (job.output_truncated === 0) await jobsRepo.addOutputBytes(this.#db, job.id, 0, true);
      return;
    }
    const bytes = Buffer.from(event.data, 'utf8');
    const truncated = bytes.length > remaining;
    // Cutting at a byte count may split a character; the replacement char marks the cut.
    const data = truncated ? bytes.subarray(0, remaining).toString('utf8') : event.data;
    const stored = await inTransaction(this.#db, async (trx) => {
      const inserted = await jobsRepo.insertOutput(trx, {
        job_id: job.id,
        attempt: event.attempt,
        seq: event.seq,
        stream: event.stream,
        data,
        created_at: this.#clock.now().toISOString(),
      });
      if (inserted) await jobsRepo.addOutputBytes(trx, job.id, Math.min(bytes.length, remaining), truncated);
      return inserted;
    });
    if (stored) {
      this.#bus.publish({
        type: 'job.output',
        org_id: job.org_id,
        job_id: job.id,
        attempt: event.attempt,
        seq: event.seq,
        stream: event.stream,
        data,
      });
    }
  }

  async #applyResult(job: JobRow, event: Extract<JobEvent, { type: 'result' }>): Promise<void> {
    if (isFinal(job.status)) return this.#assertSameResult(job, event);
    const now = this.#clock.now().toISOString();
    const changes = {
      status: event.status,
      exit_code: event.exit_code,
      duration_ms: event.duration_ms,
      error: event.error ?? null,
      finished_at: now,
      started_at: job.started_at ?? now,
      lease_expires_at: null,
      updated_at: now,
    };
    // The work was done even if the lease lapsed meanwhile, so a result is taken from any live state.
    if (await jobsRepo.transition(this.#db, job.id, ['queued', 'dispatched', 'running'], changes)) {
      await this.#finished({ ...job, ...changes });
      return;
    }
    const current = await jobsRepo.getForAgent(this.#db, job.agent_id, job.id);
    if (current) this.#assertSameResult(current, event);
  }

  #assertSameResult(job: JobRow, event: Extract<JobEvent, { type: 'result' }>): void {
    if (job.status === event.status && job.exit_code === event.exit_code) return;
    throw new AppError(
      'conflict',
      `job is already ${job.status}${job.exit_code === null ? '' : ` (exit ${job.exit_code})`}`,
    );
  }

  async #finished(job: JobRow): Promise<void> {
    this.#publishState(job);
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
      ...(JSON.parse(job.env) as Record<string, string>),
      ...(JSON.parse(job.secret_env) as Record<string, string>),
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
      run_id: job.run_id,
      kind: job.kind,
      interpreter: job.interpreter,
      command: job.command,
      env: JSON.parse(job.env) as unknown,
      secret_env: JSON.parse(job.secret_env) as unknown,
      timeout_seconds: job.timeout_seconds,
    };
  }
}
