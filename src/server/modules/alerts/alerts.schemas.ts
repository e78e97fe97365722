import { Type, type Static } from 'typebox';
import { OsType } from '../../../protocol/jobs.js';
import { Email, Id, NullableTimestamp, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';

const RuleName = Type.String({ minLength: 1, maxLength: 200 });

export const ruleKinds = [
  'agent_offline',
  'metric_above',
  'job_failed',
  'run_failure_rate',
  'deployment_failed',
  'queue_backlog',
] as const;
export type RuleKind = (typeof ruleKinds)[number];
export const RuleKindSchema = Type.Enum(ruleKinds);

export const severities = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof severities)[number];
export const SeveritySchema = Type.Enum(severities);

export const metricNames = ['cpu_percent', 'memory_percent', 'disk_percent'] as const;
export type MetricName = (typeof metricNames)[number];

/** Which agents a rule watches or a silence covers; the fields are AND-combined. */
export const AgentSelector = Type.Object(
  {
    agent_ids: Type.Optional(Type.Array(Id, { maxItems: 1000, uniqueItems: true })),
    tags: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 20, uniqueItems: true }),
    ),
    group_id: Type.Optional(Id),
    os_type: Type.Optional(OsType),
    all: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type AgentSelector = Static<typeof AgentSelector>;

/**
 * A rule's parameters; which ones a kind takes (and needs) is checked by the service, one 422
 * detail per field: agent_offline {selector, minutes}; metric_above {selector, metric, threshold,
 * minutes}; job_failed {one of script_id, profile_id, schedule_id}; run_failure_rate {percent,
 * one of last_runs, window_minutes}; deployment_failed {service_id?}; queue_backlog {queue_id, items}.
 */
export const RuleParams = Type.Object(
  {
    selector: Type.Optional(AgentSelector),
    minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_080 })),
    metric: Type.Optional(Type.Enum(metricNames)),
    threshold: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
    script_id: Type.Optional(Id),
    profile_id: Type.Optional(Id),
    schedule_id: Type.Optional(Id),
    percent: Type.Optional(Type.Number({ minimum: 1, maximum: 100 })),
    last_runs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    window_minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 43_200 })),
    service_id: Type.Optional(Id),
    queue_id: Type.Optional(Id),
    items: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000 })),
  },
  { additionalProperties: false },
);
export type RuleParams = Static<typeof RuleParams>;

const ChannelIds = Type.Array(Id, { maxItems: 20, uniqueItems: true });

export const RuleCreateBody = Type.Object(
  {
    name: RuleName,
    kind: RuleKindSchema,
    params: RuleParams,
    enabled: Type.Optional(Type.Boolean({ default: true })),
    severity: Type.Optional(SeveritySchema),
    channel_ids: Type.Optional(ChannelIds),
  },
  { additionalProperties: false },
);
export type RuleCreateBody = Static<typeof RuleCreateBody>;

export const RuleUpdateBody = Type.Object(
  {
    name: Type.Optional(RuleName),
    kind: Type.Optional(RuleKindSchema),
    params: Type.Optional(RuleParams),
    enabled: Type.Optional(Type.Boolean()),
    severity: Type.Optional(SeveritySchema),
    channel_ids: Type.Optional(ChannelIds),
  },
  { additionalProperties: false, description: 'A new kind needs its params; params given replace the old' },
);
export type RuleUpdateBody = Static<typeof RuleUpdateBody>;

export const RuleSchema = Type.Object({
  id: Id,
  name: Type.String(),
  kind: RuleKindSchema,
  params: RuleParams,
  enabled: Type.Boolean(),
  severity: SeveritySchema,
  channel_ids: Type.Array(Id),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const RuleListQuery = Type.Intersect([
  PageQuery,
  Type.Object({ kind: Type.Optional(RuleKindSchema), enabled: Type.Optional(Type.Boolean()) }),
]);

export const alertStates = ['firing', 'acknowledged', 'resolved'] as const;
export type AlertState = (typeof alertStates)[number];

export const AlertSchema = Type.Object({
  id: Id,
  rule_id: Id,
  rule_name: Type.String(),
  subject: Type.String({ description: '`agent:<id>`, `script:<id>`, `queue:<id>`, `runs`, …' }),
  subject_label: Type.String(),
  state: Type.Enum(alertStates),
  severity: SeveritySchema,
  summary: Type.String(),
  fired_at: Timestamp,
  acknowledged_at: NullableTimestamp,
  acknowledged_by: Type.Union([Type.String(), Type.Null()]),
  notified_at: NullableTimestamp,
  resolved_at: NullableTimestamp,
});

export const AlertEventSchema = Type.Object({
  at: Timestamp,
  kind: Type.Enum(['fired', 'acknowledged', 'notified', 'notify_failed', 'silenced', 'resolved']),
  actor: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Record(Type.String(), Type.Unknown()),
});

export const AlertDetailSchema = Type.Intersect([
  AlertSchema,
  Type.Object({ history: Type.Array(AlertEventSchema) }),
]);

export const AlertListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    state: Type.Optional(Type.Enum(alertStates)),
    rule_id: Type.Optional(Id),
    severity: Type.Optional(SeveritySchema),
  }),
]);

export const channelKinds = ['webhook', 'slack', 'teams', 'email'] as const;
export type ChannelKind = (typeof channelKinds)[number];

const Url = Type.String({ minLength: 1, maxLength: 2048 });

export const ChannelConfig = Type.Object(
  {
    url: Type.Optional(Url),
    to: Type.Optional(Type.Array(Email, { minItems: 1, maxItems: 20, uniqueItems: true })),
  },
  {
    additionalProperties: false,
    description: '`url` for webhook, slack and teams (stored sealed, shown masked); `to` for email',
  },
);
export type ChannelConfig = Static<typeof ChannelConfig>;

export const ChannelCreateBody = Type.Object(
  { name: RuleName, kind: Type.Enum(channelKinds), config: ChannelConfig },
  { additionalProperties: false },
);
export type ChannelCreateBody = Static<typeof ChannelCreateBody>;

export const ChannelUpdateBody = Type.Object(
  { name: Type.Optional(RuleName), config: Type.Optional(ChannelConfig) },
  { additionalProperties: false, description: 'A URL sent back as shown (masked) keeps the stored one' },
);
export type ChannelUpdateBody = Static<typeof ChannelUpdateBody>;

export const ChannelSchema = Type.Object({
  id: Id,
  name: Type.String(),
  kind: Type.Enum(channelKinds),
  config: ChannelConfig,
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const DeliverySchema = Type.Object({
  ok: Type.Boolean({ description: 'The receiver answered 2xx (an email: the server took it)' }),
  status: Type.Union([Type.Integer(), Type.Null()]),
  body: Type.String({ description: 'The start of what the receiver answered' }),
  duration_ms: Type.Integer(),
});

export const TestWebhookBody = Type.Object(
  { url: Url, kind: Type.Optional(Type.Enum(['webhook', 'slack', 'teams'])) },
  { additionalProperties: false },
);

export const SilenceCreateBody = Type.Object(
  {
    rule_id: Type.Optional(Id),
    selector: Type.Optional(AgentSelector),
    reason: Type.String({ minLength: 1, maxLength: 1000 }),
    starts_at: Type.Optional(Timestamp),
    ends_at: Timestamp,
  },
  {
    additionalProperties: false,
    description:
      'A rule, an agent selector, or both (AND); `starts_at` in the future makes a maintenance window',
  },
);
export type SilenceCreateBody = Static<typeof SilenceCreateBody>;

export const SilenceUpdateBody = Type.Object(
  {
    rule_id: Type.Optional(Type.Union([Id, Type.Null()])),
    selector: Type.Optional(Type.Union([AgentSelector, Type.Null()])),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })),
    starts_at: Type.Optional(Timestamp),
    ends_at: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
export type SilenceUpdateBody = Static<typeof SilenceUpdateBody>;

export const SilenceSchema = Type.Object({
  id: Id,
  rule_id: Type.Union([Id, Type.Null()]),
  selector: Type.Union([AgentSelector, Type.Null()]),
  reason: Type.String(),
  starts_at: Timestamp,
  ends_at: Timestamp,
  state: Type.Enum(['pending', 'active', 'expired']),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const SilenceListQuery = Type.Intersect([
  PageQuery,
  Type.Object({ state: Type.Optional(Type.Enum(['pending', 'active', 'expired'])) }),
]);
