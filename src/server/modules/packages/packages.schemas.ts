import { Type, type Static } from 'typebox';
import { Id, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';
import { MAX_VERSION_LENGTH } from '../../lib/semver.js';

export const packageLanguages = ['python', 'node', 'powershell', 'sh'] as const;
export const PackageLanguage = Type.Enum(packageLanguages);

/** Lower-case letters and digits, with `-`, `_` or `.` between them: safe in a file name. */
export const PackageName = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$',
});

/** A JSON Schema object for an entry point's input; proved to compile when the package is uploaded. */
const InputSchema = Type.Record(Type.String(), Type.Unknown(), {
  description: "JSON Schema of the entry point's input",
});

export const EntryPoint = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9](?:[A-Za-z0-9._-]*)$' }),
    path: Type.String({ minLength: 1, maxLength: 1000, description: 'A file of the zip, from its root' }),
    language: PackageLanguage,
    input_schema: Type.Optional(InputSchema),
  },
  { additionalProperties: false },
);
export type EntryPoint = Static<typeof EntryPoint>;

/** `fleetplane.json` at the root of a package zip. */
export const Manifest = Type.Object(
  {
    name: PackageName,
    version: Type.String({ minLength: 1, maxLength: MAX_VERSION_LENGTH, description: 'Semantic version' }),
    description: Type.Optional(Type.String({ maxLength: 4000 })),
    entry_points: Type.Array(EntryPoint, { minItems: 1, maxItems: 100 }),
  },
  { additionalProperties: false },
);
export type Manifest = Static<typeof Manifest>;

const packageFields = {
  id: Id,
  name: Type.String(),
  version: Type.String(),
  description: Type.String(),
  hash: Type.String({ description: 'Hex SHA-256 of the zip' }),
  size: Type.Integer({ description: 'Bytes of the zip' }),
  entry_points: Type.Array(EntryPoint),
  active: Type.Boolean({ description: 'Only active versions are picked when no version is named' }),
  created_by: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
};

export const PackageSchema = Type.Object(packageFields);

export const PackageDetailSchema = Type.Object({
  ...packageFields,
  manifest: Type.Record(Type.String(), Type.Unknown(), { description: 'fleetplane.json as uploaded' }),
});

export const PackageListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    name: Type.Optional(PackageName),
    /** Text in the name or description, case-insensitive. */
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    active: Type.Optional(Type.Boolean()),
  }),
]);

export const HashParams = Type.Object({ hash: Type.String({ pattern: '^[0-9a-f]{64}$' }) });
