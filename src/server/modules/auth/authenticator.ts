import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { sha256 } from '../../lib/crypto.js';
import { PermissionSet } from '../access/permissions.js';
import type { Principal } from '../access/context.js';
import { apiKeysRepo } from '../apikeys/apikeys.repo.js';
import { API_KEY_PREFIX } from '../apikeys/apikeys.service.js';
import { deployTokenPrincipal, isDeployTokenSecret } from '../services/deploy-tokens.service.js';
import { authRepo } from './auth.repo.js';
import { deviceRepo } from './device.repo.js';
import { SDK_TOKEN_PREFIX } from './device.service.js';
import type { PrincipalCache } from './principal-cache.js';
import type { AccessClaims, AccessTokens } from './tokens.js';

/** How often an API key's last-used time is written: once a minute is enough, and keeps reads cheap. */
const TOUCH_INTERVAL_MS = 60_000;

/**
 * Turns a credential (access token, API key, SDK token or deploy token) into a principal, or null when it is not valid now.
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
    if (credential.startsWith(`${API_KEY_PREFIX}_`)) return this.#fromApiKey(credential);
    if (credential.startsWith(`${SDK_TOKEN_PREFIX}_`)) return this.#fromSdkToken(credential);
    // Never cached: a revoked deploy token must fail on its next request, on every node.
    if (isDeployTokenSecret(credential)) return deployTokenPrincipal(this.#db, credential, this.#clock.now());
    return this.#fromAccessToken(credential);
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
    const session = await authRepo.sessionPrincipal(this.#db, claims.sessionId);
    const now = this.#clock.now().toISOString();
    if (!session || session.revoked_at || session.disabled_at || session.expires_at <= now) return null;
    if (session.user_id !== claims.userId || session.org_id !== claims.orgId) return null;
    // A session outlives a membership only until the member is removed: no roles, no access.
    if (session.roles.length === 0) return null;
    return {
      principal: {
        orgId: session.org_id,
        actor: { type: 'user', id: session.user_id, label: session.email },
        userId: session.user_id,
        sessionId: session.session_id,
        permissions: PermissionSet.fromRoles(session.roles),
      },
      notAfterMs: Date.parse(session.expires_at),
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
    const row = await apiKeysRepo.principalByHash(this.#db, hash);
    if (!row || row.revoked_at || row.creator_disabled_at) return null;
    if (row.expires_at && row.expires_at <= now.toISOString()) return null;
    // Removing a member revokes their keys; a creator with no roles here acts for nobody in any case.
    if (row.creator_roles.length === 0) return null;
    let lastUsedAtMs = row.last_used_at ? Date.parse(row.last_used_at) : null;
    if (lastUsedAtMs === null || now.getTime() - lastUsedAtMs > TOUCH_INTERVAL_MS) {
      await apiKeysRepo.touch(this.#db, row.id, now.toISOString());
      lastUsedAtMs = now.getTime();
    }
    const keyRole = PermissionSet.fromRoles([row.role]);
    return {
      principal: {
        orgId: row.org_id,
        actor: { type: 'api_key', id: row.id, label: row.name },
        userId: row.created_by,
        sessionId: null,
        permissions: keyRole.intersect(PermissionSet.fromRoles(row.creator_roles)),
      },
      lastUsedAtMs,
      notAfterMs: row.expires_at ? Date.parse(row.expires_at) : null,
    };
  }

  async #fromSdkToken(secret: string): Promise<Principal | null> {
    const hash = sha256(secret);
    const key = `sdk_token:${hash}`;
    const now = this.#clock.now();
    const cached = this.#cache.get(key);
    const tokenId = cached?.principal.actor.id;
    if (cached && tokenId) {
      if (cached.lastUsedAtMs === null || now.getTime() - cached.lastUsedAtMs > TOUCH_INTERVAL_MS) {
        await deviceRepo.touchToken(this.#db, tokenId, now.toISOString());
        this.#cache.touched(key, now.getTime());
      }
      return cached.principal;
    }
    const generation = this.#cache.generation;
    const found = await this.#sdkPrincipal(hash, now);
    if (found) this.#cache.set(key, generation, found);
    return found?.principal ?? null;
  }

  /**
   * An SDK token acts as its user in its organisation: the user's roles as they are now, cut to
   * the token's scope. A user disabled or no longer a member holds nothing, so the token neither.
   */
  async #sdkPrincipal(
    hash: string,
    now: Date,
  ): Promise<{ principal: Principal; lastUsedAtMs: number; notAfterMs: number } | null> {
    const row = await deviceRepo.principalByHash(this.#db, hash);
    if (!row || row.revoked_at || row.disabled_at || row.expires_at <= now.toISOString()) return null;
    if (row.roles.length === 0) return null;
    let lastUsedAtMs = row.last_used_at ? Date.parse(row.last_used_at) : null;
    if (lastUsedAtMs === null || now.getTime() - lastUsedAtMs > TOUCH_INTERVAL_MS) {
      await deviceRepo.touchToken(this.#db, row.id, now.toISOString());
      lastUsedAtMs = now.getTime();
    }
    const scope = new PermissionSet(row.scope.split(' '));
    return {
      principal: {
        orgId: row.org_id,
        actor: { type: 'sdk_token', id: row.id, label: `${row.client_name} (${row.email})` },
        userId: row.user_id,
        sessionId: null,
        permissions: PermissionSet.fromRoles(row.roles).intersect(scope),
      },
      lastUsedAtMs,
      notAfterMs: Date.parse(row.expires_at),
    };
  }
}
