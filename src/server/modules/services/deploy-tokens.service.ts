import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { newSecret, sha256 } from '../../lib/crypto.js';
import { AppError, notFound, type ErrorDetail } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { Principal, RequestContext } from '../access/context.js';
import { PermissionSet } from '../access/permissions.js';
import type { AuditLog } from '../audit/audit.service.js';
import {
  deployTokensRepo,
  type DeployToken,
  type DeployTokenFilter,
  type DeployTokenKind,
  type DeployTokenListed,
} from './deploy-tokens.repo.js';
import { MAX_TOKEN_DAYS } from './deploy-tokens.schemas.js';
import { servicesRepo } from './services.repo.js';

const SERVICE_TOKEN_PREFIX = 'fpst';
const CONFIG_TOKEN_PREFIX = 'fpct';
const DAY_MS = 24 * 60 * 60 * 1000;
/** How often a token's last-used time is written, as for API keys: once a minute is enough. */
const TOUCH_INTERVAL_MS = 60_000;

/** A service token starts and reads its one service's deployments; a config token reads deployed services. */
const SERVICE_TOKEN_PERMISSIONS = new PermissionSet(['deployments:read', 'deployments:execute']);
const CONFIG_TOKEN_PERMISSIONS = new PermissionSet(['deployed_services:read']);

type DeployTokenStatus = 'active' | 'expired' | 'revoked';

export interface DeployTokenView {
  id: string;
  kind: DeployTokenKind;
  service_id: string | null;
  service_name: string | null;
  origin: string;
  /** The first characters of the secret, enough to recognise it. */
  prefix: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
  status: DeployTokenStatus;
}

export interface DeployTokenInput {
  kind: DeployTokenKind;
  service_id?: string;
  origin: string;
  expires_in_days: number;
}

function statusOf(row: DeployToken, now: Date): DeployTokenStatus {
  if (row.revoked_at) return 'revoked';
  return row.expires_at <= now.toISOString() ? 'expired' : 'active';
}

function view(row: DeployTokenListed, now: Date): DeployTokenView {
  return {
    id: row.id,
    kind: row.kind,
    service_id: row.service_id,
    service_name: row.service_name,
    origin: row.origin,
    prefix: row.prefix,
    created_at: row.created_at,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    last_used_at: row.last_used_at,
    status: statusOf(row, now),
  };
}

/** Whether a credential is a deploy token, so the authenticator asks deployTokenPrincipal. */
export function isDeployTokenSecret(credential: string): boolean {
  return (
    credential.startsWith(`${SERVICE_TOKEN_PREFIX}_`) || credential.startsWith(`${CONFIG_TOKEN_PREFIX}_`)
  );
}

/**
 * The principal of a deploy token's secret, or null when it is unknown, expired or revoked. Never
 * cached: a revoke takes effect on the next request. Its last-used time is written at most once a minute.
 */
export async function deployTokenPrincipal(
  db: Executor,
  secret: string,
  now: Date,
): Promise<Principal | null> {
  const row = await deployTokensRepo.byHash(db, sha256(secret));
  if (!row || statusOf(row, now) !== 'active') return null;
  const lastUsedMs = row.last_used_at ? Date.parse(row.last_used_at) : null;
  if (lastUsedMs === null || now.getTime() - lastUsedMs > TOUCH_INTERVAL_MS)
    await deployTokensRepo.touch(db, row.id, now.toISOString());
  const base = {
    orgId: row.org_id,
    userId: null,
    sessionId: null,
  };
  if (row.kind === 'service' && row.service_id !== null)
    return {
      ...base,
      actor: { type: 'service_token', id: row.id, label: row.origin },
      permissions: SERVICE_TOKEN_PERMISSIONS,
      serviceId: row.service_id,
    };
  return {
    ...base,
    actor: { type: 'config_token', id: row.id, label: row.origin },
    permissions: CONFIG_TOKEN_PERMISSIONS,
  };
}

function unprocessable(details: ErrorDetail[]): AppError {
  return new AppError('unprocessable', 'the deploy token is not valid', { details });
}

/**
 * Deploy tokens: credentials for CI pipelines, narrower than API keys. A service token starts and
 * reads the deployments of one service (`fpst_…`), a config token reads deployed services for
 * discovery (`fpct_…`). The secret is shown once and stored as its SHA-256; every token expires.
 * Token states: active → expired (time) | revoked (DELETE, idempotent).
 */
export class DeployTokensService {
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
    input: DeployTokenInput,
  ): Promise<{ token: DeployTokenView; secret: string }> {
    const details: ErrorDetail[] = [];
    const days = input.expires_in_days;
    if (!Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS)
      details.push({
        field: 'expires_in_days',
        message: `must be a whole number of days from 1 to ${MAX_TOKEN_DAYS}`,
      });
    if (input.kind === 'service' && input.service_id === undefined)
      details.push({ field: 'service_id', message: 'is required for a service token' });
    if (input.kind === 'config' && input.service_id !== undefined)
      details.push({ field: 'service_id', message: 'a config token is not for one service' });
    if (details.length > 0) throw unprocessable(details);
    const now = this.#clock.now();
    return inTransaction(this.#db, async (trx) => {
      let serviceName: string | null = null;
      if (input.service_id !== undefined) {
        const service = await servicesRepo.get(trx, ctx.orgId, input.service_id);
        if (!service) throw unprocessable([{ field: 'service_id', message: 'service not found' }]);
        serviceName = service.name;
      }
      const prefix = input.kind === 'service' ? SERVICE_TOKEN_PREFIX : CONFIG_TOKEN_PREFIX;
      const secret = newSecret(prefix);
      const row: DeployToken = {
        id: newId(),
        org_id: ctx.orgId,
        kind: input.kind,
        service_id: input.service_id ?? null,
        origin: input.origin,
        prefix: secret.slice(0, prefix.length + 9),
        token_hash: sha256(secret),
        created_by: ctx.userId,
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + days * DAY_MS).toISOString(),
        revoked_at: null,
        last_used_at: null,
      };
      await deployTokensRepo.insert(trx, row);
      const token = view({ ...row, service_name: serviceName }, now);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'deploy_token',
        entityId: row.id,
        after: token,
      });
      return { token, secret };
    });
  }

  async list(orgId: string, filter: DeployTokenFilter, page: PageParams): Promise<Page<DeployTokenView>> {
    const now = this.#clock.now();
    return mapPage(await deployTokensRepo.list(this.#db, orgId, filter, page), (row) => view(row, now));
  }

  /** Revokes a token at once (it is never cached); revoking a revoked token again changes nothing. */
  async revoke(ctx: RequestContext, id: string): Promise<void> {
    const now = this.#clock.now();
    await inTransaction(this.#db, async (trx) => {
      const before = await deployTokensRepo.get(trx, ctx.orgId, id);
      if (!before) throw notFound('deploy token');
      if (!(await deployTokensRepo.revoke(trx, ctx.orgId, id, now.toISOString()))) return;
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'deploy_token',
        entityId: id,
        before: view(before, now),
        after: view({ ...before, revoked_at: now.toISOString() }, now),
      });
    });
  }
}
