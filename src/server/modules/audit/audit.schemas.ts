import { Type } from 'typebox';
import { Id, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';
import { auditActions } from './audit.service.js';

const Nullable = Type.Union([Type.String(), Type.Null()]);
const AuditAction = Type.Enum(auditActions);

export const AuditEventSchema = Type.Object({
  id: Id,
  actor_type: Type.String(),
  actor_id: Nullable,
  actor_label: Nullable,
  action: Type.String(),
  entity_type: Type.String(),
  entity_id: Nullable,
  before: Type.Unknown(),
  after: Type.Unknown(),
  ip: Nullable,
  user_agent: Nullable,
  request_id: Nullable,
  created_at: Timestamp,
});

export const AuditQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    from: Type.Optional(Timestamp),
    to: Type.Optional(Timestamp),
    actor_id: Type.Optional(Type.String({ maxLength: 100 })),
    actor_type: Type.Optional(Type.String({ maxLength: 20 })),
    action: Type.Optional(AuditAction),
    entity_type: Type.Optional(Type.String({ maxLength: 50 })),
    entity_id: Type.Optional(Type.String({ maxLength: 100 })),
    request_id: Type.Optional(Type.String({ maxLength: 100 })),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  }),
]);
