import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { sha256 } from '../../lib/crypto.js';
import { PermissionSet, type RoleGrant } from '../access/permissions.js';
import type { Principal } from '../access/context.js';
import { apiKeysRepo } from '../apikeys/apikeys.repo.js';
import { API_KEY_PREFIX } from '../apikeys/apikeys.service.js';
import { authRepo } from './auth.repo.js';
import type { PrincipalCache } from './principal-cache.js';
import type { AccessClaims, AccessTokens } from './tokens.js';

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

/**
 * Turns a credential (access token or API key) into a principal, or null when it is not valid now.
 * Principals found are kept in the node's cache (principal-cache.ts) until a change affecting
 * them is heard; credentials found invalid are looked up again each time, so they fill nothing.
 */
export class Authenticator {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #tokens: AccessTokens;
  readonly #cache: PrincipalCache;

  constructor(deps: { db: Executor; clock: Clock; tokens: AccessTokens; cache: PrincipalCache }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#tokens = deps.tokens;
    this.#cache = deps.cache;
  }

  async authenticate(credential: string): Promise<Principal | null> {
    return credential.startsWith(`${API_KEY_PREFIX}_`)
      ? this.#fromApiKey(credential)
      : this.#fromAccessToken(credential);
  }

  async #fromAccessToken(token: string): Promise<Principal | null> {
    const claims = await this.#tokens.verify(token);
    if (!claims) return null;
    const key = `session:${claims.sessionId}`;
    const cached = this.#cache.get(key)?.principal;
    if (cached && cached.userId === claims.userId && cached.orgId === claims.orgId) return cached;
    const generation = this.#cache.generation;
    const found = await this.#sessionPrincipal(claims);
    if (found) this.#cache.set(key, generation, { ...found, lastUsedAtMs: null });
    return found?.principal ?? null;
  }

  async #sessionPrincipal(
    claims: AccessClaims,
  ): Promise<{ principal: Principal; notAfterMs: number } | null> {
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
      principal: {
        orgId: first.org_id,
        actor: { type: 'user', id: first.user_id, label: first.email },
        userId: first.user_id,
        sessionId: first.session_id,
        permissions: PermissionSet.fromRoles(roles),
      },
      notAfterMs: Date.parse(first.expires_at),
    };
  }

  async #fromApiKey(secret: string): Promise<Principal | null> {
    const hash = sha256(secret);
    const key = `api_key:${hash}`;
    const now = this.#clock.now();
    const cached = this.#cache.get(key);
    const keyId = cached?.principal.actor.id;
    if (cached && keyId) {
      if (cached.lastUsedAtMs === null || now.getTime() - cached.lastUsedAtMs > TOUCH_INTERVAL_MS) {
        await apiKeysRepo.touch(this.#db, keyId, now.toISOString());
        this.#cache.touched(key, now.getTime());
      }
      return cached.principal;
    }
    const generation = this.#cache.generation;
    const found = await this.#keyPrincipal(hash, now);
    if (found) this.#cache.set(key, generation, found);
    return found?.principal ?? null;
  }

  /** A key acts on behalf of its creator: its role's permissions, cut to what the creator holds now. */
  async #keyPrincipal(
    hash: string,
    now: Date,
  ): Promise<{ principal: Principal; lastUsedAtMs: number; notAfterMs: number | null } | null> {
    const rows = await apiKeysRepo.principalByHash(this.#db, hash);
    const row = rows[0];
    if (!row || row.revoked_at || row.creator_disabled_at) return null;
    if (row.expires_at && row.expires_at <= now.toISOString()) return null;
    const creatorRoles = grantsOf(rows, (r) => ({
      name: r.creator_role_name,
      builtin: r.creator_role_builtin,
      permissions: r.creator_role_permissions,
    }));
    // Removing a member revokes their keys; a creator with no roles here acts for nobody in any case.
    if (creatorRoles.length === 0) return null;
    let lastUsedAtMs = row.last_used_at ? Date.parse(row.last_used_at) : null;
    if (lastUsedAtMs === null || now.getTime() - lastUsedAtMs > TOUCH_INTERVAL_MS) {
      await apiKeysRepo.touch(this.#db, row.id, now.toISOString());
      lastUsedAtMs = now.getTime();
    }
    const keyRole = PermissionSet.fromRoles([
      {
        name: row.role_name,
        builtin: row.role_builtin === 1,
        permissions: parsePermissions(row.role_permissions),
      },
    ]);
    return {
      principal: {
        orgId: row.org_id,
        actor: { type: 'api_key', id: row.id, label: row.name },
        userId: row.created_by,
        sessionId: null,
        permissions: keyRole.intersect(PermissionSet.fromRoles(creatorRoles)),
      },
      lastUsedAtMs,
      notAfterMs: row.expires_at ? Date.parse(row.expires_at) : null,
    };
  }
}
