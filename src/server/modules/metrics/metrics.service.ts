import type { AgentMetrics } from '../../../protocol/agent.js';
import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import type { Principal } from '../access/context.js';
import type { AgentsService } from '../agents/agents.service.js';
import type { HeardMetrics } from '../agents/liveness.js';
import type { SettingsService } from '../settings/settings.service.js';
import { liveCountsRepo } from './live-counts.repo.js';
import { metricsRepo, type AgentBucket, type MetricPoint, type Span } from './metrics.repo.js';
import { HOUR, MINUTE } from './metrics.rollup.js';
import type {
  AgentMetricsQuery,
  AgentMetricsView,
  FleetOverview,
  MetricPointView,
  MetricStep,
  OverviewWindow,
} from './metrics.schemas.js';
import { fleetUsage, outcomesOf, overviewSpans, uptimePercent, type SizedBucket } from './overview.js';

const DAY = 24 * HOUR;
/** The longest range each step answers: a few thousand points at most. */
const MAX_RANGE_MS: Record<MetricStep, number> = { raw: DAY, '1m': 7 * DAY, '1h': 366 * DAY };
const WINDOW_MS: Record<OverviewWindow, number> = { '1h': HOUR, '24h': DAY, '7d': 7 * DAY, '30d': 30 * DAY };
const BACKLOGS_SHOWN = 20;
const KNOWN_KEYS = new Set(['cpu_percent', 'memory_percent', 'disk_percent', 'uptime_seconds']);

const round = (value: number): number => Math.round(value * 1000) / 1000;

function pointView(point: MetricPoint): MetricPointView {
  return {
    at: point.at,
    samples: 1,
    cpu_percent: point.cpu,
    cpu_percent_max: point.cpu,
    memory_percent: point.memory,
    memory_percent_max: point.memory,
    disk_percent: point.disk,
    disk_percent_max: point.disk,
    uptime_seconds: point.uptime,
    ...(point.extra ? { extra: point.extra } : {}),
  };
}

function bucketView(bucket: AgentBucket): MetricPointView {
  const samples = Number(bucket.samples);
  return {
    at: bucket.bucket,
    samples,
    cpu_percent: round(bucket.cpu_sum / samples),
    cpu_percent_max: bucket.cpu_max,
    memory_percent: round(bucket.memory_sum / samples),
    memory_percent_max: bucket.memory_max,
    disk_percent: round(bucket.disk_sum / samples),
    disk_percent_max: bucket.disk_max,
    uptime_seconds: bucket.uptime_max,
  };
}

/** Numeric keys beyond the four known ones; null when there are none. */
function extraOf(metrics: AgentMetrics): Record<string, number> | null {
  const extra = Object.entries(metrics).filter(
    (entry): entry is [string, number] =>
      !KNOWN_KEYS.has(entry[0]) && typeof entry[1] === 'number' && Number.isFinite(entry[1]),
  );
  return extra.length > 0 ? Object.fromEntries(extra) : null;
}

const invalid = (field: string, message: string) =>
  new AppError('unprocessable', message, { details: [{ field, message }] });

/** Metrics history of agents and the fleet overview of an organisation. */
export class MetricsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #agents: Pick<AgentsService, 'get' | 'summary'>;
  readonly #settings: Pick<SettingsService, 'readInstance'>;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    agents: Pick<AgentsService, 'get' | 'summary'>;
    settings: Pick<SettingsService, 'readInstance'>;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#agents = deps.agents;
    this.#settings = deps.settings;
  }

  /** Raw points of the heartbeats one flush wrote: one statement for them all. */
  async recordHeard(heard: readonly HeardMetrics[]): Promise<void> {
    await metricsRepo.insertPoints(
      this.#db,
      heard.map(({ agent_id, org_id, at, metrics }) => ({
        agent_id,
        org_id,
        at,
        cpu: metrics.cpu_percent,
        memory: metrics.memory_percent,
        disk: metrics.disk_percent,
        uptime: metrics.uptime_seconds,
        extra: extraOf(metrics),
      })),
    );
  }

  /** One agent's metrics over a range, at the step asked for or the finest one that fits. */
  async agentSeries(orgId: string, agentId: string, query: AgentMetricsQuery): Promise<AgentMetricsView> {
    const agent = await this.#agents.get(orgId, agentId);
    const to = query.to ? Date.parse(query.to) : this.#clock.now().getTime();
    const from = query.from ? Date.parse(query.from) : to - HOUR;
    if (!(from < to)) throw invalid('from', '`from` must be before `to`');
    const step =
      query.step === undefined || query.step === 'auto' ? await this.#autoStep(from, to) : query.step;
    if (to - from > MAX_RANGE_MS[step])
      throw invalid('from', `a range at step ${step} spans at most ${MAX_RANGE_MS[step] / HOUR} hours`);
    const span: Span = { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
    const points =
      step === 'raw'
        ? (await metricsRepo.points(this.#db, agent.id, span)).map(pointView)
        : (await metricsRepo.agentBuckets(this.#db, step, agent.id, span)).map(bucketView);
    return { agent_id: agent.id, step, ...span, points };
  }

  /** The fleet of an organisation over a window, from its fleet buckets and a few live counts. */
  async overview(
    principal: Pick<Principal, 'orgId' | 'permissions'>,
    window: OverviewWindow,
  ): Promise<FleetOverview> {
    const { orgId, permissions } = principal;
    const db = this.#db;
    const now = this.#clock.now().getTime();
    const from = now - WINDOW_MS[window];
    const marks = await metricsRepo.watermarks(db);
    const spans = overviewSpans(from, now, marks.hour);
    // Independent reads, side by side: the answer waits for the slowest, not for their sum.
    const [agents, hours, minutes, hourOutcomes, minuteOutcomes, inProgress, queues, deployments] =
      await Promise.all([
        this.#agents.summary(orgId),
        metricsRepo.fleetBuckets(db, '1h', orgId, spans.hours),
        metricsRepo.fleetBuckets(db, '1m', orgId, spans.minutes),
        metricsRepo.outcomes(db, '1h', orgId, spans.hours),
        metricsRepo.outcomes(db, '1m', orgId, spans.minutes),
        permissions.has('runs:read') ? liveCountsRepo.runsInProgress(db, orgId) : null,
        permissions.has('queues:read') ? liveCountsRepo.queueBacklogs(db, orgId, BACKLOGS_SHOWN) : null,
        permissions.has('deployments:read') ? this.#deployments(orgId) : null,
      ]);
    const buckets: SizedBucket[] = [
      ...hours.map((bucket) => ({ ...bucket, minutes: 60 })),
      ...minutes.map((bucket) => ({ ...bucket, minutes: 1 })),
    ].sort((a, b) => (a.bucket < b.bucket ? -1 : 1));
    const usage = fleetUsage(buckets, window === '1h' ? MINUTE : HOUR);
    const outcomes = [...hourOutcomes, ...minuteOutcomes];
    const registered = agents.total - agents.pending;
    return {
      window,
      from: new Date(from).toISOString(),
      to: new Date(now).toISOString(),
      agents,
      usage: { ...usage, uptime_percent: uptimePercent(buckets, registered, from, marks) },
      jobs: permissions.has('jobs:read') ? outcomesOf(outcomes, 'job') : null,
      runs: inProgress === null ? null : { ...outcomesOf(outcomes, 'run'), in_progress: inProgress },
      queues,
      deployments,
    };
  }

  /** Agents of every organisation by status (the Prometheus gauges). */
  agentsByStatus(): Promise<Record<string, number>> {
    return liveCountsRepo.agentsByStatus(this.#db);
  }

  async #deployments(orgId: string): Promise<{ by_status: Record<string, number>; total: number }> {
    const byStatus = await liveCountsRepo.deploymentsByStatus(this.#db, orgId);
    return { by_status: byStatus, total: Object.values(byStatus).reduce((sum, count) => sum + count, 0) };
  }

  /** Raw for up to 2 hours still kept raw, 1m for up to 2 days still kept by the minute, else 1h. */
  async #autoStep(from: number, to: number): Promise<MetricStep> {
    const retention = await this.#settings.readInstance('metrics');
    const now = this.#clock.now().getTime();
    const range = to - from;
    if (range <= 2 * HOUR && from >= now - retention.raw_retention_hours * HOUR) return 'raw';
    if (range <= 2 * DAY && from >= now - retention.minute_retention_days * DAY) return '1m';
    return '1h';
  }
}
