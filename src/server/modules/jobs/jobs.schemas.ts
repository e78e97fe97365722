import { Type } from 'typebox';
import { Interpreter, JobStatus, OsType } from '../../../protocol/jobs.js';
import { Id, NullableTimestamp, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';

const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableInteger = Type.Union([Type.Integer(), Type.Null()]);

export const EnvVars = Type.Record(
  Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 128 }),
  Type.String({ maxLength: 32_768 }),
  {
    maxProperties: 100,
  },
);

export const JobCreateBody = Type.Object(
  {
    interpreter: Interpreter,
    command: Type.String({ minLength: 1, maxLength: 1_000_000 }),
    env: Type.Optional(EnvVars),
    cwd: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    timeout_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    run_as: Type.Optional(
      Type.String({ maxLength: 200, description: 'A note of the account the job should run as' }),
    ),
    target_os_type: Type.Optional(OsType),
  },
  { additionalProperties: false },
);

export const WaitQuery = Type.Object({
  wait: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 300, description: 'Seconds to hold the request until the job ends' }),
  ),
});

export const JobSchema = Type.Object({
  id: Id,
  agent_id: Id,
  run_id: Type.Union([Id, Type.Null()]),
  kind: Type.String(),
  interpreter: Type.String(),
  command: Type.String(),
  script_id: NullableString,
  script_version: NullableInteger,
  env: Type.Record(Type.String(), Type.String()),
  cwd: NullableString,
  run_as: NullableString,
  timeout_seconds: Type.Integer(),
  status: JobStatus,
  attempt: Type.Integer(),
  max_attempts: Type.Integer(),
  exit_code: NullableInteger,
  duration_ms: NullableInteger,
  error: NullableString,
  output_bytes: Type.Integer(),
  output_truncated: Type.Boolean(),
  cancel_requested_at: NullableTimestamp,
  lease_expires_at: NullableTimestamp,
  created_at: Timestamp,
  dispatched_at: NullableTimestamp,
  started_at: NullableTimestamp,
  finished_at: NullableTimestamp,
  task_index: Type.Union([Type.Integer(), Type.Null()], {
    description: "In a profile run: the task's place in the profile, 0 first",
  }),
  task_name: NullableString,
});

export const JobWithOutputSchema = Type.Object(
  {
    ...JobSchema.properties,
    output: Type.String({
      description: 'The whole output (stdout and stderr interleaved in order), with a note when truncated',
    }),
  },
  { description: 'A job that ended while the request waited, with its output' },
);

export const JobListQuery = Type.Intersect([
  PageQuery,
  Type.Object({ agent_id: Type.Optional(Id), run_id: Type.Optional(Id), status: Type.Optional(JobStatus) }),
]);

export const OutputQuery = Type.Object({
  format: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('json')])),
});

export const OutputChunks = Type.Object({
  job_id: Id,
  attempt: Type.Integer(),
  truncated: Type.Boolean(),
  chunks: Type.Array(
    Type.Object({ seq: Type.Integer(), stream: Type.String(), data: Type.String(), created_at: Timestamp }),
  ),
});
