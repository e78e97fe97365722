import { Type } from 'typebox';
import { Id, NullableTimestamp, Timestamp } from '../../http/schemas.js';

export const DeviceStartBody = Type.Object(
  {
    client_name: Type.Optional(
      Type.String({ minLength: 1, maxLength: 100, description: 'Shown to the user who confirms' }),
    ),
  },
  { additionalProperties: false },
);

export const DeviceStartResult = Type.Object({
  device_code: Type.String({ description: 'The SDK keeps it secret and polls the token endpoint with it' }),
  user_code: Type.String({ description: 'XXXX-XXXX, for the user to type at verification_uri' }),
  verification_uri: Type.String(),
  verification_uri_complete: Type.String(),
  expires_in: Type.Integer({ description: 'Seconds' }),
  interval: Type.Integer({ description: 'Seconds to wait between polls' }),
});

const UserCode = Type.String({ minLength: 1, maxLength: 20, description: 'Case, dashes and spaces ignored' });

export const DeviceConfirmBody = Type.Object(
  {
    user_code: UserCode,
    approve: Type.Boolean(),
    org_id: Type.Optional(Id),
  },
  { additionalProperties: false },
);

export const DeviceSchema = Type.Object({
  user_code: Type.String(),
  client_name: Type.String(),
  status: Type.Enum(['pending', 'confirmed', 'denied', 'expired']),
  created_at: Timestamp,
  expires_at: Timestamp,
});

export const DeviceTokenBody = Type.Object(
  { device_code: Type.String({ minLength: 1, maxLength: 200 }) },
  { additionalProperties: false },
);

export const DeviceTokenResult = Type.Union([
  Type.Object({ status: Type.Literal('pending') }),
  Type.Object({ status: Type.Literal('slow_down'), interval: Type.Integer() }),
  Type.Object({ status: Type.Literal('denied') }),
  Type.Object({ status: Type.Literal('expired') }),
  Type.Object({
    status: Type.Literal('confirmed'),
    access_token: Type.String({ description: 'Shown this once; send it as a bearer token' }),
    token_type: Type.Literal('bearer'),
    expires_at: Timestamp,
    scope: Type.String({ description: 'Space-separated permissions, of those the user holds' }),
  }),
]);

export const SdkTokenSchema = Type.Object({
  id: Id,
  client_name: Type.String(),
  prefix: Type.String(),
  scope: Type.String(),
  created_at: Timestamp,
  expires_at: Timestamp,
  revoked_at: NullableTimestamp,
  last_used_at: NullableTimestamp,
});
