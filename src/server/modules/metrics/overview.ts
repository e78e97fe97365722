import type { FleetBucket, OutcomeCount, Span } from './metrics.repo.js';
import { floorTo, HOUR, MINUTE } from './metrics.rollup.js';
import type { FleetOverview } from './metrics.schemas.js';

/** A fleet bucket and the minutes it stands for (60 for an hour). */
export type SizedBucket = FleetBucket & { minutes: number };

const round = (value: number): number => Math.round(value * 1000) / 1000;
const ceilTo = (ms: number, unit: number): number => Math.ceil(ms / unit) * unit;
const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Where a window's history lies: whole hours already rolled up from the hour table, the rest (the
 * window's first partial hour and what came after the last hour rolled up) from the minute table.
 * At most 720 hours and 120 minutes for 30 days, whatever the fleet's size.
 */
export function overviewSpans(
  from: number,
  now: number,
  hourMark: string | undefined,
): { hours: Span[]; minutes: Span[] } {
  const firstHour = ceilTo(from, HOUR);
  const hoursEnd = hourMark ? Math.min(Date.parse(hourMark), now) : firstHour;
  if (hoursEnd <= firstHour) return { hours: [], minutes: [{ from: iso(from), to: iso(now) }] };
  return {
    hours: [{ from: iso(firstHour), to: iso(hoursEnd) }],
    minutes: [
      { from: iso(from), to: iso(firstHour) },
      { from: iso(hoursEnd), to: iso(now) },
    ].filter((span) => span.from < span.to),
  };
}

/** Averages (weighted by heartbeats) and peaks over the buckets, and a series at `unit` (a minute or an hour). */
export function fleetUsage(
  buckets: readonly SizedBucket[],
  unit: number,
): Omit<FleetOverview['usage'], 'uptime_percent'> {
  let samples = 0;
  const sums = { cpu: 0, memory: 0, disk: 0 };
  const peaks = { cpu: -Infinity, memory: -Infinity, disk: -Infinity };
  const groups = new Map<
    string,
    { samples: number; cpu: number; memory: number; disk: number; agentMinutes: number; minutes: number }
  >();
  for (const bucket of buckets) {
    samples += bucket.samples;
    sums.cpu += bucket.cpu_sum;
    sums.memory += bucket.memory_sum;
    sums.disk += bucket.disk_sum;
    peaks.cpu = Math.max(peaks.cpu, bucket.cpu_max);
    peaks.memory = Math.max(peaks.memory, bucket.memory_max);
    peaks.disk = Math.max(peaks.disk, bucket.disk_max);
    const at = floorTo(Date.parse(bucket.bucket), unit);
    const group = groups.get(at) ?? { samples: 0, cpu: 0, memory: 0, disk: 0, agentMinutes: 0, minutes: 0 };
    group.samples += bucket.samples;
    group.cpu += bucket.cpu_sum;
    group.memory += bucket.memory_sum;
    group.disk += bucket.disk_sum;
    group.agentMinutes += bucket.agent_minutes;
    group.minutes += bucket.minutes;
    groups.set(at, group);
  }
  const usage = (sum: number, peak: number) =>
    samples === 0 ? { avg: null, peak: null } : { avg: round(sum / samples), peak };
  return {
    cpu_percent: usage(sums.cpu, peaks.cpu),
    memory_percent: usage(sums.memory, peaks.memory),
    disk_percent: usage(sums.disk, peaks.disk),
    samples,
    series: [...groups.entries()].map(([at, group]) => ({
      at,
      cpu_percent: round(group.cpu / group.samples),
      memory_percent: round(group.memory / group.samples),
      disk_percent: round(group.disk / group.samples),
      agents: Math.round(group.agentMinutes / group.minutes),
    })),
  };
}

/**
 * Agent-minutes heard over the agent-minutes there could have been: the registered agents times
 * the window's minutes that history covers (from its origin, up to the last minute rolled up).
 */
export function uptimePercent(
  buckets: readonly SizedBucket[],
  registered: number,
  from: number,
  marks: { origin?: string | undefined; minute?: string | undefined },
): number | null {
  if (registered === 0 || !marks.origin || !marks.minute) return null;
  const start = Math.max(from, Date.parse(marks.origin));
  const minutes = Math.floor((Date.parse(marks.minute) - start) / MINUTE);
  if (minutes <= 0) return null;
  const heard = buckets.reduce((sum, bucket) => sum + bucket.agent_minutes, 0);
  return round(Math.min(100, (100 * heard) / (registered * minutes)));
}

/** Outcomes of one kind counted, with the share that succeeded among those that ran to an end. */
export function outcomesOf(
  outcomes: readonly OutcomeCount[],
  kind: OutcomeCount['kind'],
): { by_outcome: Record<string, number>; total: number; success_rate: number | null } {
  const byOutcome: Record<string, number> = {};
  for (const row of outcomes)
    if (row.kind === kind) byOutcome[row.outcome] = (byOutcome[row.outcome] ?? 0) + row.count;
  const total = Object.values(byOutcome).reduce((sum, count) => sum + count, 0);
  // A canceled job or run was stopped on purpose: it neither succeeded nor failed.
  const decided = total - (byOutcome.canceled ?? 0);
  const succeeded = byOutcome.succeeded ?? 0;
  return {
    by_outcome: byOutcome,
    total,
    success_rate: decided > 0 ? round((100 * succeeded) / decided) : null,
  };
}
