import { Type, type Static } from 'typebox';
import { Id, Name, NullableTimestamp, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';

export const robotKinds = ['agent', 'runner'] as const;
export const RobotKind = Type.Enum(robotKinds, {
  description:
    '`agent`: lives on one of our agents; `runner`: a runner of its own that registers with a machine key',
});

export const robotStatuses = ['online', 'offline', 'busy'] as const;
export const RobotStatus = Type.Enum(robotStatuses, {
  description:
    'An agent robot follows its agent; a runner is offline after three heartbeat intervals of silence. Busy while it runs a job',
});

export const Pool = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_.-]*$' });
const Pools = Type.Array(Pool, { maxItems: 20 });
const Description = Type.String({ maxLength: 4000 });

export const RobotSchema = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  kind: RobotKind,
  agent_id: Type.Union([Id, Type.Null()]),
  agent_name: Type.Union([Type.String(), Type.Null()]),
  pools: Type.Array(Type.String()),
  credential_asset_id: Type.Union([Id, Type.Null()]),
  status: RobotStatus,
  current_job_id: Type.Union([Id, Type.Null()]),
  last_heartbeat_at: NullableTimestamp,
  has_token: Type.Boolean({
    description: 'Whether a runner holds a robot token (it registered, and it was not revoked)',
  }),
  token_prefix: Type.Union([Type.String(), Type.Null()], {
    description: "The first characters of the runner's token, enough to recognise it",
  }),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const RobotCreateBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    kind: RobotKind,
    agent_id: Type.Optional(Id),
    pools: Type.Optional(Pools),
    credential_asset_id: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type RobotCreateBody = Static<typeof RobotCreateBody>;

export const RobotUpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    pools: Type.Optional(Pools),
    credential_asset_id: Type.Optional(Type.Union([Id, Type.Null()])),
    agent_id: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type RobotUpdateBody = Static<typeof RobotUpdateBody>;

export const RobotCreated = Type.Object({
  robot: RobotSchema,
  machine_key: Type.Union([Type.String(), Type.Null()], {
    description: "A runner's one-time machine key, shown this once; null for an agent robot",
  }),
});

export const MachineKeyIssued = Type.Object({
  robot: RobotSchema,
  machine_key: Type.String({
    description: 'The new one-time machine key, shown this once; the previous one stops working',
  }),
});

export const RobotListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Text in the name' })),
    status: Type.Optional(RobotStatus),
    kind: Type.Optional(RobotKind),
    pool: Type.Optional(Pool),
    agent_id: Type.Optional(Id),
  }),
]);

export const RunnerRegisterBody = Type.Object(
  { name: Name, machine_key: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

export const RunnerRegistered = Type.Object({
  robot_id: Id,
  robot_token: Type.String({
    description: 'The robot token, shown this once: send it as `X-Robot-Token` or a bearer token',
  }),
  heartbeat_interval_seconds: Type.Integer(),
});

export const RunnerHeartbeatBody = Type.Object(
  { status: Type.Optional(Type.Enum(['idle', 'busy'] as const)) },
  { additionalProperties: false },
);

export const RunnerHeartbeatAnswer = Type.Object({
  robot_id: Id,
  heartbeat_interval_seconds: Type.Integer(),
});
