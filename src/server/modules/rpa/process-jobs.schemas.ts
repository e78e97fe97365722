import { Type, type Static } from 'typebox';
import { JobStatus } from '../../../protocol/jobs.js';
import { Id, NullableTimestamp, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';

const NullableId = Type.Union([Id, Type.Null()]);
const PoolName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[a-z0-9][a-z0-9_.-]*$' });

export const ProcessJobCreateBody = Type.Object(
  {
    process_id: Id,
    /** Merged over the process's default input and checked against its entry point's schema. */
    input: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    robot_id: Type.Optional(Id),
  },
  {
    additionalProperties: false,
    description: "Without robot_id, any robot of the process's pool takes it (a pooled job)",
  },
);
export type ProcessJobCreateBody = Static<typeof ProcessJobCreateBody>;

export const ProcessJobListQuery = Type.Object({
  ...PageQuery.properties,
  process_id: Type.Optional(Id),
  robot_id: Type.Optional(Id),
  status: Type.Optional(JobStatus),
});

export const ProcessJobReassignBody = Type.Object(
  {
    robot_id: Type.Optional(Id),
    robot_pool: Type.Optional(Type.Union([PoolName, Type.Null()])),
  },
  { additionalProperties: false, description: 'One robot, or a pool (null: any robot)' },
);

export const ProcessJobStatusBody = Type.Object(
  {
    status: Type.Union([Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('canceled')]),
    reason: Type.String({ minLength: 1, maxLength: 1000 }),
  },
  { additionalProperties: false },
);

export const ProcessJobSchema = Type.Object({
  id: Id,
  process_id: Id,
  process_name: Type.String(),
  process_version: Type.Integer(),
  package_id: Id,
  package_name: Type.String(),
  package_version: Type.String(),
  package_hash: Type.String(),
  entry_point: Type.String({ description: "The entry point's name" }),
  input: Type.Unknown(),
  queue_id: Type.Union([Id, Type.Null()], {
    description: 'The queue whose trigger started it (its FP_QUEUE_ID)',
  }),
  retry_of: Type.Union([Id, Type.Null()], { description: 'The first job of the chain this one retries' }),
  retry_number: Type.Integer({ description: 'How many jobs of the chain failed before this one' }),
  robot_id: NullableId,
  robot_pool: Type.Union([Type.String(), Type.Null()], {
    description: 'The pool of a pooled job; null for one robot’s or any robot’s',
  }),
  pooled: Type.Boolean(),
  agent_id: NullableId,
  status: JobStatus,
  attempt: Type.Integer(),
  max_attempts: Type.Integer(),
  timeout_seconds: Type.Integer(),
  result: Type.Unknown({ description: 'The JSON the process wrote; null when none' }),
  error: Type.Union([Type.String(), Type.Null()]),
  exit_code: Type.Union([Type.Integer(), Type.Null()]),
  duration_ms: Type.Union([Type.Integer(), Type.Null()]),
  cancel_requested_at: NullableTimestamp,
  created_at: Timestamp,
  dispatched_at: NullableTimestamp,
  started_at: NullableTimestamp,
  finished_at: NullableTimestamp,
});
