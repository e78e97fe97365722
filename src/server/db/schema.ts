/**
 * Table types. Times are ISO 8601 UTC text and JSON is text on every dialect, so one query
 * layer serves SQLite and PostgreSQL alike; flags are 0/1 integers for the same reason.
 */
export interface OrgsTable {
  id: string;
  name: string;
  is_primary: number;
  created_at: string;
  updated_at: string;
}

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  created_at: string;
  updated_at: string;
  disabled_at: string | null;
}

export interface RolesTable {
  id: string;
  org_id: string;
  name: string;
  description: string;
  /** JSON array of "artifact:action"; ignored for built-in roles, whose permissions come from code. */
  permissions: string;
  builtin: number;
  created_at: string;
  updated_at: string;
}

export interface MembershipsTable {
  org_id: string;
  user_id: string;
  created_at: string;
}

export interface MemberRolesTable {
  org_id: string;
  user_id: string;
  role_id: string;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  org_id: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
  ip: string | null;
  user_agent: string | null;
}

export interface RefreshTokensTable {
  id: string;
  session_id: string;
  token_hash: string;
  created_at: string;
  used_at: string | null;
}

export interface PasswordResetsTable {
  id: string;
  user_id: string;
  token_hash: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
}

export interface InvitesTable {
  id: string;
  org_id: string;
  email: string;
  role_id: string;
  token_hash: string;
  created_by: string | null;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  revoked_at: string | null;
}

export interface ApiKeysTable {
  id: string;
  org_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  role_id: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

export interface AuditEventsTable {
  id: string;
  org_id: string | null;
  actor_type: string;
  actor_id: string | null;
  actor_label: string | null;
  action: string;
  entity_type: string;
  entity_id: string | null;
  before_json: string | null;
  after_json: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  created_at: string;
}

export interface SettingsTable {
  org_id: string;
  group_name: string;
  key: string;
  value: string;
  encrypted: number;
  updated_at: string;
  updated_by: string | null;
}

export interface DB {
  orgs: OrgsTable;
  users: UsersTable;
  roles: RolesTable;
  memberships: MembershipsTable;
  member_roles: MemberRolesTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  password_resets: PasswordResetsTable;
  invites: InvitesTable;
  api_keys: ApiKeysTable;
  audit_events: AuditEventsTable;
  settings: SettingsTable;
}
