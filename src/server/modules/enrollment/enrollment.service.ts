import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { newSecret, sha256 } from '../../lib/crypto.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { RequestContext } from '../access/context.js';
import { distinctTags } from '../agents/agents.service.js';
import { requireGroup } from '../agents/groups.service.js';
import type { AuditLog } from '../audit/audit.service.js';
import { enrollmentRepo, type EnrollmentToken } from './enrollment.repo.js';

export const ENROLLMENT_TOKEN_PREFIX = 'fpe';

export type EnrollmentTokenStatus = 'active' | 'revoked' | 'expired' | 'exhausted';

export interface EnrollmentTokenView {
  id: string;
  name: string;
  prefix: string;
  expires_at: string | null;
  max_uses: number | null;
  uses: number;
  tags: string[];
  group_id: string | null;
  created_by: string | null;
  created_at: string;
  revoked_at: string | null;
  status: EnrollmentTokenStatus;
}

/** An enrollment token presented as a credential (an installer fetched with it alone). */
export interface EnrollmentCaller {
  orgId: string;
  tokenId: string;
  prefix: string;
  /** The token itself: what an installer embeds. */
  secret: string;
}

/** Why a token cannot enroll an agent now, or `active`. */
export function tokenStatus(row: EnrollmentToken, now: Date): EnrollmentTokenStatus {
  if (row.revoked_at) return 'revoked';
  if (row.expires_at && new Date(row.expires_at) <= now) return 'expired';
  if (row.max_uses !== null && row.uses >= row.max_uses) return 'exhausted';
  return 'active';
}

/**
 * The token behind a secret while it can still enroll; `unauthorized` with the reason otherwise.
 * Only a registration spends a use of it.
 */
export async function activeToken(db: Executor, secret: string, now: Date): Promise<EnrollmentToken> {
  const token = await enrollmentRepo.findByHash(db, sha256(secret));
  if (!token) throw new AppError('unauthorized', 'enrollment token is not valid');
  const status = tokenStatus(token, now);
  if (status !== 'active') throw new AppError('unauthorized', `enrollment token is ${status}`);
  return token;
}

function view(row: EnrollmentToken, now: Date): EnrollmentTokenView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    expires_at: row.expires_at,
    max_uses: row.max_uses,
    uses: row.uses,
    tags: row.default_tags,
    group_id: row.group_id,
    created_by: row.created_by,
    created_at: row.created_at,
    revoked_at: row.revoked_at,
    status: tokenStatus(row, now),
  };
}

/** Enrollment tokens: shown once, stored hashed, listed masked, revocable. */
export class EnrollmentService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(deps: { db: Executor; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  async create(
    ctx: RequestContext,
    input: { name: string; expires_at?: string; max_uses?: number; tags?: string[]; group_id?: string },
  ): Promise<{ enrollment_token: EnrollmentTokenView; secret: string }> {
    const now = this.#clock.now();
    const expiresAt = input.expires_at ? new Date(input.expires_at) : null;
    if (expiresAt && expiresAt <= now)
      throw new AppError('unprocessable', 'expires_at must be in the future', {
        details: [{ field: 'expires_at', message: 'in the past' }],
      });
    return inTransaction(this.#db, async (trx) => {
      if (input.group_id !== undefined) await requireGroup(trx, ctx.orgId, input.group_id);
      const secret = newSecret(ENROLLMENT_TOKEN_PREFIX);
      const row: EnrollmentToken = {
        id: newId(),
        org_id: ctx.orgId,
        name: input.name,
        prefix: secret.slice(0, ENROLLMENT_TOKEN_PREFIX.length + 9),
        token_hash: sha256(secret),
        expires_at: expiresAt?.toISOString() ?? null,
        max_uses: input.max_uses ?? null,
        uses: 0,
        default_tags: distinctTags(input.tags ?? []),
        group_id: input.group_id ?? null,
        created_by: ctx.userId,
        created_at: now.toISOString(),
        revoked_at: null,
      };
      await enrollmentRepo.insert(trx, row);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'enrollment_token',
        entityId: row.id,
        after: view(row, now),
      });
      return { enrollment_token: view(row, now), secret };
    });
  }

  /**
   * The token behind a secret while it can still enroll; `unauthorized` otherwise. Presenting it
   * spends no use: only a registration does.
   */
  async authenticate(secret: string | null): Promise<EnrollmentCaller> {
    if (!secret) throw new AppError('unauthorized', 'an enrollment token is required');
    const row = await activeToken(this.#db, secret, this.#clock.now());
    return { orgId: row.org_id, tokenId: row.id, prefix: row.prefix, secret };
  }

  async list(orgId: string, page: PageParams): Promise<Page<EnrollmentTokenView>> {
    const now = this.#clock.now();
    return mapPage(await enrollmentRepo.list(this.#db, orgId, page), (row) => view(row, now));
  }

  async get(orgId: string, id: string): Promise<EnrollmentTokenView> {
    const row = await enrollmentRepo.get(this.#db, orgId, id);
    if (!row) throw notFound('enrollment token');
    return view(row, this.#clock.now());
  }

  /** Revokes the token; agents it enrolled keep their own tokens. */
  async revoke(ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const before = await enrollmentRepo.get(trx, ctx.orgId, id);
      if (!before) throw notFound('enrollment token');
      if (before.revoked_at) return;
      const now = this.#clock.now();
      await enrollmentRepo.revoke(trx, ctx.orgId, id, now.toISOString());
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'enrollment_token',
        entityId: id,
        before: view(before, now),
        after: view({ ...before, revoked_at: now.toISOString() }, now),
      });
    });
  }
}
