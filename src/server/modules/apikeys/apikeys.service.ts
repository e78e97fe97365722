import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { newSecret, sha256 } from '../../lib/crypto.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import { accessRepo } from '../access/access.repo.js';
import { assertAssignable, rolePermissions } from '../access/roles.rules.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { PrincipalChanges } from '../auth/principal-cache.js';
import type { SettingsService } from '../settings/settings.service.js';
import { apiKeysRepo, type ApiKeyRow } from './apikeys.repo.js';

export const API_KEY_PREFIX = 'fpk';
const DAY_MS = 24 * 60 * 60 * 1000;

export interface ApiKeyView {
  id: string;
  name: string;
  /** The first characters of the key, enough to recognise it; the rest is never shown again. */
  prefix: string;
  role_id: string;
  created_by: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

function view(row: ApiKeyRow): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    role_id: row.role_id,
    created_by: row.created_by,
    created_at: row.created_at,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    last_used_at: row.last_used_at,
  };
}

/** Keys neither revoked nor expired, for the system summary. */
export function countActiveKeys(db: Executor, orgId: string): Promise<number> {
  return apiKeysRepo.countActive(db, orgId);
}

export class ApiKeysService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #settings: SettingsService;
  readonly #principals: PrincipalChanges;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    settings: SettingsService;
    principals: PrincipalChanges;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#settings = deps.settings;
    this.#principals = deps.principals;
  }

  async create(
    ctx: RequestContext,
    input: { name: string; role_id: string; expires_at?: string },
  ): Promise<{ key: ApiKeyView; secret: string }> {
    if (!ctx.userId) throw new AppError('forbidden', 'API keys are created by users');
    const createdBy = ctx.userId;
    const now = this.#clock.now();
    const expiresAt = input.expires_at ? new Date(input.expires_at) : null;
    if (expiresAt && expiresAt <= now)
      throw new AppError('unprocessable', 'expires_at must be in the future', {
        details: [{ field: 'expires_at', message: 'in the past' }],
      });
    const { api_key_max_ttl_days: maxDays } = await this.#settings.read(ctx.orgId, 'security');
    if (maxDays > 0 && (!expiresAt || expiresAt.getTime() - now.getTime() > maxDays * DAY_MS)) {
      throw new AppError('unprocessable', `API keys must expire within ${maxDays} days`, {
        details: [{ field: 'expires_at', message: 'too far' }],
      });
    }
    return inTransaction(this.#db, async (trx) => {
      const role = await accessRepo.getRole(trx, ctx.orgId, input.role_id);
      if (!role)
        throw new AppError('unprocessable', 'role not found', {
          details: [{ field: 'role_id', message: 'not found' }],
        });
      assertAssignable(ctx.permissions, role.name, rolePermissions(role));
      const secret = newSecret(API_KEY_PREFIX);
      const row: ApiKeyRow = {
        id: newId(),
        org_id: ctx.orgId,
        name: input.name,
        prefix: secret.slice(0, API_KEY_PREFIX.length + 9),
        key_hash: sha256(secret),
        role_id: role.id,
        created_by: createdBy,
        created_at: now.toISOString(),
        expires_at: expiresAt?.toISOString() ?? null,
        revoked_at: null,
        last_used_at: null,
      };
      await apiKeysRepo.insert(trx, row);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'api_key',
        entityId: row.id,
        after: view(row),
      });
      return { key: view(row), secret };
    });
  }

  async list(orgId: string, page: PageParams): Promise<Page<ApiKeyView>> {
    return mapPage(await apiKeysRepo.list(this.#db, orgId, page), view);
  }

  async get(orgId: string, id: string): Promise<ApiKeyView> {
    const row = await apiKeysRepo.get(this.#db, orgId, id);
    if (!row) throw notFound('API key');
    return view(row);
  }

  /**
   * Revokes every live key a member created in the organisation, inside the caller's transaction
   * (removing the member), with an audit event per key as a revocation by hand writes.
   */
  async revokeCreatedBy(trx: Executor, ctx: RequestContext, userId: string, reason: string): Promise<void> {
    const revoked = await apiKeysRepo.revokeCreatedBy(
      trx,
      ctx.orgId,
      userId,
      this.#clock.now().toISOString(),
    );
    for (const row of revoked) {
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'api_key',
        entityId: row.id,
        before: view({ ...row, revoked_at: null }),
        after: { ...view(row), reason },
      });
    }
  }

  async revoke(ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const before = await apiKeysRepo.get(trx, ctx.orgId, id);
      if (!before) throw notFound('API key');
      if (before.revoked_at) return;
      const now = this.#clock.now().toISOString();
      await apiKeysRepo.revoke(trx, ctx.orgId, id, now);
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'api_key',
        entityId: id,
        before: view(before),
        after: view({ ...before, revoked_at: now }),
      });
    });
    await this.#principals.changed({ apiKeyId: id });
  }
}
