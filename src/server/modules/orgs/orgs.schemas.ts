import { Type } from 'typebox';
import { Id, Name, Timestamp } from '../../http/schemas.js';

export const OrgSchema = Type.Object({
  id: Id,
  name: Type.String(),
  is_primary: Type.Boolean(),
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const OrgBody = Type.Object({ name: Name }, { additionalProperties: false });
