import { Type } from 'typebox';
import { Email, Id, Name, Password, Timestamp } from '../../http/schemas.js';
import { OrgSchema } from '../orgs/orgs.schemas.js';
import { RoleSchema } from '../access/access.schemas.js';

export const UserSchema = Type.Object({
  id: Id,
  email: Type.String(),
  name: Type.String(),
  created_at: Timestamp,
});

/** `cookie`: the refresh token goes in the httpOnly `fp_refresh` cookie, not in the answer. */
export const SessionMode = Type.Optional(
  Type.Literal('cookie', {
    description: 'keep the refresh token in the httpOnly fp_refresh cookie (browsers) instead of the body',
  }),
);

export const LoginResultSchema = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.Optional(
    Type.String({ description: 'absent for a cookie session: the fp_refresh cookie holds it' }),
  ),
  user: UserSchema,
  org: OrgSchema,
});

export const SignupBody = Type.Object(
  {
    email: Email,
    password: Password,
    name: Name,
    org_name: Type.Optional(Name),
    invite_token: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

export const LoginBody = Type.Object(
  { email: Email, password: Password, org_id: Type.Optional(Id), session: SessionMode },
  { additionalProperties: false },
);

export const TokenBody = Type.Object({
  grant_type: Type.Union([Type.Literal('password'), Type.Literal('refresh_token')]),
  username: Type.Optional(Type.String({ maxLength: 254 })),
  password: Type.Optional(Password),
  refresh_token: Type.Optional(Type.String({ maxLength: 200 })),
  scope: Type.Optional(Type.String({ maxLength: 200 })),
});

export const TokenResult = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
});

export const RefreshBody = Type.Object(
  {
    refresh_token: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'when absent, the fp_refresh cookie, with the X-CSRF-Token header',
      }),
    ),
    session: SessionMode,
  },
  { additionalProperties: false },
);

export const PasswordChangeBody = Type.Object(
  { current_password: Password, new_password: Password },
  { additionalProperties: false },
);

export const ResetRequestBody = Type.Object({ email: Email }, { additionalProperties: false });
export const ResetConfirmBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 200 }), new_password: Password },
  { additionalProperties: false },
);

export const SwitchOrgBody = Type.Object(
  { org_id: Id, session: SessionMode },
  { additionalProperties: false },
);

export const ActorSchema = Type.Object({
  type: Type.String(),
  id: Type.Union([Type.String(), Type.Null()]),
  label: Type.Union([Type.String(), Type.Null()]),
});

export const MeSchema = Type.Object({
  user: Type.Union([UserSchema, Type.Null()]),
  actor: ActorSchema,
  org: OrgSchema,
  orgs: Type.Array(OrgSchema),
  roles: Type.Array(RoleSchema),
  permissions: Type.Array(Type.String()),
});
