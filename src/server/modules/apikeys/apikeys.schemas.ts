import { Type } from 'typebox';
import { Id, Name, NullableTimestamp, Timestamp } from '../../http/schemas.js';

export const ApiKeySchema = Type.Object({
  id: Id,
  name: Type.String(),
  prefix: Type.String(),
  role_id: Id,
  created_by: Id,
  created_at: Timestamp,
  expires_at: NullableTimestamp,
  revoked_at: NullableTimestamp,
  last_used_at: NullableTimestamp,
});

export const ApiKeyCreateBody = Type.Object(
  { name: Name, role_id: Id, expires_at: Type.Optional(Timestamp) },
  { additionalProperties: false },
);

export const ApiKeyCreated = Type.Object({
  key: ApiKeySchema,
  /** The whole key, shown this once. */
  secret: Type.String(),
});
