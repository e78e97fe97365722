import { sql, type RawBuilder } from 'kysely';
import type { Executor } from '../../db/executor.js';
import type { AgentMetricBucketsTable, FleetMetricBucketsTable, MetricPointsTable } from '../../db/schema.js';

/** A raw point, its extra metrics decoded. */
export interface MetricPoint extends Omit<MetricPointsTable, 'extra'> {
  extra: Record<string, number> | null;
}
export type AgentBucket = AgentMetricBucketsTable;
export type FleetBucket = FleetMetricBucketsTable;
export type Resolution = '1m' | '1h';
/** Where each step stands; `origin` is where history began (the overview's uptime counts from it). */
export type RollupStep = 'minute' | 'hour' | 'origin';

export interface OutcomeCount {
  kind: 'job' | 'run';
  outcome: string;
  count: number;
}

/** A half-open range of ISO 8601 UTC instants: [from, to). */
export interface Span {
  from: string;
  to: string;
}

const agentTable = { '1m': 'agent_metrics_1m', '1h': 'agent_metrics_1h' } as const;
const fleetTable = { '1m': 'fleet_metrics_1m', '1h': 'fleet_metrics_1h' } as const;
const outcomeTable = { '1m': 'fleet_outcomes_1m', '1h': 'fleet_outcomes_1h' } as const;

/**
 * A bucket's start from an ISO 8601 text (`2026-12-02T13:48:02.123Z`): the same string cut on
 * both dialects, so buckets never depend on a database's date functions or time zone.
 */
function bucketOf(column: RawBuilder<unknown>, resolution: Resolution): RawBuilder<string> {
  return resolution === '1m'
    ? sql<string>`substr(${column}, 1, 16) || ':00.000Z'`
    : sql<string>`substr(${column}, 1, 13) || ':00:00.000Z'`;
}

/** Final job and run statuses counted as outcomes (a run that reopens counts again when it ends again). */
const JOB_OUTCOMES = sql.raw(`('succeeded', 'failed', 'timed_out', 'canceled', 'lost')`);
const RUN_OUTCOMES = sql.raw(`('succeeded', 'failed', 'canceled')`);

const num = (value: unknown): number => Number(value ?? 0);

export const metricsRepo = {
  /** Raw points of one heartbeat flush, in one statement (the caller keeps chunks under the parameter limits). */
  async insertPoints(db: Executor, points: readonly MetricPoint[]): Promise<void> {
    if (points.length === 0) return;
    await db
      .insertInto('metric_points')
      .values(points.map((point) => ({ ...point, extra: point.extra && JSON.stringify(point.extra) })))
      .execute();
  },

  /** When the oldest raw point kept was heard (an index's first entry). */
  async firstPointAt(db: Executor): Promise<string | undefined> {
    const row = await db.selectFrom('metric_points').select('at').orderBy('at').limit(1).executeTakeFirst();
    return row?.at;
  },

  async watermark(db: Executor, step: RollupStep): Promise<string | undefined> {
    const row = await db
      .selectFrom('metric_rollups')
      .select('watermark')
      .where('step', '=', step)
      .executeTakeFirst();
    return row?.watermark;
  },

  /** Every step's watermark, in one read. */
  async watermarks(db: Executor): Promise<Partial<Record<RollupStep, string>>> {
    const rows = await db.selectFrom('metric_rollups').select(['step', 'watermark']).execute();
    return Object.fromEntries(rows.map((row) => [row.step, row.watermark]));
  },

  async setWatermark(db: Executor, step: RollupStep, watermark: string): Promise<void> {
    await db
      .insertInto('metric_rollups')
      .values({ step, watermark })
      .onConflict((oc) => oc.column('step').doUpdateSet({ watermark }))
      .execute();
  },

  /** Raw points of [from, to) into per-agent minutes, then those minutes into per-organisation ones. */
  async rollMinutes(db: Executor, span: Span): Promise<void> {
    const minute = bucketOf(sql.ref('at'), '1m');
    await sql`
      insert into agent_metrics_1m
        (agent_id, org_id, bucket, samples, cpu_sum, cpu_max, memory_sum, memory_max, disk_sum, disk_max, uptime_max)
      select agent_id, org_id, ${minute}, count(*), sum(cpu), max(cpu), sum(memory), max(memory),
             sum(disk), max(disk), max(uptime)
      from metric_points
      where at >= ${span.from} and at < ${span.to}
      group by agent_id, org_id, ${minute}`.execute(db);
    await rollFleet(db, '1m', span, sql`agent_metrics_1m`, sql`count(*)`);
    await rollOutcomes(db, span);
  },

  /** Per-agent, fleet and outcome minutes of [from, to) into hours. */
  async rollHours(db: Executor, span: Span): Promise<void> {
    const hour = bucketOf(sql.ref('bucket'), '1h');
    await sql`
      insert into agent_metrics_1h
        (agent_id, org_id, bucket, samples, cpu_sum, cpu_max, memory_sum, memory_max, disk_sum, disk_max, uptime_max)
      select agent_id, org_id, ${hour}, sum(samples), sum(cpu_sum), max(cpu_max), sum(memory_sum),
             max(memory_max), sum(disk_sum), max(disk_max), max(uptime_max)
      from agent_metrics_1m
      where bucket >= ${span.from} and bucket < ${span.to}
      group by agent_id, org_id, ${hour}`.execute(db);
    await rollFleet(db, '1h', span, sql`fleet_metrics_1m`, sql`sum(agent_minutes)`);
    await sql`
      insert into fleet_outcomes_1h (org_id, bucket, kind, outcome, count)
      select org_id, ${hour}, kind, outcome, sum(count)
      from fleet_outcomes_1m
      where bucket >= ${span.from} and bucket < ${span.to}
      group by org_id, ${hour}, kind, outcome`.execute(db);
  },

  /** Deletes rows older than each cutoff; answers how many went, per table. */
  async purge(
    db: Executor,
    cutoffs: { points: string; minutes: string; hours: string },
  ): Promise<Record<string, number>> {
    const deleted: Record<string, number> = {};
    const drop = async (
      table:
        | 'metric_points'
        | 'agent_metrics_1m'
        | 'agent_metrics_1h'
        | 'fleet_metrics_1m'
        | 'fleet_metrics_1h'
        | 'fleet_outcomes_1m'
        | 'fleet_outcomes_1h',
      before: string,
    ) => {
      const column = table === 'metric_points' ? 'at' : 'bucket';
      const result = await sql`delete from ${sql.table(table)} where ${sql.ref(column)} < ${before}`.execute(
        db,
      );
      deleted[table] = Number(result.numAffectedRows ?? 0n);
    };
    await drop('metric_points', cutoffs.points);
    for (const table of ['agent_metrics_1m', 'fleet_metrics_1m', 'fleet_outcomes_1m'] as const)
      await drop(table, cutoffs.minutes);
    for (const table of ['agent_metrics_1h', 'fleet_metrics_1h', 'fleet_outcomes_1h'] as const)
      await drop(table, cutoffs.hours);
    return deleted;
  },

  /** One agent's raw points in [from, to), oldest first. */
  async points(db: Executor, agentId: string, span: Span): Promise<MetricPoint[]> {
    const rows = await db
      .selectFrom('metric_points')
      .selectAll()
      .where('agent_id', '=', agentId)
      .where('at', '>=', span.from)
      .where('at', '<', span.to)
      .orderBy('at')
      .execute();
    return rows.map((row) => ({
      ...row,
      extra: row.extra === null ? null : (JSON.parse(row.extra) as Record<string, number>),
    }));
  },

  /** One agent's buckets of a resolution whose start is in [from, to), oldest first. */
  agentBuckets(db: Executor, resolution: Resolution, agentId: string, span: Span): Promise<AgentBucket[]> {
    return db
      .selectFrom(agentTable[resolution])
      .selectAll()
      .where('agent_id', '=', agentId)
      .where('bucket', '>=', span.from)
      .where('bucket', '<', span.to)
      .orderBy('bucket')
      .execute();
  },

  /** An organisation's fleet buckets of a resolution in the spans given, oldest first. */
  async fleetBuckets(
    db: Executor,
    resolution: Resolution,
    orgId: string,
    spans: readonly Span[],
  ): Promise<FleetBucket[]> {
    if (spans.length === 0) return [];
    return db
      .selectFrom(fleetTable[resolution])
      .selectAll()
      .where('org_id', '=', orgId)
      .where((eb) =>
        eb.or(spans.map((span) => eb.and([eb('bucket', '>=', span.from), eb('bucket', '<', span.to)]))),
      )
      .orderBy('bucket')
      .execute();
  },

  /** Jobs and runs of an organisation that ended in the spans given, counted by outcome. */
  async outcomes(
    db: Executor,
    resolution: Resolution,
    orgId: string,
    spans: readonly Span[],
  ): Promise<OutcomeCount[]> {
    if (spans.length === 0) return [];
    const rows = await db
      .selectFrom(outcomeTable[resolution])
      .select(['kind', 'outcome', (eb) => eb.fn.sum<number>('count').as('count')])
      .where('org_id', '=', orgId)
      .where((eb) =>
        eb.or(spans.map((span) => eb.and([eb('bucket', '>=', span.from), eb('bucket', '<', span.to)]))),
      )
      .groupBy(['kind', 'outcome'])
      .execute();
    return rows.map((row) => ({
      kind: row.kind as 'job' | 'run',
      outcome: row.outcome,
      count: num(row.count),
    }));
  },
};

/** Per-agent buckets (or fleet minutes) of a span into fleet buckets, one row per organisation and bucket. */
async function rollFleet(
  db: Executor,
  resolution: Resolution,
  span: Span,
  source: RawBuilder<unknown>,
  agentMinutes: RawBuilder<unknown>,
): Promise<void> {
  const bucket = bucketOf(sql.ref('bucket'), resolution);
  await sql`
    insert into ${sql.table(fleetTable[resolution])}
      (org_id, bucket, agent_minutes, samples, cpu_sum, cpu_max, memory_sum, memory_max, disk_sum, disk_max, uptime_max)
    select org_id, ${bucket}, ${agentMinutes}, sum(samples), sum(cpu_sum), max(cpu_max), sum(memory_sum),
           max(memory_max), sum(disk_sum), max(disk_max), max(uptime_max)
    from ${source}
    where bucket >= ${span.from} and bucket < ${span.to}
    group by org_id, ${bucket}`.execute(db);
}

/** Jobs and runs that ended in a span, counted per organisation, minute and outcome. */
async function rollOutcomes(db: Executor, span: Span): Promise<void> {
  const minute = bucketOf(sql.ref('finished_at'), '1m');
  for (const [kind, table, outcomes] of [
    ['job', 'jobs', JOB_OUTCOMES],
    ['run', 'runs', RUN_OUTCOMES],
  ] as const) {
    await sql`
      insert into fleet_outcomes_1m (org_id, bucket, kind, outcome, count)
      select org_id, ${minute}, ${sql.lit(kind)}, status, count(*)
      from ${sql.table(table)}
      where finished_at >= ${span.from} and finished_at < ${span.to} and status in ${outcomes}
      group by org_id, ${minute}, status`.execute(db);
  }
}
