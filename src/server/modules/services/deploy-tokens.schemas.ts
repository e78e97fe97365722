import { Type } from 'typebox';
import { Id, NullableTimestamp, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';

/** The most days a deploy token lives: every token expires. */
export const MAX_TOKEN_DAYS = 180;

const Kind = Type.Union([Type.Literal('service'), Type.Literal('config')]);

export const DeployTokenSchema = Type.Object({
  id: Id,
  kind: Kind,
  service_id: Type.Union([Id, Type.Null()]),
  service_name: Type.Union([Type.String(), Type.Null()]),
  origin: Type.String(),
  prefix: Type.String({ description: 'The first characters of the secret; the rest is never shown again' }),
  created_at: Timestamp,
  expires_at: Timestamp,
  revoked_at: NullableTimestamp,
  last_used_at: NullableTimestamp,
  status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
});

export const DeployTokenCreateBody = Type.Object(
  {
    kind: Kind,
    service_id: Type.Optional(
      Type.String({
        format: 'uuid',
        description: 'Required for a service token, refused (422) for a config token',
      }),
    ),
    origin: Type.String({
      pattern: '^[a-z0-9][a-z0-9_.-]{0,39}$',
      description: 'Where the token is used: github, gitlab, …',
    }),
    expires_in_days: Type.Integer({ description: `1 to ${MAX_TOKEN_DAYS} (else 422)` }),
  },
  { additionalProperties: false },
);

export const DeployTokenCreated = Type.Object({
  token: DeployTokenSchema,
  secret: Type.String({ description: 'The whole token, shown this once: `fpst_…` or `fpct_…`' }),
});

export const DeployTokenListQuery = Type.Intersect([
  PageQuery,
  Type.Object({ kind: Type.Optional(Kind), service_id: Type.Optional(Id) }),
]);
