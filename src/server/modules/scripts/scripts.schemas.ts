import { Type, type Static } from 'typebox';
import { OsType } from '../../../protocol/jobs.js';
import { Id, Name, ShellText, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';
import { Tag, Tags } from '../agents/agents.schemas.js';
import { MaxAttempts, SecretEnvVars } from '../execution/jobs.schemas.js';
import { MAX_RUN_AGENTS, TargetSchema } from '../execution/runs.schemas.js';

export const scriptLanguages = ['bash', 'sh', 'powershell', 'python', 'cmd'] as const;
export const ScriptLanguage = Type.Enum(scriptLanguages);
export type ScriptLanguage = Static<typeof ScriptLanguage>;

export const scriptKinds = ['script', 'command'] as const;
export const ScriptKind = Type.Enum(scriptKinds, {
  description: 'A `command` is a one-line script kept for quick use in the console',
});
export type ScriptKind = Static<typeof ScriptKind>;

export const parameterTypes = ['string', 'number', 'boolean', 'enum', 'secret'] as const;

/** A value given for a parameter; its type is checked against the definition by the service (422). */
export const ParameterValue = Type.Union([Type.String({ maxLength: 32_768 }), Type.Number(), Type.Boolean()]);
export type ParameterValue = Static<typeof ParameterValue>;

export const ParameterDefinition = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', maxLength: 64 }),
    type: Type.Enum(parameterTypes),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    default: Type.Optional(ParameterValue),
    required: Type.Optional(Type.Boolean()),
    values: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 100 }),
    ),
  },
  { additionalProperties: false },
);
export type ParameterDefinition = Static<typeof ParameterDefinition>;

const Content = ShellText({ minLength: 1, maxLength: 262_144 });
const Description = Type.String({ maxLength: 4000 });
const Parameters = Type.Array(ParameterDefinition, { maxItems: 50 });
const TimeoutSeconds = Type.Integer({ minimum: 1, maximum: 86_400 });

export const ScriptSchema = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  kind: ScriptKind,
  language: ScriptLanguage,
  content: Type.String(),
  target_os_type: Type.Union([OsType, Type.Null()]),
  parameters: Type.Array(ParameterDefinition),
  tags: Type.Array(Type.String()),
  timeout_seconds: Type.Union([Type.Integer(), Type.Null()]),
  max_attempts: Type.Union([Type.Integer(), Type.Null()], {
    description: "Its jobs' max_attempts; the jobs settings' default (1: at most once) when null",
  }),
  version: Type.Integer({ description: 'The current version; every change to what runs adds one' }),
  created_by: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const ScriptCreateBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    kind: Type.Optional(ScriptKind),
    language: ScriptLanguage,
    content: Content,
    target_os_type: Type.Optional(OsType),
    parameters: Type.Optional(Parameters),
    tags: Type.Optional(Tags),
    timeout_seconds: Type.Optional(TimeoutSeconds),
    max_attempts: Type.Optional(MaxAttempts),
  },
  { additionalProperties: false },
);
export type ScriptCreateBody = Static<typeof ScriptCreateBody>;

export const ScriptUpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    kind: Type.Optional(ScriptKind),
    language: Type.Optional(ScriptLanguage),
    content: Type.Optional(Content),
    target_os_type: Type.Optional(Type.Union([OsType, Type.Null()])),
    parameters: Type.Optional(Parameters),
    tags: Type.Optional(Tags),
    timeout_seconds: Type.Optional(Type.Union([TimeoutSeconds, Type.Null()])),
    max_attempts: Type.Optional(Type.Union([MaxAttempts, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ScriptUpdateBody = Static<typeof ScriptUpdateBody>;

export const ScriptListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    kind: Type.Optional(ScriptKind),
    language: Type.Optional(ScriptLanguage),
    tag: Type.Optional(Tag),
    /** Text in the name or description, case-insensitive. */
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  }),
]);

export const ScriptVersionSchema = Type.Object({
  script_id: Id,
  version: Type.Integer(),
  language: ScriptLanguage,
  content: Type.String(),
  parameters: Type.Array(ParameterDefinition),
  created_by: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
});

export const VersionParams = Type.Object({ id: Id, version: Type.Integer({ minimum: 1 }) });

const ParameterValues = Type.Record(Type.String({ maxLength: 64 }), ParameterValue, {
  maxProperties: 50,
  description:
    'Values by parameter name. Each reaches the script as an environment variable, ' +
    'FP_PARAM_<NAME> (FP_SECRET_<NAME> for secrets), never as script text',
});

export const ScriptRunBody = Type.Object(
  {
    agent_id: Id,
    parameters: Type.Optional(ParameterValues),
    secret_env: Type.Optional(SecretEnvVars),
    timeout_seconds: Type.Optional(TimeoutSeconds),
    max_attempts: Type.Optional(MaxAttempts),
  },
  { additionalProperties: false },
);
export type ScriptRunBody = Static<typeof ScriptRunBody>;

export const ScriptExecuteBody = Type.Object(
  {
    target: TargetSchema,
    parameters: Type.Optional(ParameterValues),
    secret_env: Type.Optional(SecretEnvVars),
    name: Type.Optional(Type.String({ maxLength: 200 })),
    timeout_seconds: Type.Optional(TimeoutSeconds),
    max_attempts: Type.Optional(MaxAttempts),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_RUN_AGENTS })),
    failure_threshold: Type.Optional(Type.Integer({ minimum: 1 })),
    deadline_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 7 * 86_400 })),
  },
  { additionalProperties: false },
);
export type ScriptExecuteBody = Static<typeof ScriptExecuteBody>;
