import { maskSecrets } from '../../lib/secrets.js';
import type { DeploymentRow, StepRow, TargetRow, TargetStatus } from './deployments.repo.js';
import { batchSizes } from './rollout.js';

export type DeploymentView = ReturnType<typeof deploymentView>;

/** A deployment as the API shows it: secrets masked, its machines counted, its batches summed up. */
export function deploymentView(
  row: DeploymentRow,
  counts: readonly { batch: number; status: TargetStatus; n: number }[],
) {
  const { org_id: _org, spec, planned_steps, env, secret_env, awaiting_continue, ...rest } = row;
  const masked = maskSecrets({ env, secret_env }) as {
    env: Record<string, string>;
    secret_env: Record<string, string>;
  };
  const total: Record<string, number> = {
    total: 0,
    pending: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    canceled: 0,
  };
  const batches = new Map<number, Record<string, number>>();
  for (const { batch, status, n } of counts) {
    total[status] = (total[status] ?? 0) + n;
    total.total = (total.total ?? 0) + n;
    const of = batches.get(batch) ?? {};
    of[status] = (of[status] ?? 0) + n;
    batches.set(batch, of);
  }
  const sizes = batchSizes(total.total ?? 0, spec.rollout);
  return {
    ...rest,
    awaiting_continue,
    env: masked.env,
    secret_env: masked.secret_env,
    steps_planned: planned_steps,
    runs_on: spec.runs_on,
    rollout: spec.rollout,
    counts: total,
    batches: sizes.map((size, index) => {
      const of = batches.get(index) ?? {};
      return { index, size, status: batchStatus(of, size), counts: of };
    }),
  };
}

function batchStatus(counts: Record<string, number>, size: number): 'pending' | 'running' | 'done' {
  if ((counts.pending ?? 0) === size) return 'pending';
  return (counts.running ?? 0) > 0 || (counts.pending ?? 0) > 0 ? 'running' : 'done';
}

export function targetView(target: TargetRow) {
  const { org_id: _org, ...rest } = target;
  return rest;
}

export type StepView = ReturnType<typeof stepView>;

export function stepView(
  step: Omit<StepRow, 'id' | 'deployment_id' | 'updated_at'> & { updated_at: string | null },
) {
  const { target_id, position, name, state, message, error_message, started_at, finished_at, updated_at } =
    step;
  return { target_id, position, name, state, message, error_message, started_at, finished_at, updated_at };
}

/**
 * A machine's steps: the planned ones in their order, pending until reported, then those its script
 * added, in the order it reported them.
 */
export function stepsOf(
  targetId: string,
  planned: readonly string[],
  reported: readonly StepRow[],
): StepView[] {
  const byName = new Map(reported.map((step) => [step.name, step]));
  const plannedSteps = planned.map((name, position) => {
    const step = byName.get(name);
    return step
      ? stepView(step)
      : stepView({
          target_id: targetId,
          position,
          name,
          state: 'pending',
          message: '',
          error_message: null,
          started_at: null,
          finished_at: null,
          updated_at: null,
        });
  });
  const known = new Set(planned);
  const added = reported.filter((step) => !known.has(step.name)).map(stepView);
  return [...plannedSteps, ...added];
}

export type TargetDetail = ReturnType<typeof targetView> & { steps: StepView[] };

export type DeploymentDetail = DeploymentView & { targets: TargetDetail[] };
