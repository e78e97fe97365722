import { Type, type Static } from 'typebox';
import { Interpreter, OsType } from '../../../protocol/jobs.js';
import { Id, Name, ShellText, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';
import { MaskedSecretEnv, MaxAttempts, SecretEnvVars } from '../execution/jobs.schemas.js';
import { MAX_RUN_AGENTS, TargetSchema } from '../execution/runs.schemas.js';
import { ParameterValue } from '../scripts/scripts.schemas.js';

/** Profiles and templates share one table and one set of routes; the path says which. */
export type ProfileKind = 'profile' | 'template';

export const taskActions = ['script', 'command', 'reboot', 'file_copy'] as const;
export const TaskAction = Type.Enum(taskActions, {
  description:
    '`script`: a library script (`script_id`, `parameters`, `secret_env`); `command`: inline ' +
    '`content` run by `interpreter` (`secret_env`); `reboot`: the OS reboot command; `file_copy`: ' +
    'writes `content`, or the file at `source_url` (fetched by the agent), to the absolute path ' +
    '`destination`',
});
export type TaskAction = Static<typeof TaskAction>;

/** A profile holds at most this many tasks. */
export const MAX_TASKS = 100;

const Description = Type.String({ maxLength: 4000 });
const TimeoutSeconds = Type.Integer({ minimum: 1, maximum: 86_400 });
/** A command task's command, or a file_copy's text. */
const Content = ShellText({ minLength: 1, maxLength: 262_144 });
const SourceUrl = Type.String({ minLength: 1, maxLength: 2048 });
const Destination = Type.String({ minLength: 1, maxLength: 1024 });

export const TaskParameterValues = Type.Record(Type.String({ maxLength: 64 }), ParameterValue, {
  maxProperties: 50,
  description: "Values for the script's parameters, checked against its definitions (422)",
});
export type TaskParameterValues = Static<typeof TaskParameterValues>;

const taskFields = {
  name: Name,
  description: Type.Optional(Description),
  action: TaskAction,
  script_id: Type.Optional(Id),
  content: Type.Optional(Content),
  interpreter: Type.Optional(Interpreter),
  parameters: Type.Optional(TaskParameterValues),
  secret_env: Type.Optional(SecretEnvVars),
  source_url: Type.Optional(SourceUrl),
  destination: Type.Optional(Destination),
  continue_on_error: Type.Optional(
    Type.Boolean({ description: 'When this task fails, the next ones still run on that agent' }),
  ),
  timeout_seconds: Type.Optional(TimeoutSeconds),
  max_attempts: Type.Optional(MaxAttempts),
};

export const TaskInput = Type.Object(taskFields, { additionalProperties: false });
export type TaskInput = Static<typeof TaskInput>;

export const TaskCreateBody = Type.Object(
  {
    ...taskFields,
    position: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Where to insert it (0 first); at the end when absent' }),
    ),
  },
  { additionalProperties: false },
);
export type TaskCreateBody = Static<typeof TaskCreateBody>;

const orNull = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Optional(Type.Union([schema, Type.Null()]));

export const TaskUpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    action: Type.Optional(TaskAction),
    script_id: orNull(Id),
    content: orNull(Content),
    interpreter: orNull(Interpreter),
    parameters: Type.Optional(TaskParameterValues),
    secret_env: Type.Optional(SecretEnvVars),
    source_url: orNull(SourceUrl),
    destination: orNull(Destination),
    continue_on_error: Type.Optional(Type.Boolean()),
    timeout_seconds: orNull(TimeoutSeconds),
    max_attempts: orNull(MaxAttempts),
  },
  {
    additionalProperties: false,
    minProperties: 1,
    description: 'null clears a field; a new action drops the fields it does not use',
  },
);
export type TaskUpdateBody = Static<typeof TaskUpdateBody>;

export const TaskSchema = Type.Object({
  id: Id,
  profile_id: Id,
  position: Type.Integer({ description: '0 first' }),
  name: Type.String(),
  description: Type.String(),
  action: TaskAction,
  script_id: Type.Union([Id, Type.Null()]),
  content: Type.Union([Type.String(), Type.Null()]),
  interpreter: Type.Union([Interpreter, Type.Null()]),
  parameters: Type.Record(Type.String(), ParameterValue, {
    description: 'Values of secret parameters are shown masked',
  }),
  secret_env: MaskedSecretEnv,
  source_url: Type.Union([Type.String(), Type.Null()]),
  destination: Type.Union([Type.String(), Type.Null()]),
  continue_on_error: Type.Boolean(),
  timeout_seconds: Type.Union([Type.Integer(), Type.Null()]),
  max_attempts: Type.Union([Type.Integer(), Type.Null()], {
    description: "Its job's max_attempts; a script task's script, else the jobs settings, decide when null",
  }),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const TaskList = Type.Object({
  items: Type.Array(TaskSchema),
  next_cursor: Type.Null({ description: 'Always null: every task comes in one page, in order' }),
});

export const TaskParams = Type.Object({ id: Id, taskId: Id });

export const TaskOrderBody = Type.Object(
  { task_ids: Type.Array(Id, { maxItems: MAX_TASKS, description: 'Every task id, in the new order' }) },
  { additionalProperties: false },
);

export const TaskBulkItem = Type.Object(
  {
    ...taskFields,
    id: Type.Optional(
      Type.String({
        format: 'uuid',
        description:
          'The task this one replaces: a secret given back masked keeps that task’s value (without it, a masked value is refused)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type TaskBulkItem = Static<typeof TaskBulkItem>;

export const TaskBulkBody = Type.Object(
  { tasks: Type.Array(TaskBulkItem, { maxItems: MAX_TASKS }) },
  { additionalProperties: false },
);

const profileFields = {
  id: Id,
  name: Type.String(),
  description: Type.String(),
  target_os_type: Type.Union([OsType, Type.Null()]),
  is_template: Type.Boolean(),
  task_count: Type.Integer(),
  created_by: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
};

export const ProfileSchema = Type.Object(profileFields);
export const ProfileDetailSchema = Type.Object({ ...profileFields, tasks: Type.Array(TaskSchema) });

export const ProfileCreateBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    target_os_type: Type.Optional(OsType),
    tasks: Type.Optional(Type.Array(TaskInput, { maxItems: MAX_TASKS })),
  },
  { additionalProperties: false },
);
export type ProfileCreateBody = Static<typeof ProfileCreateBody>;

export const ProfileUpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    target_os_type: Type.Optional(Type.Union([OsType, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ProfileUpdateBody = Static<typeof ProfileUpdateBody>;

export const ProfileListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    /** Text in the name or description, case-insensitive. */
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  }),
]);

export const InstantiateBody = Type.Object(
  {
    name: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: "The template's when absent" }),
    ),
    description: Type.Optional(Description),
  },
  { additionalProperties: false },
);
export type InstantiateBody = Static<typeof InstantiateBody>;

export const ApplyBody = Type.Object(
  {
    agent_ids: Type.Optional(Type.Array(Id, { minItems: 1, maxItems: MAX_RUN_AGENTS })),
    target: Type.Optional(TargetSchema),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    concurrency: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: MAX_RUN_AGENTS,
        description: 'Agents working through the tasks at once',
      }),
    ),
    failure_threshold: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Failed task jobs (any task, any agent) that stop the run' }),
    ),
    deadline_seconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 7 * 86_400,
        description: 'How long offline agents are waited for',
      }),
    ),
  },
  { additionalProperties: false, description: 'Give `agent_ids` or `target`, not both' },
);
export type ApplyBody = Static<typeof ApplyBody>;
