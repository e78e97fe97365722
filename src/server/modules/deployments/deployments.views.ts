import { maskSecrets } from '../../lib/secrets.js';
import type { DeploymentRow, StepRow, TargetRow, TargetStatus } from './deployments.repo.js';
import { batchSizes } from './rollout.js';

export type DeploymentView = ReturnType<typeof deploymentView>;

/** A deployment as the API shows it: secrets masked, its machines counted, its batches summed up. */
export function deploymentView(
  row: DeploymentRow,
  counts: readonly { batch: number; status: TargetStatus; n: number }[],
) {
  const { org_id: _org, spec, env, secret_env, awaiting_continue, ...rest } = row;
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
    steps_planned: spec.steps,
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

export type DeploymentDetail = DeploymentView & {
  targets: (Omit<TargetRow, 'org_id'> & { steps: Omit<StepRow, 'deployment_id'>[] })[];
};
