import { randomInt } from 'node:crypto';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { newSecret, sha256 } from '../../lib/crypto.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { RequestContext, RequestMeta } from '../access/context.js';
import { catalogue, type Permission } from '../access/permissions.js';
import type { AuditLog } from '../audit/audit.service.js';
import { deviceRepo, type DeviceRow, type SdkTokenRow } from './device.repo.js';
import type { PrincipalChanges } from './principal-cache.js';

export const SDK_TOKEN_PREFIX = 'fps';
const DEVICE_CODE_PREFIX = 'fpd';
const MINUTE_MS = 60_000;
const DEVICE_TTL_MS = 5 * MINUTE_MS;
const POLL_INTERVAL_S = 5;
/** RFC 8628 §3.5: each `slow_down` adds 5 seconds to the interval the client must keep. */
const SLOW_DOWN_STEP_S = 5;
const SDK_TOKEN_TTL_MS = 30 * 24 * 60 * MINUTE_MS;
/** Ended sessions are kept this long (an SDK polling late still hears `expired`), then purged. */
const DEVICE_RETENTION_MS = 24 * 60 * MINUTE_MS;

/** RFC 8628 §6.1: twenty consonants, no vowels (no words) and nothing that reads as another character. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
const USER_CODE_LENGTH = 8;

/**
 * What an SDK token may do, at most: work with packages, processes, jobs, queues, assets and
 * robots. It holds the part of this its user holds now, never more.
 */
export const SDK_SCOPE: readonly Permission[] = [
  ...catalogue.packages.map((action) => `packages:${action}` as const),
  'processes:read',
  'process_jobs:read',
  'process_jobs:execute',
  'queues:read',
  ...catalogue.queue_items.map((action) => `queue_items:${action}` as const),
  'assets:read',
  'robots:read',
];

export interface DeviceStart {
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string;
  expires_in: number;
  interval: number;
}

export type DevicePoll =
  | { status: 'pending' }
  | { status: 'slow_down'; interval: number }
  | { status: 'denied' }
  | { status: 'expired' }
  | { status: 'confirmed'; access_token: string; token_type: 'bearer'; expires_at: string; scope: string };

export interface DeviceView {
  user_code: string;
  client_name: string;
  status: 'pending' | 'confirmed' | 'denied' | 'expired';
  created_at: string;
  expires_at: string;
}

export interface SdkTokenView {
  id: string;
  client_name: string;
  prefix: string;
  scope: string;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

/** XXXX-XXXX, as shown and typed. */
function shown(userCode: string): string {
  return `${userCode.slice(0, 4)}-${userCode.slice(4)}`;
}

/** What a person typed, as stored: case, dashes and spaces do not matter. */
function normalised(typed: string): string {
  return typed.toUpperCase().replace(/[\s-]/g, '');
}

function newUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i += 1)
    code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

function tokenView(row: SdkTokenRow): SdkTokenView {
  return {
    id: row.id,
    client_name: row.client_name,
    prefix: row.prefix,
    scope: row.scope,
    created_at: row.created_at,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    last_used_at: row.last_used_at,
  };
}

/**
 * SDK sign-in by the device authorization grant (RFC 8628). A device session moves
 * pending → confirmed → consumed (its token issued, once), or pending → denied; any session not
 * consumed ends `expired` five minutes after it began. Device codes and tokens are stored hashed.
 */
export class DeviceService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #principals: PrincipalChanges;

  constructor(deps: { db: Executor; clock: Clock; audit: AuditLog; principals: PrincipalChanges }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#principals = deps.principals;
  }

  /** Opens a session for an SDK; `baseUrl` is where the console is (the public URL or the request's origin). */
  async start(meta: RequestMeta, input: { client_name?: string }, baseUrl: string): Promise<DeviceStart> {
    const now = this.#clock.now();
    await deviceRepo.purgeBefore(this.#db, new Date(now.getTime() - DEVICE_RETENTION_MS).toISOString());
    const deviceCode = newSecret(DEVICE_CODE_PREFIX);
    for (;;) {
      const row: DeviceRow = {
        id: newId(),
        device_code_hash: sha256(deviceCode),
        user_code: newUserCode(),
        client_name: input.client_name ?? 'Fleetplane SDK',
        status: 'pending',
        interval_seconds: POLL_INTERVAL_S,
        last_polled_at: null,
        org_id: null,
        user_id: null,
        ip: meta.ip,
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + DEVICE_TTL_MS).toISOString(),
        decided_at: null,
      };
      if (!(await deviceRepo.insert(this.#db, row))) continue;
      const verificationUri = `${baseUrl}/device`;
      return {
        device_code: deviceCode,
        user_code: shown(row.user_code),
        verification_uri: verificationUri,
        verification_uri_complete: `${verificationUri}?user_code=${shown(row.user_code)}`,
        expires_in: DEVICE_TTL_MS / 1000,
        interval: POLL_INTERVAL_S,
      };
    }
  }

  /** The session as its user sees it once decided. */
  async #view(userCode: string): Promise<DeviceView> {
    const device = await this.#byUserCode(this.#db, userCode);
    return {
      user_code: shown(device.user_code),
      client_name: device.client_name,
      status: this.#isExpired(device)
        ? 'expired'
        : device.status === 'consumed'
          ? 'confirmed'
          : device.status,
      created_at: device.created_at,
      expires_at: device.expires_at,
    };
  }

  /**
   * The signed-in user approves (binding the session to them and their current organisation) or
   * denies it. Only a person in a session decides: an API key or an SDK token cannot mint tokens.
   */
  async confirm(
    ctx: RequestContext,
    input: { user_code: string; approve: boolean; org_id?: string },
  ): Promise<DeviceView> {
    if (ctx.actor.type !== 'user' || !ctx.userId || !ctx.sessionId)
      throw new AppError('forbidden', 'a device is confirmed by a signed-in user, not by a key or token');
    if (input.org_id !== undefined && input.org_id !== ctx.orgId)
      throw new AppError(
        'unprocessable',
        'a device is bound to your current organisation: switch to it first',
        {
          details: [{ field: 'org_id', message: 'not your current organisation' }],
        },
      );
    const userId = ctx.userId;
    await inTransaction(this.#db, async (trx) => {
      const device = await this.#byUserCode(trx, input.user_code);
      if (this.#isExpired(device))
        throw new AppError('gone', 'this code has expired: start the sign-in again');
      const decided = this.#clock.now().toISOString();
      const status = input.approve ? 'confirmed' : 'denied';
      const moved = await deviceRepo.transition(trx, device.id, 'pending', {
        status,
        org_id: input.approve ? ctx.orgId : null,
        user_id: input.approve ? userId : null,
        decided_at: decided,
      });
      if (!moved) throw new AppError('conflict', `this code was already ${device.status}`);
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'sdk_device',
        entityId: device.id,
        before: { client_name: device.client_name, status: 'pending' },
        after: { client_name: device.client_name, status },
      });
    });
    return this.#view(input.user_code);
  }

  /**
   * The SDK's poll. Answers the session's state; once confirmed, issues the token this once
   * (the session is consumed in the same statement that wins it, so two polls cannot both win).
   */
  async poll(meta: RequestMeta, deviceCode: string): Promise<DevicePoll> {
    const device = await deviceRepo.byDeviceCodeHash(this.#db, sha256(deviceCode));
    if (!device) throw notFound('device code');
    if (device.status === 'consumed' || this.#isExpired(device)) return { status: 'expired' };
    if (device.status === 'denied') return { status: 'denied' };
    if (device.status === 'confirmed') return this.#issue(meta, device);
    const now = this.#clock.now();
    const tooSoon =
      device.last_polled_at !== null &&
      now.getTime() - Date.parse(device.last_polled_at) < device.interval_seconds * 1000;
    const interval = tooSoon ? device.interval_seconds + SLOW_DOWN_STEP_S : device.interval_seconds;
    await deviceRepo.polled(this.#db, device.id, now.toISOString(), interval);
    return tooSoon ? { status: 'slow_down', interval } : { status: 'pending' };
  }

  async listTokens(ctx: RequestContext, page: PageParams): Promise<Page<SdkTokenView>> {
    return mapPage(await deviceRepo.listTokens(this.#db, ctx.orgId, this.#owner(ctx), page), tokenView);
  }

  /** Revokes one of the caller's own tokens; it stops working on every node before this returns. */
  async revokeToken(ctx: RequestContext, id: string): Promise<void> {
    const userId = this.#owner(ctx);
    await inTransaction(this.#db, async (trx) => {
      const before = await deviceRepo.getToken(trx, ctx.orgId, userId, id);
      if (!before) throw notFound('SDK token');
      if (before.revoked_at) return;
      const now = this.#clock.now().toISOString();
      await deviceRepo.revokeToken(trx, id, now);
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'sdk_token',
        entityId: id,
        before: tokenView(before),
        after: tokenView({ ...before, revoked_at: now }),
      });
    });
    // The cache knows SDK tokens by their user: dropping the user's principals drops this token's.
    await this.#principals.changed({ orgId: ctx.orgId, userId });
  }

  async #issue(meta: RequestMeta, device: DeviceRow): Promise<DevicePoll> {
    const { org_id: orgId, user_id: userId } = device;
    if (!orgId || !userId) throw new Error(`confirmed device session ${device.id} names no user`);
    const secret = newSecret(SDK_TOKEN_PREFIX);
    const now = this.#clock.now();
    const row: SdkTokenRow = {
      id: newId(),
      org_id: orgId,
      user_id: userId,
      client_name: device.client_name,
      prefix: secret.slice(0, SDK_TOKEN_PREFIX.length + 9),
      token_hash: sha256(secret),
      scope: SDK_SCOPE.join(' '),
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + SDK_TOKEN_TTL_MS).toISOString(),
      revoked_at: null,
      last_used_at: null,
    };
    const issued = await inTransaction(this.#db, async (trx) => {
      if (!(await deviceRepo.transition(trx, device.id, 'confirmed', { status: 'consumed' }))) return false;
      await deviceRepo.insertToken(trx, row);
      await this.#audit.record(
        trx,
        { orgId, actor: { type: 'sdk_token', id: row.id, label: row.client_name }, meta },
        {
          action: 'created',
          entityType: 'sdk_token',
          entityId: row.id,
          after: { ...tokenView(row), user_id: userId },
        },
      );
      return true;
    });
    if (!issued) return { status: 'expired' };
    return {
      status: 'confirmed',
      access_token: secret,
      token_type: 'bearer',
      expires_at: row.expires_at,
      scope: row.scope,
    };
  }

  async #byUserCode(db: Executor, typed: string): Promise<DeviceRow> {
    const device = await deviceRepo.byUserCode(db, normalised(typed));
    if (!device) throw new AppError('not_found', 'no sign-in waits for this code: check it and try again');
    return device;
  }

  #isExpired(device: DeviceRow): boolean {
    return device.status !== 'consumed' && device.expires_at <= this.#clock.now().toISOString();
  }

  #owner(ctx: RequestContext): string {
    if (!ctx.userId) throw new AppError('forbidden', 'SDK tokens belong to users');
    return ctx.userId;
  }
}
