import type { RunStatus } from '../../../protocol/jobs.js';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/logger.js';
import type { Page, PageParams } from '../../lib/pagination.js';
import { maskSecrets } from '../../lib/secrets.js';
import type { EventBus } from '../../realtime/events.js';
import type { RequestContext } from '../access/context.js';
import { agentsRepo, type TargetSelector } from '../agents/agents.repo.js';
import type { AuditLog } from '../audit/audit.service.js';
import { jobsRepo } from './jobs.repo.js';
import type { JobRow } from './jobs.rows.js';
import type { PlanDocument } from './plan.js';
import { firstJobs, sealSpec, type RunLaunch } from './runs.launch.js';
import type { JobInput, JobsService } from './jobs.service.js';
import { runsRepo, type AdmittedJob, type RunRow } from './runs.repo.js';

/** One of several commands a run starts at once on each agent. */
export interface RunCommand {
  name?: string;
  interpreter: JobInput['interpreter'];
  command: string;
  timeout_seconds?: number;
}

/** The longest step name a command gets from its own text. */
const COMMAND_NAME_MAX = 200;

/**
 * Several commands as a parallel plan: one step each, all started at once on every agent, so the
 * run's jobs are agents × commands and each job names its command (task_index, task_name).
 */
function commandsPlan(commands: readonly RunCommand[]): PlanDocument {
  return {
    parallel: true,
    tasks: commands.map(({ name, ...job }, index) => ({
      index,
      name: name ?? job.command.split('\n')[0]?.trim().slice(0, COMMAND_NAME_MAX) ?? '',
      // read by no one: in a parallel plan no step follows another
      continue_on_error: true,
      job,
    })),
  };
}

export interface RunInput {
  name?: string;
  source?: string;
  target: TargetSelector;
  /** One command, or `commands`: exactly one of the two. */
  job?: JobInput;
  commands?: RunCommand[];
  concurrency?: number;
  failure_threshold?: number;
  deadline_seconds?: number;
}

export interface RunView extends Omit<RunRow, 'org_id' | 'target' | 'spec'> {
  target: TargetSelector;
  spec: JobInput;
  counts: Record<string, number>;
}

const FAILED = ['failed', 'timed_out', 'lost'];

/**
 * Passes over one run are at least this far apart once results pour in: each pass counts the
 * run's jobs, so ten thousand results arriving together cost a pass per pause, not one each.
 */
const SETTLE_PAUSE_MS = 25;

/** A run being settled: a pass under way, or the pause after one. */
interface Settling {
  /** Another pass was asked for since the last one began. */
  again: boolean;
  /** Ends the pause at once (on stop). */
  wake: () => void;
  /** Settles when no further pass is wanted. */
  done: Promise<void>;
}

function countsOf(byStatus: Record<string, number>): Record<string, number> {
  const counts: Record<string, number> = {
    total: 0,
    queued: 0,
    dispatched: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    timed_out: 0,
    canceled: 0,
    lost: 0,
  };
  for (const [status, n] of Object.entries(byStatus)) {
    counts[status] = n;
    counts.total = (counts.total ?? 0) + n;
  }
  return counts;
}

/**
 * A run fans one job out to a target set. States: running → succeeded | failed | canceled.
 * Jobs are held back (not admitted) and admitted as slots free up, up to `concurrency`, and only
 * for agents that are online, so an offline agent waits until the run's deadline without taking
 * a slot. Once failures reach `failure_threshold` the jobs not yet started are canceled.
 */
export class RunsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #bus: EventBus;
  readonly #jobs: JobsService;
  readonly #logger: Logger;
  readonly #followUp: ((job: JobRow) => Promise<void>) | undefined;
  readonly #settling = new Map<string, Settling>();
  #stopping = false;
  #unsubscribe: (() => void) | undefined;
  #unsubscribeResume: (() => void) | undefined;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    bus: EventBus;
    jobs: JobsService;
    logger: Logger;
    /** Called when one of a run's jobs ends, before the run is settled (profile runs queue their next task). */
    followUp?: (job: JobRow) => Promise<void>;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#bus = deps.bus;
    this.#jobs = deps.jobs;
    this.#logger = deps.logger;
    this.#followUp = deps.followUp;
    this.#jobs.onFinal(async (job) => {
      if (!job.run_id) return;
      await this.#followUp?.(job);
      await this.settle(job.run_id);
    });
  }

  /** Agents coming online may unblock held jobs. */
  start(): void {
    this.#unsubscribe = this.#bus.subscribe((event) => {
      if (event.type !== 'agent.status' || event.status !== 'online') return;
      void this.#admitForAgent(event.agent_id).catch((error: unknown) =>
        this.#logger.error({ err: error }, 'run admission failed'),
      );
    });
    // While the bus was deaf (the database went away) a job's end or an agent coming online may
    // have gone unheard, or its settle failed: every running run is settled again.
    this.#unsubscribeResume = this.#bus.onResume(() => {
      void this.#settleRunning().catch((error: unknown) =>
        this.#logger.error({ err: error }, 'settling the running runs failed'),
      );
    });
  }

  /** Runs the passes still wanted without their pause, and waits for them. */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribeResume?.();
    this.#stopping = true;
    const pending = [...this.#settling.values()];
    for (const state of pending) state.wake();
    await Promise.all(pending.map((state) => state.done));
  }

  async create(ctx: RequestContext, input: RunInput): Promise<RunView> {
    const { job, commands } = input;
    if ((job === undefined) === (commands === undefined))
      throw new AppError('unprocessable', 'a run takes either job or commands', {
        details: [{ field: job ? 'commands' : 'job', message: 'give exactly one of job and commands' }],
      });
    const runId = await this.launch({
      orgId: ctx.orgId,
      scope: ctx,
      createdBy: ctx.userId,
      source: input.source ?? 'command',
      name: input.name ?? '',
      target: input.target,
      spec: job ?? commandsPlan(commands ?? []),
      options: input,
      audit: job ? { spec: job } : { commands },
    });
    return this.get(ctx.orgId, runId);
  }

  /**
   * Starts a run of a plan over the agents a selector picks: the one way runs begin. Every step
   * is checked against every kind of agent first (an interpreter an agent lacks is a 422 now, not
   * a failure midway); then the run and each agent's first job are written in one transaction,
   * held for admission, and the run is settled. Answers the run's id.
   */
  async launch(input: RunLaunch): Promise<string> {
    const { orgId } = input;
    const agents = await agentsRepo.selectTargets(this.#db, orgId, input.target);
    if (agents.length === 0)
      throw new AppError('unprocessable', 'the target selects no agents', {
        details: [{ field: 'target', message: 'no agents' }],
      });
    input.assertAgents?.(agents);
    const now = this.#clock.now();
    const spec = sealSpec(input.spec, (job) => this.#jobs.sealInput(job));
    const run: RunRow = {
      id: newId(),
      org_id: orgId,
      name: input.name,
      source: input.source,
      target: input.target,
      spec,
      concurrency: input.options.concurrency ?? 50,
      failure_threshold: input.options.failure_threshold ?? null,
      status: 'running',
      deadline_at: new Date(now.getTime() + (input.options.deadline_seconds ?? 3600) * 1000).toISOString(),
      created_by: input.createdBy,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
      finished_at: null,
    };
    const placement = {
      runId: run.id,
      admitted: false,
      deadlineAt: run.deadline_at,
      createdBy: input.createdBy,
    };
    const jobs = await firstJobs(this.#jobs, orgId, spec, agents, placement);
    await inTransaction(this.#db, async (trx) => {
      await runsRepo.insert(trx, run);
      await jobsRepo.insert(trx, jobs);
      await this.#audit.record(trx, input.scope, {
        action: 'created',
        entityType: 'run',
        entityId: run.id,
        after: {
          name: run.name,
          source: run.source,
          target: input.target,
          ...input.audit,
          agents: agents.length,
          concurrency: run.concurrency,
        },
      });
      await input.alsoInTransaction?.(trx, agents);
    });
    await this.settle(run.id);
    return run.id;
  }

  async get(orgId: string, id: string): Promise<RunView> {
    const run = await runsRepo.get(this.#db, orgId, id);
    if (!run) throw notFound('run');
    return this.#view(run, countsOf(await jobsRepo.countByStatus(this.#db, id)));
  }

  async list(orgId: string, filter: { status?: RunStatus }, page: PageParams): Promise<Page<RunView>> {
    const runs = await runsRepo.list(this.#db, orgId, filter, page);
    const counts = await jobsRepo.countByStatusOfRuns(
      this.#db,
      runs.items.map((run) => run.id),
    );
    const items = runs.items.map((run) => this.#view(run, countsOf(counts.get(run.id) ?? {})));
    return { items, next_cursor: runs.next_cursor };
  }

  /** Cancels what has not finished: queued jobs end now, leased ones are told to stop. */
  async cancel(ctx: RequestContext, id: string): Promise<RunView> {
    const now = this.#clock.now().toISOString();
    const run = await runsRepo.get(this.#db, ctx.orgId, id);
    if (!run) throw notFound('run');
    if (run.status !== 'running') throw new AppError('conflict', `run is already ${run.status}`);
    const canceled = await inTransaction(this.#db, async (trx) => {
      if (!(await runsRepo.transition(trx, id, 'canceled', { updated_at: now })))
        throw new AppError('conflict', 'run changed meanwhile; try again');
      const jobs = await runsRepo.cancelQueued(trx, id, 'run canceled', now);
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'run',
        entityId: id,
        before: { status: run.status },
        after: { status: 'canceled' },
      });
      return jobs;
    });
    this.#jobs.announce(canceled);
    for (const job of await runsRepo.leasedJobs(this.#db, id)) {
      await this.#jobs.cancel(ctx, job.id).catch((error: unknown) => {
        if (!(error instanceof AppError && error.code === 'conflict')) throw error;
      });
    }
    await this.settle(id);
    return this.get(ctx.orgId, id);
  }

  /** Jobs whose agents stayed offline past the run's deadline end as canceled. */
  async sweepDeadlines(): Promise<void> {
    const now = this.#clock.now().toISOString();
    const jobs = await runsRepo.cancelPastDeadline(
      this.#db,
      'the agent was not online before the run deadline',
      now,
    );
    this.#jobs.announce(jobs);
    const runIds = new Set(jobs.flatMap((job) => (job.run_id === null ? [] : [job.run_id])));
    for (const runId of runIds) await this.settle(runId);
  }

  /**
   * Recounts a run, stops it at its failure threshold, admits jobs into free slots and closes
   * it when nothing is left. A call runs a pass at once and resolves after it; calls arriving
   * during that pass or the pause after it fold into one more pass once the pause is over.
   */
  settle(runId: string): Promise<void> {
    const current = this.#settling.get(runId);
    if (current) {
      current.again = true;
      return Promise.resolve();
    }
    const state: Settling = { again: false, wake: () => undefined, done: Promise.resolve() };
    this.#settling.set(runId, state);
    const pass = this.#settleOnce(runId);
    state.done = pass.then(
      () => this.#settleFolded(runId, state),
      () => {
        this.#settling.delete(runId);
      },
    );
    return pass;
  }

  async #settleFolded(runId: string, state: Settling): Promise<void> {
    try {
      for (;;) {
        if (!this.#stopping) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, SETTLE_PAUSE_MS);
            state.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
        if (!state.again) return;
        state.again = false;
        await this.#settleOnce(runId);
      }
    } catch (error) {
      this.#logger.error({ err: error, runId }, 'run settle failed');
    } finally {
      this.#settling.delete(runId);
    }
  }

  async #settleOnce(runId: string): Promise<void> {
    const now = this.#clock.now().toISOString();
    const { run, admitted, canceled } = await inTransaction(this.#db, async (trx) => {
      const run = await runsRepo.lock(trx, runId);
      if (!run) return { run: undefined, admitted: [] as AdmittedJob[], canceled: [] as JobRow[] };
      let canceled: JobRow[] = [];
      if (run.status === 'running' && run.failure_threshold !== null) {
        const counts = await jobsRepo.countByStatus(trx, runId);
        const failures = FAILED.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
        if (failures >= run.failure_threshold) {
          canceled = await runsRepo.cancelQueued(
            trx,
            runId,
            `run stopped: ${failures} failures reached the threshold`,
            now,
          );
          if (await runsRepo.transition(trx, runId, 'failed', { updated_at: now })) run.status = 'failed';
        }
      }
      let admitted: AdmittedJob[] = [];
      if (run.status === 'running') {
        const free = run.concurrency - (await runsRepo.countActiveAdmitted(trx, runId));
        if (free > 0) admitted = await runsRepo.admit(trx, runId, free, now);
      }
      return { run, admitted, canceled };
    });
    if (!run) return;
    this.#jobs.announce([...canceled, ...admitted]);
    const counts = countsOf(await jobsRepo.countByStatus(this.#db, runId));
    const active = (counts.queued ?? 0) + (counts.dispatched ?? 0) + (counts.running ?? 0);
    let status = run.status;
    if (active === 0 && run.finished_at === null) {
      if (run.status === 'running') {
        status =
          FAILED.some((s) => (counts[s] ?? 0) > 0) || (counts.canceled ?? 0) > 0 ? 'failed' : 'succeeded';
        // Canceled meanwhile: the cancel settles the run again, and that pass finishes it.
        if (!(await runsRepo.transition(this.#db, runId, status, { finished_at: now, updated_at: now })))
          return;
      } else await runsRepo.markFinished(this.#db, runId, now);
    }
    this.#bus.publish({ type: 'run.progress', org_id: run.org_id, run_id: runId, status, counts });
  }

  async #settleRunning(): Promise<void> {
    for (const { id } of await runsRepo.running(this.#db)) await this.settle(id);
  }

  async #admitForAgent(agentId: string): Promise<void> {
    for (const { run_id } of await runsRepo.runsWaitingForAgent(this.#db, agentId))
      if (run_id) await this.settle(run_id);
  }

  #view(run: RunRow, counts: Record<string, number>): RunView {
    const { org_id: _org, target, spec, ...rest } = run;
    return {
      ...rest,
      target,
      // The spec's env may hold secrets (script parameters): shown masked, like a job's env.
      spec: maskSecrets(spec) as JobInput,
      counts,
    };
  }
}
