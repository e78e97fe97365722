import type { PermissionSet } from './permissions.js';

export type ActorType =
  | 'user'
  | 'api_key'
  | 'sdk_token'
  | 'service_token'
  | 'config_token'
  | 'deployment'
  | 'agent'
  | 'robot'
  | 'system'
  | 'anonymous';

export interface Actor {
  type: ActorType;
  id: string | null;
  label: string | null;
}

/** Where a request came from: recorded on every audit event. */
export interface RequestMeta {
  ip: string | null;
  userAgent: string | null;
  requestId: string | null;
}

/** Who acts, in which organisation, with what permissions. */
export interface Principal {
  orgId: string;
  actor: Actor;
  /** The acting user, or the user who created the acting API key. */
  userId: string | null;
  sessionId: string | null;
  permissions: PermissionSet;
  /** A service token acts for its one service only: another service's deployment is 403. */
  serviceId?: string;
}

export interface RequestContext extends Principal {
  meta: RequestMeta;
}
