import { Type, type Static } from 'typebox';
import { Interpreter, OsType } from '../../../protocol/jobs.js';
import { Id, ShellText, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';
import { Tag } from '../agents/agents.schemas.js';
import { EnvVars, MaskedSecretEnv, SecretEnvVars } from '../execution/jobs.schemas.js';

/** The most a deploy script may hold, in bytes (a folder's script file is measured so too). */
export const MAX_SCRIPT_BYTES = 256 * 1024;

const NullableInteger = Type.Union([Type.Integer(), Type.Null()]);

const ServiceName = Type.String({
  minLength: 1,
  maxLength: 100,
  description: 'Unique in the organisation; surrounding spaces are trimmed',
});
const Description = Type.String({ maxLength: 2000 });
const TimeoutSeconds = Type.Integer({ minimum: 1, maximum: 86_400 });

const ServiceScript = Type.Object(
  { interpreter: Interpreter, content: ShellText({ maxLength: MAX_SCRIPT_BYTES }) },
  { additionalProperties: false },
);

const ServiceSteps = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  maxItems: 100,
  uniqueItems: true,
  description: 'The step names the deploy script reports, in order',
});

const ServiceSelector = Type.Object(
  {
    tags: Type.Optional(Type.Array(Tag, { maxItems: 20, uniqueItems: true })),
    group_id: Type.Optional(Id),
    os_type: Type.Optional(OsType),
    all: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false, minProperties: 1, description: 'Live agents with all of these' },
);

export const ServiceRunsOn = Type.Union(
  [
    Type.Object({ type: Type.Literal('server') }, { additionalProperties: false }),
    Type.Object({ type: Type.Literal('agent'), agent_id: Id }, { additionalProperties: false }),
    Type.Object(
      { type: Type.Literal('selector'), selector: ServiceSelector },
      { additionalProperties: false },
    ),
  ],
  { description: 'Where the deploy script runs: the server, one agent, or every agent a selector matches' },
);
export type ServiceRunsOn = Static<typeof ServiceRunsOn>;

export const RolloutInput = Type.Object(
  {
    batch_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    batch_percent: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
    canary: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    pause_seconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 86_400 })),
    manual_continue: Type.Optional(Type.Boolean()),
    max_failures: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    max_failure_percent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
  },
  {
    additionalProperties: false,
    description:
      'How a selector deployment proceeds: batches of `batch_size` agents or `batch_percent` of them ' +
      '(not both, 422), a canary batch first, pauses between batches; ignored for server and agent runs',
  },
);
export type RolloutInput = Static<typeof RolloutInput>;

/** A rollout with every default filled; nulls mean "no limit" (one batch, no failure budget). */
export const Rollout = Type.Object({
  batch_size: NullableInteger,
  batch_percent: NullableInteger,
  canary: Type.Integer(),
  pause_seconds: Type.Integer(),
  manual_continue: Type.Boolean(),
  max_failures: NullableInteger,
  max_failure_percent: NullableInteger,
});
export type Rollout = Static<typeof Rollout>;

const ConfigSchema = Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], {
  description: 'The JSON Schema of the config a deployment publishes (it must compile, else 422); null: none',
});

export const ServiceCreateBody = Type.Object(
  {
    name: ServiceName,
    description: Type.Optional(Description),
    script: ServiceScript,
    steps: ServiceSteps,
    runs_on: ServiceRunsOn,
    rollout: Type.Optional(RolloutInput),
    env: Type.Optional(EnvVars),
    secret_env: Type.Optional(SecretEnvVars),
    config_schema: Type.Optional(ConfigSchema),
    timeout_seconds: Type.Optional(TimeoutSeconds),
  },
  { additionalProperties: false },
);
export type ServiceCreateBody = Static<typeof ServiceCreateBody>;

export const ServiceUpdateBody = Type.Partial(ServiceCreateBody, {
  additionalProperties: false,
  minProperties: 1,
});
export type ServiceUpdateBody = Static<typeof ServiceUpdateBody>;

export const ServiceSource = Type.Union([Type.Literal('api'), Type.Literal('directory')]);
export type ServiceSource = Static<typeof ServiceSource>;

export const ServiceSchema = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  script: Type.Object({ interpreter: Type.String(), content: Type.String() }),
  steps: Type.Array(Type.String()),
  runs_on: ServiceRunsOn,
  rollout: Rollout,
  env: Type.Record(Type.String(), Type.String(), {
    description: 'Values under secret-looking names read `********`',
  }),
  secret_env: MaskedSecretEnv,
  config_schema: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  timeout_seconds: Type.Integer(),
  source: ServiceSource,
  folder: Type.Union([Type.String(), Type.Null()], {
    description: 'The services directory folder it came from',
  }),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const ServiceListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    /** Text in the name, case-insensitive. */
    search: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    source: Type.Optional(ServiceSource),
  }),
]);

const ServiceFolderSchema = Type.Object({
  folder: Type.String(),
  name: Type.String({ description: 'The service name it defines (the folder name when it cannot be read)' }),
  valid: Type.Boolean(),
  error: Type.Union([Type.String(), Type.Null()]),
});

export const ServiceFolders = Type.Object({ items: Type.Array(ServiceFolderSchema) });

export const SyncReportSchema = Type.Object(
  {
    created: Type.Array(Type.String()),
    updated: Type.Array(Type.String()),
    unchanged: Type.Array(Type.String()),
    removed: Type.Array(Type.String()),
    invalid: Type.Array(Type.Object({ folder: Type.String(), error: Type.String() })),
  },
  { description: 'Folder names by outcome' },
);
export type SyncReport = Static<typeof SyncReportSchema>;

/** A folder's `service.json`: a service body whose script is a file beside it. */
export const ServiceFile = Type.Object(
  {
    name: Type.Optional(ServiceName),
    description: Type.Optional(Description),
    script: Type.String({ minLength: 1, maxLength: 255 }),
    interpreter: Type.Optional(Interpreter),
    steps: ServiceSteps,
    runs_on: Type.Optional(ServiceRunsOn),
    rollout: Type.Optional(RolloutInput),
    env: Type.Optional(EnvVars),
    secret_env: Type.Optional(SecretEnvVars),
    config_schema: Type.Optional(ConfigSchema),
    timeout_seconds: Type.Optional(TimeoutSeconds),
  },
  { additionalProperties: false },
);
export type ServiceFile = Static<typeof ServiceFile>;
