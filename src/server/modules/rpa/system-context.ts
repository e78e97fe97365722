import type { RequestContext } from '../access/context.js';
import { PermissionSet } from '../access/permissions.js';

/** The context of what the system starts by itself (a queue trigger, a retry): audited as the system, holding no permission. */
export function systemContext(orgId: string, label: string, id: string | null = null): RequestContext {
  return {
    orgId,
    actor: { type: 'system', id, label },
    userId: null,
    sessionId: null,
    permissions: new PermissionSet([]),
    meta: { ip: null, userAgent: null, requestId: null },
  };
}
