import { Type } from 'typebox';
import { Id, Name, NullableTimestamp, Timestamp } from '../../http/schemas.js';
import { Tags } from '../agents/agents.schemas.js';

export const EnrollmentTokenSchema = Type.Object({
  id: Id,
  name: Type.String(),
  /** The first characters of the token, enough to recognise it; the rest is never shown again. */
  prefix: Type.String(),
  expires_at: NullableTimestamp,
  max_uses: Type.Union([Type.Integer(), Type.Null()]),
  uses: Type.Integer(),
  /** Given to every agent that enrolls with the token. */
  tags: Type.Array(Type.String()),
  group_id: Type.Union([Id, Type.Null()]),
  created_by: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
  revoked_at: NullableTimestamp,
  status: Type.Union([
    Type.Literal('active'),
    Type.Literal('revoked'),
    Type.Literal('expired'),
    Type.Literal('exhausted'),
  ]),
});

export const EnrollmentTokenCreateBody = Type.Object(
  {
    name: Name,
    expires_at: Type.Optional(Timestamp),
    max_uses: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    tags: Type.Optional(Tags),
    group_id: Type.Optional(Id),
  },
  { additionalProperties: false },
);

export const EnrollmentTokenCreated = Type.Object({
  enrollment_token: EnrollmentTokenSchema,
  /** The whole token, shown this once: agents enroll with it. */
  secret: Type.String(),
});
