/**
 * How a deployment over many machines rolls out: the machines in batches (a canary first, then
 * batches of a size or a percentage), a pause or a manual "continue" between batches, and a
 * failure budget past which the rollout stops and the machines not yet started are canceled.
 */
export interface RolloutPolicy {
  batch_size: number | null;
  batch_percent: number | null;
  /** Machines in the first batch, which must all succeed; 0 for no canary. */
  canary: number;
  pause_seconds: number;
  manual_continue: boolean;
  /** Failed machines the rollout tolerates; past them it stops. */
  max_failures: number | null;
  max_failure_percent: number | null;
}

export const DEFAULT_ROLLOUT: RolloutPolicy = {
  batch_size: null,
  batch_percent: null,
  canary: 0,
  pause_seconds: 0,
  manual_continue: false,
  max_failures: null,
  max_failure_percent: null,
};

/** The policy with defaults for what it leaves out. */
export function rolloutOf(partial: Partial<RolloutPolicy> | undefined): RolloutPolicy {
  return { ...DEFAULT_ROLLOUT, ...partial };
}

/** The size of each batch, in order, for `count` machines. */
export function batchSizes(count: number, policy: RolloutPolicy): number[] {
  const sizes: number[] = [];
  let left = count;
  const canary = Math.min(policy.canary, left);
  if (canary > 0) {
    sizes.push(canary);
    left -= canary;
  }
  const size =
    policy.batch_size ??
    (policy.batch_percent === null ? left : Math.max(1, Math.ceil((count * policy.batch_percent) / 100)));
  while (left > 0) {
    const next = Math.min(size, left);
    sizes.push(next);
    left -= next;
  }
  return sizes;
}

/** The batch of each of `count` machines, in order. */
export function batchOfEach(count: number, policy: RolloutPolicy): number[] {
  return batchSizes(count, policy).flatMap((size, batch) => Array.from({ length: size }, () => batch));
}

/**
 * Why the rollout must stop now, or null. With no budget set, any failure stops it: a deployment
 * is safe by default. The canary batch must succeed whole.
 */
export function stopReason(
  policy: RolloutPolicy,
  counts: { total: number; failed: number },
  canaryFailed: boolean,
): string | null {
  const { total, failed } = counts;
  if (canaryFailed) return `the canary batch failed on ${failed} machine${failed === 1 ? '' : 's'}`;
  if (failed === 0) return null;
  const overCount = policy.max_failures !== null && failed > policy.max_failures;
  const overPercent =
    policy.max_failure_percent !== null && (failed * 100) / total > policy.max_failure_percent;
  const noBudget = policy.max_failures === null && policy.max_failure_percent === null;
  if (!overCount && !overPercent && !noBudget) return null;
  return `${failed} of ${total} machines failed, past the failure budget`;
}

/** A deployment's targets counted: overall, and for the batch under way. */
export function tallyOf(rows: readonly { batch: number; status: string; n: number }[], batch: number) {
  const counts: Record<string, number> = {
    total: 0,
    pending: 0,
    running: 0,
    succeeded: 0,
    failed: 0,
    canceled: 0,
  };
  let batchActive = 0;
  let batchFailed = 0;
  for (const row of rows) {
    counts[row.status] = (counts[row.status] ?? 0) + row.n;
    counts.total = (counts.total ?? 0) + row.n;
    if (row.batch === batch && row.status === 'running') batchActive += row.n;
    if (row.batch === batch && row.status === 'failed') batchFailed += row.n;
  }
  return {
    counts,
    total: counts.total ?? 0,
    failed: counts.failed ?? 0,
    canceled: counts.canceled ?? 0,
    active: counts.running ?? 0,
    batchActive,
    batchFailed,
  };
}
