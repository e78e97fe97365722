import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { sha256 } from '../../lib/crypto.js';
import { PermissionSet, type RoleGrant } from '../access/permissions.js';
import type { Principal } from '../access/context.js';
import { apiKeysRepo } from '../apikeys/apikeys.repo.js';
import { API_KEY_PREFIX } from '../apikeys/apikeys.service.js';
import { authRepo } from './auth.repo.js';
import type { AccessTokens } from './tokens.js';

/** How often an API key's last-used time is written: once a minute is enough, and keeps reads cheap. */
const TOUCH_INTERVAL_MS = 60_000;

function parsePermissions(json: string | null): string[] {
  return json ? (JSON.parse(json) as string[]) : [];
}

/** The roles of left-joined rows: none when the user holds no role (is no longer a member). */
function grantsOf<R>(
  rows: readonly R[],
  role: (row: R) => { name: string | null; builtin: number | null; permissions: string | null },
): RoleGrant[] {
  return rows.flatMap((row) => {
    const { name, builtin, permissions } = role(row);
    return name === null
      ? []
      : [{ name, builtin: builtin === 1, permissions: parsePermissions(permissions) }];
  });
}

/** Turns a credential (access token or API key) into a principal, or null when it is not valid now. */
export class Authenticator {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #tokens: AccessTokens;

  constructor(deps: { db: Executor; clock: Clock; tokens: AccessTokens }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#tokens = deps.tokens;
  }

  async authenticate(credential: string): Promise<Principal | null> {
    return credential.startsWith(`${API_KEY_PREFIX}_`)
      ? this.#fromApiKey(credential)
      : this.#fromAccessToken(credential);
  }

  async #fromAccessToken(token: string): Promise<Principal | null> {
    const claims = await this.#tokens.verify(token);
    if (!claims) return null;
    const rows = await authRepo.sessionPrincipal(this.#db, claims.sessionId);
    const first = rows[0];
    const now = this.#clock.now().toISOString();
    if (!first || first.revoked_at || first.disabled_at || first.expires_at <= now) return null;
    if (first.user_id !== claims.userId || first.org_id !== claims.orgId) return null;
    const roles = grantsOf(rows, (r) => ({
      name: r.role_name,
      builtin: r.role_builtin,
      permissions: r.role_permissions,
    }));
    // A session outlives a membership only until the member is removed: no roles, no access.
    if (roles.length === 0) return null;
    return {
      orgId: first.org_id,
      actor: { type: 'user', id: first.user_id, label: first.email },
      userId: first.user_id,
      sessionId: first.session_id,
      permissions: PermissionSet.fromRoles(roles),
    };
  }

  /** A key acts on behalf of its creator: its role's permissions, cut to what the creator holds now. */
  async #fromApiKey(key: string): Promise<Principal | null> {
    const rows = await apiKeysRepo.principalByHash(this.#db, sha256(key));
    const row = rows[0];
    const now = this.#clock.now();
    if (!row || row.revoked_at || row.creator_disabled_at) return null;
    if (row.expires_at && row.expires_at <= now.toISOString()) return null;
    const creatorRoles = grantsOf(rows, (r) => ({
      name: r.creator_role_name,
      builtin: r.creator_role_builtin,
      permissions: r.creator_role_permissions,
    }));
    // Removing a member revokes their keys; a creator with no roles here acts for nobody in any case.
    if (creatorRoles.length === 0) return null;
    if (!row.last_used_at || now.getTime() - Date.parse(row.last_used_at) > TOUCH_INTERVAL_MS) {
      await apiKeysRepo.touch(this.#db, row.id, now.toISOString());
    }
    const keyRole = PermissionSet.fromRoles([
      {
        name: row.role_name,
        builtin: row.role_builtin === 1,
        permissions: parsePermissions(row.role_permissions),
      },
    ]);
    return {
      orgId: row.org_id,
      actor: { type: 'api_key', id: row.id, label: row.name },
      userId: row.created_by,
      sessionId: null,
      permissions: keyRole.intersect(PermissionSet.fromRoles(creatorRoles)),
    };
  }
}
