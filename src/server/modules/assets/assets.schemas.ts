import { Type, type Static } from 'typebox';
import { Id, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';
import { assetTypes, MAX_TEXT_LENGTH } from './assets.values.js';

export const AssetType = Type.Enum(assetTypes, {
  description: 'credential: {username, password}; every value of every type is stored encrypted',
});

const AssetName = Type.String({
  pattern: '^[A-Za-z0-9_.-]{1,100}$',
  description: 'Unique in the organisation: letters, digits, `_`, `-` and `.`, at most 100',
});
const Description = Type.String({ maxLength: 2000 });

/**
 * A value in any type's shape; the asset's type decides which fits (422 per field otherwise):
 * text and secret a string, integer an integer, boolean a boolean, credential {username, password}.
 */
export const AssetValueInput = Type.Union([
  Type.String({ maxLength: MAX_TEXT_LENGTH }),
  Type.Number(),
  Type.Boolean(),
  // Parts optional here so a missing one is a 422 naming it, as every other misfit is.
  Type.Object({
    username: Type.Optional(Type.String({ maxLength: MAX_TEXT_LENGTH })),
    password: Type.Optional(Type.String({ maxLength: MAX_TEXT_LENGTH })),
  }),
]);

/** A stored value as every read shows it: that it exists, never what it is. */
export const AssetValueSchema = Type.Object({
  robot_id: Type.Union([Id, Type.Null()], { description: 'Null: the global value' }),
  username: Type.Union([Type.String(), Type.Null()], {
    description: "A credential's username (not a secret); null for every other type",
  }),
  updated_at: Timestamp,
});

export const AssetSchema = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  type: AssetType,
  has_value: Type.Boolean({ description: 'A global or at least one per-robot value is set' }),
  global_value: Type.Union([AssetValueSchema, Type.Null()]),
  robot_value_count: Type.Integer(),
  created_by: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const AssetDetailSchema = Type.Object({
  ...AssetSchema.properties,
  robot_values: Type.Array(AssetValueSchema),
});

export const AssetCreateBody = Type.Object(
  {
    name: AssetName,
    description: Type.Optional(Description),
    type: AssetType,
    value: Type.Optional(AssetValueInput),
  },
  { additionalProperties: false },
);
export type AssetCreateBody = Static<typeof AssetCreateBody>;

export const AssetUpdateBody = Type.Object(
  { name: Type.Optional(AssetName), description: Type.Optional(Description) },
  { additionalProperties: false, description: 'The type cannot change: the values were checked against it' },
);
export type AssetUpdateBody = Static<typeof AssetUpdateBody>;

export const AssetValueBody = Type.Object({ value: AssetValueInput }, { additionalProperties: false });

export const AssetListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    type: Type.Optional(AssetType),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'In name or description' })),
  }),
]);

export const AssetRobotParams = Type.Object({ id: Id, robotId: Id });
