import type { Executor } from '../../db/executor.js';
import { AppError, type ErrorDetail } from '../../lib/errors.js';
import type { TargetAgent, TargetSelector } from '../agents/agents.repo.js';
import type { AuditScope } from '../audit/audit.service.js';
import type { JobRow } from './jobs.rows.js';
import type { JobInput, JobPlacement, JobsService } from './jobs.service.js';
import {
  familyOf,
  isParallelPlan,
  isPlanDocument,
  jobForAgent,
  stepsOf,
  type PlanDocument,
  type PlanStep,
} from './plan.js';

/** Problems reported per agent at most: a run over ten thousand agents must not answer a megabyte. */
const MAX_DETAILS = 50;

/** How a run begins; see RunsService.launch. */
export interface RunLaunch {
  orgId: string;
  scope: AuditScope;
  createdBy: string | null;
  source: string;
  name: string;
  target: TargetSelector;
  /** A command run's job, or a plan of steps. */
  spec: JobInput | PlanDocument;
  options: { concurrency?: number; failure_threshold?: number; deadline_seconds?: number };
  /** Shown in the run's audit event beside its name, source, target and size. */
  audit: Record<string, unknown>;
  /** The caller's own rule about the selected agents (a profile's OS); throws to refuse. */
  assertAgents?: (agents: readonly TargetAgent[]) => void;
  /** Written in the run's transaction. */
  alsoInTransaction?: (trx: Executor, agents: readonly TargetAgent[]) => Promise<void>;
}

/** The spec with its secret values sealed, as runs store it. */
export function sealSpec(
  spec: JobInput | PlanDocument,
  seal: (job: JobInput) => JobInput,
): JobInput | PlanDocument {
  if (!('tasks' in spec)) return seal(spec);
  const tasks = spec.tasks.map((step): PlanStep => {
    if ('job' in step) return { ...step, job: seal(step.job) };
    return { ...step, by_os: { posix: seal(step.by_os.posix), windows: seal(step.by_os.windows) } };
  });
  return { ...spec, tasks };
}

/** Agents grouped by OS family: what a step runs depends on it, and nothing else does. */
function byFamily<T extends Pick<TargetAgent, 'os_type'>>(agents: readonly T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const agent of agents) {
    const family = familyOf(agent.os_type);
    const group = groups.get(family);
    if (group) group.push(agent);
    else groups.set(family, [agent]);
  }
  return [...groups.values()];
}

/**
 * The first step's job per agent (every step's, for a parallel plan), held for admission. Every
 * later step is prepared too, once per kind of agent, and thrown away: an interpreter an agent
 * lacks is a 422 now, not a failure midway.
 */
export async function firstJobs(
  jobs: JobsService,
  orgId: string,
  spec: unknown,
  agents: readonly TargetAgent[],
  placement: JobPlacement,
): Promise<JobRow[]> {
  const steps = stepsOf(spec);
  // a plan's steps (profiles' tasks, in order) or a run's commands (all at once) say which each job is
  const numbered = isPlanDocument(spec);
  const parallel = isParallelPlan(spec);
  const field = parallel ? 'commands' : 'tasks';
  const kinds = [...new Map(agents.map((a) => [`${a.os_type}\n${a.interpreters.join(' ')}`, a])).values()];
  const details: ErrorDetail[] = [];
  const first: JobRow[] = [];
  for (const step of steps) {
    const starts = parallel || step.index === 0;
    for (const group of byFamily(starts ? agents : kinds)) {
      const os = group[0]?.os_type ?? 'other';
      try {
        const rows = await jobs.prepare(orgId, group, jobForAgent(step, os), placement);
        if (starts) first.push(...rows.map((r) => (numbered ? withStep(r, step) : r)));
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        if (!numbered) throw error;
        details.push({
          field: `${field}.${step.index}`,
          message: error.message,
          task: step.name,
          os_type: os,
        });
      }
    }
  }
  if (details.length > 0)
    throw new AppError('unprocessable', `some ${field} cannot run on the target agents`, {
      details: details.slice(0, MAX_DETAILS),
    });
  return first;
}

/** A job of a plan records which step it is. */
export function withStep(job: JobRow, step: PlanStep): JobRow {
  return { ...job, task_index: step.index, task_name: step.name };
}
