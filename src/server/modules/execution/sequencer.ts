import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/logger.js';
import { agentsRepo } from '../agents/agents.repo.js';
import { jobsRepo } from './jobs.repo.js';
import type { JobRow } from './jobs.rows.js';
import type { JobsService } from './jobs.service.js';
import { runsRepo, type RunRow } from './runs.repo.js';
import { isParallelPlan, jobForAgent, stepsOf, type PlanStep } from './plan.js';
import { withStep } from './runs.launch.js';

/** The statuses a run's failure threshold counts (as RunsService does). */
const FAILED = ['failed', 'timed_out', 'lost'];

const ended: Record<string, string> = {
  failed: 'failed',
  timed_out: 'timed out',
  lost: 'was lost',
  canceled: 'was canceled',
};

/**
 * Walks each agent of a run through its plan's steps (a profile's tasks), one job at a time. A run
 * starts with the first step's job per agent, held for admission like any run's jobs. When a task's job ends,
 * RunsService calls `followUp` before it settles the run:
 *
 * - succeeded, or failed with `continue_on_error`, and the run still running → the next task's
 *   job is queued already admitted, so the agent keeps its slot (held instead if a concurrent
 *   admission took the slot meanwhile: the run's concurrency limit is never exceeded);
 * - otherwise → the agent's remaining tasks are recorded as `canceled` jobs saying why, so the
 *   run shows every task of every agent.
 *
 * The run row is locked while this decides (PostgreSQL; SQLite serialises writers), so a cancel,
 * a threshold stop or an admission pass cannot interleave with it. One race is left by design of
 * the hook (the job is final before this runs): another job's result may settle the run as
 * finished in between; the run is then reopened here, since an agent still had tasks to run. A unique (run, agent, task)
 * index refuses a task queued twice. Failures are logged, never thrown: the run still settles.
 */
export class StepSequencer {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #jobs: JobsService;
  readonly #logger: Logger;

  constructor(deps: { db: Executor; clock: Clock; jobs: JobsService; logger: Logger }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#jobs = deps.jobs;
    this.#logger = deps.logger;
  }

  async followUp(job: JobRow): Promise<void> {
    if (job.task_index === null || job.run_id === null) return;
    const runId = job.run_id;
    const taskIndex = job.task_index;
    try {
      const rows = await inTransaction(this.#db, (trx) => this.#next(trx, runId, taskIndex, job));
      this.#jobs.announce(rows);
    } catch (error) {
      this.#logger.error({ err: error, jobId: job.id, runId }, 'run could not queue the next step');
    }
  }

  async #next(trx: Executor, runId: string, index: number, job: JobRow): Promise<JobRow[]> {
    const run = await runsRepo.lock(trx, runId);
    // a parallel plan started every step at once: nothing follows
    if (!run || isParallelPlan(run.spec)) return [];
    const steps = stepsOf(run.spec);
    const done = steps[index];
    const [next, ...after] = steps.slice(index + 1);
    if (!done || !next) return [];
    const now = this.#clock.now();
    // a run's jobs are each for an agent
    if (job.agent_id === null) return [];
    const agent = await agentsRepo.get(trx, job.org_id, job.agent_id);
    const osType = agent?.os_type ?? 'other';
    const skip = (steps: PlanStep[], why: string) => steps.map((s) => skipped(job, s, osType, why, now));

    let rows: JobRow[];
    if (await isStopped(trx, run)) rows = skip([next, ...after], `skipped: the run is ${run.status}`);
    else if (job.status !== 'succeeded' && !done.continue_on_error)
      rows = skip([next, ...after], `skipped: task "${done.name}" ${ended[job.status] ?? job.status}`);
    else if (!agent) rows = skip([next, ...after], 'skipped: the agent was deleted');
    else if (!(await reopen(trx, run, now)))
      rows = skip([next, ...after], `skipped: the run is ${run.status}`);
    else {
      const admitted = (await runsRepo.countActiveAdmitted(trx, runId)) < run.concurrency;
      try {
        const [queued] = await this.#jobs.prepare(
          job.org_id,
          [agent],
          jobForAgent(next, agent.os_type),
          { runId, admitted, deadlineAt: deadlineFrom(run, now), createdBy: job.created_by },
          trx,
        );
        rows = queued ? [withStep(queued, next)] : [];
      } catch (error) {
        // The agent changed since the run began: another OS, or an interpreter gone.
        if (!(error instanceof AppError)) throw error;
        rows = [
          { ...skipped(job, next, osType, `could not start: ${error.message}`, now), status: 'failed' },
          ...skip(after, `skipped: task "${next.name}" could not start`),
        ];
      }
    }
    await jobsRepo.insert(trx, rows);
    return rows;
  }
}

/**
 * Canceled, or stopped at its failure threshold (status `failed` before or after it finished). A
 * run that finished otherwise while an agent was between two tasks is not stopped: it goes on.
 */
async function isStopped(trx: Executor, run: RunRow): Promise<boolean> {
  if (run.status === 'running') return false;
  if (run.status === 'canceled' || run.finished_at === null) return true;
  if (run.failure_threshold === null) return false;
  const counts = await jobsRepo.countByStatus(trx, run.id);
  return FAILED.reduce((sum, s) => sum + (counts[s] ?? 0), 0) >= run.failure_threshold;
}

/**
 * Another job's result may have settled the run between this job's end and now, while this agent
 * still had tasks to run: the run was not done, so it goes on (`runTransitions` allows a settled
 * run back to running). False when the table refuses it.
 */
async function reopen(trx: Executor, run: RunRow, now: Date): Promise<boolean> {
  if (run.status === 'running') return true;
  return runsRepo.transition(trx, run.id, 'running', { finished_at: null, updated_at: now.toISOString() });
}

/**
 * The next task gets as long to be picked up as the first one had: the run's deadline is about
 * offline agents, and an agent midway (rebooting, say) must not lose its remaining tasks to it.
 */
function deadlineFrom(run: RunRow, now: Date): string | null {
  if (run.deadline_at === null) return null;
  const window = Date.parse(run.deadline_at) - Date.parse(run.created_at);
  return new Date(now.getTime() + Math.max(window, 0)).toISOString();
}

/** A task that will not run, recorded as a final job so the run lists it with the reason. */
function skipped(template: JobRow, step: PlanStep, osType: string, error: string, now: Date): JobRow {
  const input = jobForAgent(step, osType);
  const at = now.toISOString();
  return {
    ...template,
    id: newId(),
    interpreter: input.interpreter,
    command: input.command,
    env: input.env ?? {},
    // Sealed as the run's plan keeps them; never the template job's own.
    secret_env: input.secret_env ?? {},
    script_id: input.script_id ?? null,
    script_version: input.script_version ?? null,
    timeout_seconds: input.timeout_seconds ?? template.timeout_seconds,
    status: 'canceled',
    admitted: false,
    attempt: 0,
    lease_expires_at: null,
    cancel_requested_at: null,
    deadline_at: null,
    dispatched_at: null,
    started_at: null,
    finished_at: at,
    exit_code: null,
    duration_ms: null,
    error,
    output_bytes: 0,
    output_truncated: false,
    created_at: at,
    updated_at: at,
    task_index: step.index,
    task_name: step.name,
  };
}
