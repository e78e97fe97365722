import { isWindows } from '../../../protocol/jobs.js';
import type { JobInput } from './jobs.service.js';

/**
 * What a run runs: for every target agent, the same ordered steps, one job each. A command or a
 * script is a plan of one step; a profile is one step per task. Other modules compile what they
 * run into a plan and hand it to RunsService.start; only this module turns steps into jobs.
 */

/** The job of a step, the same on every OS or one per OS family (a reboot is not typed alike). */
export type StepJob = { job: JobInput } | { by_os: Record<OsFamily, JobInput> };

export type OsFamily = 'posix' | 'windows';

export type PlanStep = StepJob & {
  index: number;
  name: string;
  /** Later steps still run when this one fails (the run still counts the failure). */
  continue_on_error: boolean;
};

/**
 * A run's stored plan (its `spec`): `steps`, and whatever the compiling module wants shown with
 * the run (a profile's id and name). A one-step plan is stored as its job input alone, as runs of
 * a command have always been shown.
 */
export type PlanDocument = Record<string, unknown> & {
  tasks: PlanStep[];
  /** Every step starts at once on each agent (a run of several commands), not one after another. */
  parallel?: boolean;
};

export function familyOf(osType: string): OsFamily {
  return isWindows(osType) ? 'windows' : 'posix';
}

/** What a step's job runs on an agent of this OS. */
export function jobForAgent(step: StepJob, osType: string): JobInput {
  return 'job' in step ? step.job : step.by_os[familyOf(osType)];
}

/** The steps of a stored spec: a plan's tasks, or the one job of a command run. */
export function stepsOf(spec: unknown): PlanStep[] {
  if (isPlanDocument(spec)) return spec.tasks;
  return [{ index: 0, name: '', continue_on_error: false, job: spec as JobInput }];
}

/** A plan whose steps all start at once: no step waits for another, so none follows up. */
export function isParallelPlan(spec: unknown): boolean {
  return isPlanDocument(spec) && spec.parallel === true;
}

/** A stored spec that is a plan (tasks), not the one job of a command run. */
export function isPlanDocument(spec: unknown): spec is PlanDocument {
  return typeof spec === 'object' && spec !== null && Array.isArray((spec as { tasks?: unknown }).tasks);
}
