import { Type, type Static } from 'typebox';
import { AgentMetrics } from '../../../protocol/agent.js';
import { OsType } from '../../../protocol/jobs.js';
import { Id, Name, NullableTimestamp, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';

const NullableString = Type.Union([Type.String(), Type.Null()]);

/**
 * Tags are lower-case labels without quotes or backslashes: they are stored as a JSON array
 * and matched with LIKE on `"tag"`, which is case-sensitive on PostgreSQL and not on SQLite,
 * so one case keeps both dialects in agreement.
 */
export const Tag = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_.:=/@+-]*$' });
export const Tags = Type.Array(Tag, { maxItems: 50 });
export const Notes = Type.String({ maxLength: 4000 });

export const agentStatuses = ['pending', 'online', 'offline'] as const;
export type AgentStatus = (typeof agentStatuses)[number];
export const AgentStatusSchema = Type.Enum(agentStatuses);

const StatusCounts = {
  total: Type.Integer(),
  online: Type.Integer(),
  offline: Type.Integer(),
  pending: Type.Integer(),
};
export const AgentSummarySchema = Type.Object({
  ...StatusCounts,
  by_os: Type.Array(Type.Object({ os_type: Type.String(), ...StatusCounts }), {
    description: 'Per OS, the largest first',
  }),
});
export type AgentSummary = Static<typeof AgentSummarySchema>;

export const AgentSchema = Type.Object({
  id: Id,
  name: Type.String(),
  hostname: Type.String(),
  os_type: Type.String(),
  os_version: Type.String(),
  arch: Type.String(),
  ip: NullableString,
  agent_version: NullableString,
  interpreters: Type.Array(Type.String()),
  tags: Type.Array(Type.String()),
  group_id: Type.Union([Id, Type.Null()]),
  notes: Type.String(),
  status: AgentStatusSchema,
  connected: Type.Boolean(),
  last_seen_at: NullableTimestamp,
  metrics: Type.Union([AgentMetrics, Type.Null()]),
  system_info: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  /** `enrollment_token` or `machine_key`; null for a machine record that never registered. */
  enrolled_via: NullableString,
  /** The deployment profile assigned to the agent. */
  profile_id: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const AgentListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    status: Type.Optional(AgentStatusSchema),
    tag: Type.Optional(Tag),
    group_id: Type.Optional(Id),
    os_type: Type.Optional(OsType),
    /** Text in the name, hostname or IP address, case-insensitive. */
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** Whether a server node holds the agent's WebSocket (the items' `connected`). */
    connected: Type.Optional(Type.Boolean()),
  }),
]);

export const FactsRequestSchema = Type.Object({
  agent_id: Id,
  requested_at: Timestamp,
  delivery: Type.Union([Type.Literal('websocket'), Type.Literal('next_heartbeat')], {
    description:
      'websocket: sent now over its socket; next_heartbeat: an agent polling over HTTP hears it next',
  }),
});

export const AgentCreateBody = Type.Object(
  {
    name: Name,
    os_type: Type.Optional(OsType),
    tags: Type.Optional(Tags),
    group_id: Type.Optional(Id),
    notes: Type.Optional(Notes),
  },
  { additionalProperties: false },
);

export const AgentCreated = Type.Object({
  agent: AgentSchema,
  /** The machine key, shown this once: the agent registers with it. */
  machine_key: Type.String(),
});

export const AgentUpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    tags: Type.Optional(Tags),
    group_id: Type.Optional(Type.Union([Id, Type.Null()])),
    notes: Type.Optional(Notes),
    profile_id: Type.Optional(
      Type.Union([Id, Type.Null()], {
        description: 'A deployment profile of the organisation (not a template)',
      }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const AgentDeleteQuery = Type.Object({
  reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
});

export const GroupSchema = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  /** Live agents in the group. */
  agent_count: Type.Integer(),
  /** A profile applied to each agent that enrolls into the group for the first time. */
  auto_profile_id: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const GroupDescription = Type.String({ maxLength: 1000 });

const AutoProfileId = Type.Union([Id, Type.Null()], {
  description: 'A deployment profile (not a template) applied to each agent enrolling into the group',
});

export const GroupCreateBody = Type.Object(
  { name: Name, description: Type.Optional(GroupDescription), auto_profile_id: Type.Optional(AutoProfileId) },
  { additionalProperties: false },
);

export const GroupUpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(GroupDescription),
    auto_profile_id: Type.Optional(AutoProfileId),
  },
  { additionalProperties: false, minProperties: 1 },
);
