import { Type } from 'typebox';
import { Email, Id, Timestamp } from '../../http/schemas.js';

const PermissionList = Type.Array(Type.String({ maxLength: 100 }), { maxItems: 500 });

export const RoleSchema = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  builtin: Type.Boolean(),
  permissions: Type.Array(Type.String()),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const RoleName = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9_.-]*$' });

export const RoleCreateBody = Type.Object(
  {
    name: RoleName,
    description: Type.Optional(Type.String({ maxLength: 500 })),
    permissions: PermissionList,
  },
  { additionalProperties: false },
);

export const RoleUpdateBody = Type.Object(
  {
    name: Type.Optional(RoleName),
    description: Type.Optional(Type.String({ maxLength: 500 })),
    permissions: Type.Optional(PermissionList),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const MemberSchema = Type.Object({
  id: Id,
  email: Type.String(),
  name: Type.String(),
  joined_at: Timestamp,
  roles: Type.Array(Type.Object({ id: Id, name: Type.String() })),
});

export const MemberRolesBody = Type.Object(
  { role_ids: Type.Array(Id, { minItems: 1, maxItems: 50 }) },
  { additionalProperties: false },
);

export const InviteSchema = Type.Object({
  id: Id,
  email: Type.String(),
  role_id: Id,
  created_by: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
  expires_at: Timestamp,
  status: Type.Union([
    Type.Literal('pending'),
    Type.Literal('accepted'),
    Type.Literal('revoked'),
    Type.Literal('expired'),
  ]),
});

export const InviteCreateBody = Type.Object({ email: Email, role_id: Id }, { additionalProperties: false });
export const InviteCreated = Type.Object({ invite: InviteSchema, token: Type.String() });

export const PermissionCatalogue = Type.Object({
  artifacts: Type.Record(Type.String(), Type.Array(Type.String())),
  builtin_roles: Type.Record(Type.String(), Type.Array(Type.String())),
});
