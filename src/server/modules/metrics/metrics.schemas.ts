import { Type, type Static } from 'typebox';
import { Id, Timestamp } from '../../http/schemas.js';
import { AgentSummarySchema } from '../agents/agents.schemas.js';

const StepSchema = Type.Union([Type.Literal('raw'), Type.Literal('1m'), Type.Literal('1h')]);
export type MetricStep = Static<typeof StepSchema>;

export const AgentMetricsQuery = Type.Object({
  from: Type.Optional(
    Type.String({ format: 'date-time', description: 'Start of the range (default: an hour before `to`)' }),
  ),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'End of the range (default: now)' })),
  step: Type.Optional(
    Type.Union([...StepSchema.anyOf, Type.Literal('auto')], {
      default: 'auto',
      description:
        'raw points (ranges up to 24 hours), 1-minute (up to 7 days) or 1-hour buckets (up to 366 days); ' +
        'auto picks raw for up to 2 hours within the raw retention, 1m for up to 2 days within the ' +
        'minute retention, else 1h',
    }),
  ),
});
export type AgentMetricsQuery = Static<typeof AgentMetricsQuery>;

const Percent = Type.Number({ minimum: 0, maximum: 100 });

export const MetricPointSchema = Type.Object({
  at: Timestamp,
  /** Heartbeats behind this point: 1 for a raw point. */
  samples: Type.Integer({ minimum: 1 }),
  cpu_percent: Percent,
  cpu_percent_max: Percent,
  memory_percent: Percent,
  memory_percent_max: Percent,
  disk_percent: Percent,
  disk_percent_max: Percent,
  uptime_seconds: Type.Number({ minimum: 0, description: 'The largest heard in the bucket' }),
  extra: Type.Optional(
    Type.Record(Type.String(), Type.Number(), {
      description: 'Raw points only: numeric metrics the agent sent beyond the four known ones',
    }),
  ),
});
export type MetricPointView = Static<typeof MetricPointSchema>;

export const AgentMetricsSchema = Type.Object({
  agent_id: Id,
  step: StepSchema,
  from: Timestamp,
  to: Timestamp,
  points: Type.Array(MetricPointSchema, {
    description: 'Oldest first; averages (and maxima) per bucket; buckets without heartbeats are absent',
  }),
});
export type AgentMetricsView = Static<typeof AgentMetricsSchema>;

const WindowSchema = Type.Union([
  Type.Literal('1h'),
  Type.Literal('24h'),
  Type.Literal('7d'),
  Type.Literal('30d'),
]);
export type OverviewWindow = Static<typeof WindowSchema>;

export const OverviewQuery = Type.Object({
  window: Type.Optional(Type.Union(WindowSchema.anyOf, { default: '24h' })),
});

const Nullable = <T extends ReturnType<typeof Type.Number>>(schema: T) => Type.Union([schema, Type.Null()]);
const Usage = Type.Object({
  avg: Nullable(Type.Number()),
  peak: Nullable(Type.Number()),
});
const Counts = Type.Record(Type.String(), Type.Integer());

export const FleetOverviewSchema = Type.Object({
  window: WindowSchema,
  from: Timestamp,
  to: Timestamp,
  agents: AgentSummarySchema,
  usage: Type.Object({
    cpu_percent: Usage,
    memory_percent: Usage,
    disk_percent: Usage,
    uptime_percent: Type.Union([Type.Number(), Type.Null()], {
      description:
        'Agent-minutes heard over the minutes of the window with history, per registered agent; ' +
        'null before any history',
    }),
    samples: Type.Integer({ description: 'Heartbeats behind the averages' }),
    series: Type.Array(
      Type.Object({
        at: Timestamp,
        cpu_percent: Type.Number(),
        memory_percent: Type.Number(),
        disk_percent: Type.Number(),
        agents: Type.Integer({ description: 'Agents heard per minute of the bucket, on average' }),
      }),
      { description: 'Fleet averages per bucket (minutes for 1h, hours for longer windows), oldest first' },
    ),
  }),
  jobs: Type.Union(
    [
      Type.Object({
        by_outcome: Counts,
        total: Type.Integer(),
        success_rate: Type.Union([Type.Number(), Type.Null()], {
          description:
            'Succeeded among succeeded, failed, timed out and lost (canceled left out), in percent',
        }),
      }),
      Type.Null(),
    ],
    { description: 'Jobs that ended in the window; null without jobs:read' },
  ),
  runs: Type.Union(
    [
      Type.Object({
        by_outcome: Counts,
        total: Type.Integer(),
        success_rate: Type.Union([Type.Number(), Type.Null()], {
          description: 'Succeeded among succeeded and failed, in percent',
        }),
        in_progress: Type.Integer(),
      }),
      Type.Null(),
    ],
    { description: 'Runs that ended in the window, and those running now; null without runs:read' },
  ),
  queues: Type.Union(
    [
      Type.Object({
        waiting: Type.Integer(),
        backlogs: Type.Array(Type.Object({ queue_id: Id, name: Type.String(), waiting: Type.Integer() }), {
          description: 'The 20 queues with the most items waiting',
        }),
      }),
      Type.Null(),
    ],
    { description: 'Work-queue items waiting now; null without queues:read' },
  ),
  deployments: Type.Union([Type.Object({ by_status: Counts, total: Type.Integer() }), Type.Null()], {
    description: 'Deployments by status; null without deployments:read',
  }),
});
export type FleetOverview = Static<typeof FleetOverviewSchema>;
