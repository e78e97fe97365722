import { Type, type Static } from 'typebox';
import { Id, Name, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';
import { PackageName } from '../packages/packages.schemas.js';
import { Pool } from '../robots/robots.schemas.js';

/** A strict semver 2.0.0 version, as package manifests carry. */
export const SEMVER_PATTERN =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)' +
  '(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?' +
  '(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$';

const PackageVersion = Type.Union([Type.String({ maxLength: 100, pattern: SEMVER_PATTERN }), Type.Null()], {
  description: 'A semver version of the package; null runs its latest active version',
});
const EntryPointName = Type.String({ minLength: 1, maxLength: 200 });
const Description = Type.String({ maxLength: 4000 });
/** Input values of any JSON shape, by name; the entry point's input_schema (when it has one) says what fits. */
export const ProcessInput = Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), {
  maxProperties: 200,
});
export type ProcessInput = Static<typeof ProcessInput>;
const TimeoutSeconds = Type.Integer({ minimum: 1, maximum: 86_400 });
const MaxAttempts = Type.Integer({
  minimum: 1,
  maximum: 10,
  description: 'How many times a job of the process may start; 1 never retries',
});
const RetryDelaySeconds = Type.Integer({ minimum: 0, maximum: 3600 });
const AssetName = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.-]+$' });
const AssetNames = Type.Array(AssetName, {
  maxItems: 50,
  description: 'Names of the credential assets its jobs read',
});
const RobotPool = Type.Union([Pool, Type.Null()], {
  description: 'The robot pool whose robots may run it; null: any robot of the organisation',
});

export const EntryPointSchema = Type.Object({
  name: Type.String(),
  path: Type.String(),
  language: Type.String(),
  input_schema: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
});

export const ProcessSchema = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  package_name: Type.String(),
  package_version: Type.Union([Type.String(), Type.Null()]),
  entry_point: Type.String(),
  default_input: Type.Record(Type.String(), Type.Unknown()),
  timeout_seconds: Type.Integer(),
  max_attempts: Type.Integer(),
  retry_delay_seconds: Type.Integer(),
  robot_pool: Type.Union([Type.String(), Type.Null()]),
  assets: Type.Array(Type.String()),
  version: Type.Integer({ description: 'The current version; every change to what or how it runs adds one' }),
  created_by: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const CurrentPackageSchema = Type.Object({
  id: Id,
  name: Type.String(),
  version: Type.String(),
  hash: Type.String(),
  active: Type.Boolean(),
});

export const ProcessDetailSchema = Type.Object({
  ...ProcessSchema.properties,
  current_package: Type.Union([CurrentPackageSchema, Type.Null()], {
    description: 'The package version the process resolves to now; null when none does',
  }),
  current_entry_point: Type.Union([EntryPointSchema, Type.Null()], {
    description: 'The entry point in that package, with its input_schema; null when it has none of that name',
  }),
  resolve_error: Type.Union([Type.String(), Type.Null()], {
    description: 'Why the process resolves to no package or entry point now; null when it does',
  }),
});

export const ProcessCreateBody = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    package_name: PackageName,
    package_version: Type.Optional(PackageVersion),
    entry_point: EntryPointName,
    default_input: Type.Optional(ProcessInput),
    timeout_seconds: Type.Optional(TimeoutSeconds),
    max_attempts: Type.Optional(MaxAttempts),
    retry_delay_seconds: Type.Optional(RetryDelaySeconds),
    robot_pool: Type.Optional(RobotPool),
    assets: Type.Optional(AssetNames),
  },
  { additionalProperties: false },
);
export type ProcessCreateBody = Static<typeof ProcessCreateBody>;

export const ProcessUpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    package_name: Type.Optional(PackageName),
    package_version: Type.Optional(PackageVersion),
    entry_point: Type.Optional(EntryPointName),
    default_input: Type.Optional(ProcessInput),
    timeout_seconds: Type.Optional(TimeoutSeconds),
    max_attempts: Type.Optional(MaxAttempts),
    retry_delay_seconds: Type.Optional(RetryDelaySeconds),
    robot_pool: Type.Optional(RobotPool),
    assets: Type.Optional(AssetNames),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type ProcessUpdateBody = Static<typeof ProcessUpdateBody>;

export const ProcessListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    package_name: Type.Optional(PackageName),
    /** Text in the name or description, case-insensitive. */
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  }),
]);

export const ProcessVersionSchema = Type.Object({
  process_id: Id,
  version: Type.Integer(),
  package_name: Type.String(),
  package_version: Type.Union([Type.String(), Type.Null()]),
  entry_point: Type.String(),
  default_input: Type.Record(Type.String(), Type.Unknown()),
  timeout_seconds: Type.Integer(),
  max_attempts: Type.Integer(),
  retry_delay_seconds: Type.Integer(),
  robot_pool: Type.Union([Type.String(), Type.Null()]),
  assets: Type.Array(Type.String()),
  created_by: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
});

export const ProcessVersionParams = Type.Object({ id: Id, version: Type.Integer({ minimum: 1 }) });
