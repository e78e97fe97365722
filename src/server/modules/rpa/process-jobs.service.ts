import { AppError } from '../../lib/errors.js';
import type { Page, PageParams } from '../../lib/pagination.js';
import type { RequestContext } from '../access/context.js';
import type { ProcessRun, RobotRef } from '../execution/jobs.process.js';
import { isProcessLanguage, isRobotPool } from '../execution/jobs.process.js';
import type { JobFilter } from '../execution/jobs.repo.js';
import type { JobRow } from '../execution/jobs.rows.js';
import { HAND_SET, type JobsService } from '../execution/jobs.service.js';
import type { Logger } from '../../lib/logger.js';
import { systemContext } from './system-context.js';

/** What a process job needs of its process, resolved when the job is created. */
export interface ResolvedProcess {
  process: {
    id: string;
    name: string;
    version: number;
    timeout_seconds: number;
    max_attempts: number;
    robot_pool: string | null;
    assets: string[];
  };
  package: { id: string; name: string; version: string; hash: string };
  entry_point: { name: string; path: string; language: string };
  input: unknown;
}

/** The processes module, as process jobs see it. */
export interface ProcessCatalog {
  resolveForRun(orgId: string, processId: string, input?: Record<string, unknown>): Promise<ResolvedProcess>;
}

/** The robots module, as process jobs see it. */
export interface RobotDirectory {
  get(
    orgId: string,
    id: string,
  ): Promise<{ id: string; name: string; agent_id: string | null; pools: string[] }>;
}

export type ProcessJobView = ReturnType<typeof processJobView>;

export function processJobView(job: JobRow) {
  const run = JSON.parse(job.process ?? '{}') as ProcessRun;
  const pool = isRobotPool(job.pool) ? job.pool : null;
  return {
    id: job.id,
    process_id: run.process_id,
    process_name: run.process_name,
    process_version: run.process_version,
    package_id: run.package_id,
    package_name: run.package_name,
    package_version: run.package_version,
    package_hash: run.package_hash,
    entry_point: run.entry_point_name,
    input: run.input,
    queue_id: run.queue_id ?? null,
    retry_of: run.retry_of ?? null,
    retry_number: run.retry_number ?? 0,
    robot_id: job.robot_id,
    robot_pool: pool?.robot_pool ?? null,
    pooled: pool !== null,
    agent_id: job.agent_id,
    status: job.status,
    attempt: job.attempt,
    max_attempts: job.max_attempts,
    timeout_seconds: job.timeout_seconds,
    result: job.result === null ? null : (JSON.parse(job.result) as unknown),
    error: job.error,
    exit_code: job.exit_code,
    duration_ms: job.duration_ms,
    cancel_requested_at: job.cancel_requested_at,
    created_at: job.created_at,
    dispatched_at: job.dispatched_at,
    started_at: job.started_at,
    finished_at: job.finished_at,
  };
}

/**
 * Process jobs: a process resolved to its package version and checked input, placed on one robot
 * or on its robot pool, and handed to the execution engine as a job of kind `process`.
 */
export class ProcessJobsService {
  readonly #jobs: JobsService;
  readonly #processes: ProcessCatalog;
  readonly #robots: RobotDirectory;
  readonly #logger: Logger;

  constructor(deps: {
    jobs: JobsService;
    processes: ProcessCatalog;
    robots: RobotDirectory;
    logger: Logger;
  }) {
    this.#jobs = deps.jobs;
    this.#processes = deps.processes;
    this.#robots = deps.robots;
    this.#logger = deps.logger;
    this.#jobs.onFinal((job) => this.#retryIfDue(job));
  }

  /**
   * The process's retry policy: a job that failed or timed out is run again as a new job (same
   * process version, input and robot or pool) until the process's max_attempts jobs have run. A
   * job canceled, or ended by hand, is not.
   */
  async #retryIfDue(job: JobRow): Promise<void> {
    if (job.kind !== 'process' || (job.status !== 'failed' && job.status !== 'timed_out')) return;
    if (job.error?.startsWith(HAND_SET)) return;
    const run = JSON.parse(job.process ?? '{}') as ProcessRun;
    const number = (run.retry_number ?? 0) + 1;
    if (number >= job.max_attempts) return;
    const retry = await this.#jobs.createProcessJob(systemContext(job.org_id, 'process retry'), {
      run: { ...run, retry_of: run.retry_of ?? job.id, retry_number: number },
      target: isRobotPool(job.pool)
        ? { robot_pool: job.pool.robot_pool }
        : { robot: await this.#robotOf(job) },
      timeout_seconds: job.timeout_seconds,
      max_attempts: job.max_attempts,
      env: job.env,
    });
    this.#logger.info({ jobId: job.id, retryId: retry.id, retryNumber: number }, 'process job retried');
  }

  async #robotOf(job: JobRow): Promise<RobotRef> {
    if (!job.robot_id) throw new Error(`process job ${job.id} has neither a robot nor a pool`);
    return this.#robots.get(job.org_id, job.robot_id);
  }

  async create(
    ctx: RequestContext,
    input: { process_id: string; input?: Record<string, unknown>; robot_id?: string },
  ): Promise<ProcessJobView> {
    const resolved = await this.#processes.resolveForRun(ctx.orgId, input.process_id, input.input);
    const robot = input.robot_id ? await this.#robot(ctx.orgId, input.robot_id) : null;
    const pool = resolved.process.robot_pool;
    if (robot && pool !== null && !robot.pools.includes(pool))
      throw new AppError('unprocessable', `robot "${robot.name}" is not in the process's pool "${pool}"`, {
        details: [{ field: 'robot_id', message: `not in pool ${pool}` }],
      });
    const job = await this.#jobs.createProcessJob(ctx, {
      run: runOf(resolved),
      target: robot ? { robot } : { robot_pool: pool },
      timeout_seconds: resolved.process.timeout_seconds,
      max_attempts: resolved.process.max_attempts,
    });
    return processJobView(job);
  }

  /**
   * A job a queue's trigger starts: pooled, with the process's default input, and the queue it is
   * for in the run and in its environment (`FP_QUEUE_ID`), so the input schema stays the process's own.
   */
  async startForQueue(ctx: RequestContext, processId: string, queueId: string): Promise<ProcessJobView> {
    const resolved = await this.#processes.resolveForRun(ctx.orgId, processId);
    const job = await this.#jobs.createProcessJob(ctx, {
      run: { ...runOf(resolved), queue_id: queueId },
      target: { robot_pool: resolved.process.robot_pool },
      timeout_seconds: resolved.process.timeout_seconds,
      max_attempts: resolved.process.max_attempts,
      env: { FP_QUEUE_ID: queueId },
    });
    return processJobView(job);
  }

  async list(
    orgId: string,
    filter: Omit<JobFilter, 'kind'>,
    page: PageParams,
  ): Promise<Page<ProcessJobView>> {
    const jobs = await this.#jobs.list(orgId, { ...filter, kind: 'process' }, page);
    return { items: jobs.items.map(processJobView), next_cursor: jobs.next_cursor };
  }

  async get(orgId: string, id: string): Promise<ProcessJobView> {
    return processJobView(await this.#jobs.getProcessJob(orgId, id));
  }

  async cancel(ctx: RequestContext, id: string): Promise<ProcessJobView> {
    await this.#jobs.getProcessJob(ctx.orgId, id);
    return processJobView(await this.#jobs.cancel(ctx, id));
  }

  async reassign(
    ctx: RequestContext,
    id: string,
    to: { robot_id?: string; robot_pool?: string | null },
  ): Promise<ProcessJobView> {
    if ((to.robot_id === undefined) === (to.robot_pool === undefined))
      throw new AppError('unprocessable', 'give either robot_id or robot_pool', {
        details: [{ field: 'robot_id', message: 'one of robot_id and robot_pool' }],
      });
    const target = to.robot_id
      ? { robot: await this.#robot(ctx.orgId, to.robot_id) }
      : { robot_pool: to.robot_pool ?? null };
    return processJobView(await this.#jobs.reassignProcessJob(ctx, id, target));
  }

  async setStatus(
    ctx: RequestContext,
    id: string,
    input: { status: 'succeeded' | 'failed' | 'canceled'; reason: string },
  ): Promise<ProcessJobView> {
    return processJobView(await this.#jobs.settleProcessJob(ctx, id, input));
  }

  /** A robot of the organisation; another's is 422 on the field that named it. */
  async #robot(orgId: string, id: string): Promise<RobotRef> {
    try {
      return await this.#robots.get(orgId, id);
    } catch (error) {
      if (error instanceof AppError && error.code === 'not_found')
        throw new AppError('unprocessable', 'robot not found', {
          details: [{ field: 'robot_id', message: 'not found' }],
        });
      throw error;
    }
  }
}

function runOf(resolved: ResolvedProcess): ProcessRun {
  const { language } = resolved.entry_point;
  if (!isProcessLanguage(language))
    throw new AppError('unprocessable', `entry point language ${language} cannot be run`, {
      details: [{ field: 'process_id', message: `its entry point's language is ${language}` }],
    });
  return {
    process_id: resolved.process.id,
    process_name: resolved.process.name,
    process_version: resolved.process.version,
    package_id: resolved.package.id,
    package_name: resolved.package.name,
    package_version: resolved.package.version,
    package_hash: resolved.package.hash,
    entry_point_name: resolved.entry_point.name,
    entry_point: resolved.entry_point.path,
    language,
    input: resolved.input,
    assets: resolved.process.assets,
  };
}
