import { Type, type Static } from 'typebox';
import { ENV_NAME_PATTERN, Interpreter, JobStatus, OsType } from '../../../protocol/jobs.js';
import { Id, NullableTimestamp, ShellText, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';
import { Tag } from '../agents/agents.schemas.js';

const NullableString = Type.Union([Type.String(), Type.Null()]);
const NullableInteger = Type.Union([Type.Integer(), Type.Null()]);

/** The name rule (src/protocol/jobs.ts) as `propertyNames`: AJV enforces it and /openapi.json shows it. */
const EnvName = Type.String({ pattern: ENV_NAME_PATTERN, maxLength: 128 });
const EnvValue = Type.String({ maxLength: 32_768 });
const NAMES =
  'Names: letters, digits and `_`, not starting with a digit, at most 128 characters (else 400); ' +
  "names starting with `FP_` are Fleetplane's own, and a name given twice (names ignore case, as " +
  'on Windows) is refused (422).';

export const EnvVars = Type.Record(Type.String(), EnvValue, {
  propertyNames: EnvName,
  maxProperties: 100,
  description:
    `Environment variables of the job. ${NAMES} Values under secret-looking names are stored ` +
    'sealed and shown masked.',
});

export const SecretEnvVars = Type.Record(Type.String(), EnvValue, {
  propertyNames: EnvName,
  maxProperties: 50,
  description:
    'Secret environment variables: stored sealed, always shown as `********`, set in the ' +
    "job's environment on the agent only; editing a task or schedule, a value sent back as " +
    `\`********\` keeps the stored one. ${NAMES}`,
});

/** How a job, run, task or schedule shows its `secret_env`: the names, every value masked. */
export const MaskedSecretEnv = Type.Record(Type.String(), Type.String(), {
  description: 'Secret environment variables by name; every value reads `********`',
});

/** A job's, script's or task's `max_attempts`. */
export const MaxAttempts = Type.Integer({
  minimum: 1,
  maximum: 20,
  description:
    'How many times the job may start. 1 (the default, from the jobs settings) runs it at most ' +
    'once: if its agent vanishes while running it, it ends `lost` and is not run again. Above 1, ' +
    'such a job is queued again until its attempts are used up: only for idempotent work',
});

export const JobCreateBody = Type.Object(
  {
    interpreter: Interpreter,
    command: ShellText({ minLength: 1, maxLength: 1_000_000 }),
    env: Type.Optional(EnvVars),
    secret_env: Type.Optional(SecretEnvVars),
    cwd: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    timeout_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400 })),
    run_as: Type.Optional(
      Type.String({ maxLength: 200, description: 'A note of the account the job should run as' }),
    ),
    target_os_type: Type.Optional(OsType),
    max_attempts: Type.Optional(MaxAttempts),
  },
  { additionalProperties: false },
);

export const PoolSelector = Type.Object(
  {
    tags: Type.Optional(Type.Array(Tag, { maxItems: 20, uniqueItems: true })),
    group_id: Type.Optional(Id),
    os_type: Type.Optional(OsType),
    capabilities: Type.Optional(
      Type.Array(Interpreter, {
        maxItems: 10,
        uniqueItems: true,
        description: 'Interpreters the agent reports',
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Any one agent with all of these may run the job (`{}`: any agent of the organisation); ' +
      '`os_type` windows covers both Windows kinds, linux every distribution',
  },
);

/** Who may run a pooled job: any one agent with all of these (an absent field matches every agent). */
export type PoolSelector = Static<typeof PoolSelector>;

/** A pooled process job's pool: any robot of `robot_pool` (any robot when null). */
export const RobotPoolSchema = Type.Object({ robot_pool: Type.Union([Type.String(), Type.Null()]) });

const { target_os_type: _onePoolOs, ...jobFields } = JobCreateBody.properties;

/** A job for any one agent of a pool: the pool's `os_type` stands for `target_os_type`. */
export const PooledJobCreateBody = Type.Object(
  { ...jobFields, pool: PoolSelector },
  { additionalProperties: false },
);

export const WaitQuery = Type.Object({
  wait: Type.Optional(
    Type.Integer({ minimum: 0, maximum: 300, description: 'Seconds to hold the request until the job ends' }),
  ),
});

export const JobSchema = Type.Object({
  id: Id,
  agent_id: Type.Union([Id, Type.Null()], { description: 'Null while a pooled job waits for an agent' }),
  agent_name: Type.Union([Type.String(), Type.Null()], {
    description: "The agent's name; null with no agent",
  }),
  pool: Type.Union([PoolSelector, RobotPoolSchema, Type.Null()], {
    description:
      'Who may take a pooled job (agents, or for a process job the robots of a pool); null for one agent’s',
  }),
  robot_id: Type.Union([Id, Type.Null()], { description: 'The robot running a process job' }),
  run_id: Type.Union([Id, Type.Null()]),
  kind: Type.String(),
  interpreter: Type.String(),
  command: Type.String(),
  script_id: NullableString,
  script_version: NullableInteger,
  env: Type.Record(Type.String(), Type.String()),
  secret_env: MaskedSecretEnv,
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

export const RunJobsQuery = Type.Intersect([PageQuery, Type.Object({ status: Type.Optional(JobStatus) })]);

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
