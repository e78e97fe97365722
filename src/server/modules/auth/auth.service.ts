import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { newSecret, sha256 } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/logger.js';
import { accessRepo } from '../access/access.repo.js';
import { roleView, type RoleView } from '../access/access.service.js';
import type { Actor, RequestContext, RequestMeta } from '../access/context.js';
import { invitesRepo } from '../access/invites.repo.js';
import type { Permission } from '../access/permissions.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { Mailer } from '../email/mailer.js';
import { orgsRepo } from '../orgs/orgs.repo.js';
import type { OrgsService, OrgView } from '../orgs/orgs.service.js';
import type { SettingsService } from '../settings/settings.service.js';
import { authRepo, type UserRow } from './auth.repo.js';
import { hashPassword, verifyDecoy, verifyPassword } from './passwords.js';
import type { PrincipalChanges } from './principal-cache.js';
import type { AccessTokens } from './tokens.js';

export interface UserView {
  id: string;
  email: string;
  name: string;
  created_at: string;
}

export interface LoginResult {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  user: UserView;
  org: OrgView;
}

export interface MeView {
  user: UserView | null;
  actor: Actor;
  org: OrgView;
  orgs: OrgView[];
  roles: RoleView[];
  permissions: Permission[];
}

export interface SignupInput {
  email: string;
  password: string;
  name: string;
  org_name?: string;
  invite_token?: string;
}

function userView(user: UserRow): UserView {
  return { id: user.id, email: user.email, name: user.name, created_at: user.created_at };
}

function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

const anonymous = (label: string | null): Actor => ({ type: 'anonymous', id: null, label });
const asUser = (user: UserRow): Actor => ({ type: 'user', id: user.id, label: user.email });

/**
 * Sessions: a login opens a session bound to one organisation. Each refresh token is used
 * once and replaced by the next; presenting a used one means it was stolen or replayed, and
 * the whole session (the token family) is revoked.
 */
export class AuthService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #tokens: AccessTokens;
  readonly #audit: AuditLog;
  readonly #orgs: OrgsService;
  readonly #settings: SettingsService;
  readonly #mailer: Mailer;
  readonly #logger: Logger;
  readonly #refreshTtlMs: number;
  readonly #resetTtlMs: number;
  readonly #publicUrl: string | undefined;
  readonly #principals: PrincipalChanges;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    tokens: AccessTokens;
    audit: AuditLog;
    orgs: OrgsService;
    settings: SettingsService;
    mailer: Mailer;
    logger: Logger;
    refreshTtlMs: number;
    resetTtlMs: number;
    /** Where the console is, for the link in a reset mail; a path alone without it. */
    publicUrl: string | undefined;
    principals: PrincipalChanges;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#tokens = deps.tokens;
    this.#audit = deps.audit;
    this.#orgs = deps.orgs;
    this.#settings = deps.settings;
    this.#mailer = deps.mailer;
    this.#logger = deps.logger;
    this.#refreshTtlMs = deps.refreshTtlMs;
    this.#resetTtlMs = deps.resetTtlMs;
    this.#publicUrl = deps.publicUrl;
    this.#principals = deps.principals;
  }

  async signup(meta: RequestMeta, input: SignupInput): Promise<LoginResult> {
    const email = normaliseEmail(input.email);
    await this.#assertPasswordPolicy(input.password);
    if (input.invite_token)
      return this.#acceptInvite(meta, { ...input, email, invite_token: input.invite_token });
    const { allow_signup } = await this.#settings.readInstance('security');
    if (!allow_signup)
      throw new AppError('forbidden', 'signup is switched off: ask an administrator for an invite');
    const passwordHash = await hashPassword(input.password);
    const { user, org } = await inTransaction(this.#db, async (trx) => {
      if (await authRepo.findUserByEmail(trx, email))
        throw new AppError('conflict', 'an account with this email exists');
      const user = await this.#insertUser(trx, { email, name: input.name, passwordHash });
      const scope = { orgId: null, actor: asUser(user), meta };
      const org = await this.#orgs.createWithOwner(trx, scope, {
        name: input.org_name ?? `${input.name}'s organization`,
        ownerUserId: user.id,
      });
      await this.#audit.record(
        trx,
        { ...scope, orgId: org.id },
        { action: 'created', entityType: 'user', entityId: user.id, after: userView(user) },
      );
      return { user, org };
    });
    return this.#openSession(meta, user, org.id);
  }

  async login(
    meta: RequestMeta,
    input: { email: string; password: string; org_id?: string },
  ): Promise<LoginResult> {
    const email = normaliseEmail(input.email);
    const user = await authRepo.findUserByEmail(this.#db, email);
    const valid = user
      ? await verifyPassword(user.password_hash, input.password)
      : await verifyDecoy(input.password);
    const orgs = user ? await orgsRepo.listForUser(this.#db, user.id) : [];
    if (!user || !valid || user.disabled_at) {
      await this.#audit.record(
        this.#db,
        { orgId: orgs[0]?.id ?? null, actor: anonymous(email), meta },
        { action: 'login_failed', entityType: 'user', entityId: user?.id ?? null, after: { email } },
      );
      throw new AppError('unauthorized', 'email or password is wrong');
    }
    const org = input.org_id ? orgs.find((o) => o.id === input.org_id) : orgs[0];
    if (!org)
      throw new AppError(
        'forbidden',
        input.org_id ? 'you are not a member of that organization' : 'you belong to no organization',
      );
    return this.#openSession(meta, user, org.id);
  }

  async refresh(meta: RequestMeta, refreshToken: string): Promise<LoginResult> {
    const now = this.#clock.now().toISOString();
    const token = await authRepo.findRefreshToken(this.#db, sha256(refreshToken));
    if (!token) throw new AppError('unauthorized', 'refresh token is not valid');
    const user = await authRepo.getUser(this.#db, token.user_id);
    if (!user) throw new AppError('unauthorized', 'refresh token is not valid');
    const scope = { orgId: token.org_id, actor: asUser(user), meta };
    if (token.revoked_at || token.expires_at <= now || user.disabled_at)
      throw new AppError('unauthorized', 'session has ended');
    const result = await inTransaction(this.#db, async (trx) => {
      if (!(await authRepo.useRefreshToken(trx, token.id, now))) return null;
      const next = newSecret('fpr');
      await authRepo.insertRefreshToken(trx, {
        id: newId(),
        session_id: token.session_id,
        token_hash: sha256(next),
        created_at: now,
      });
      await this.#audit.record(trx, scope, {
        action: 'login',
        entityType: 'session',
        entityId: token.session_id,
        after: { via: 'refresh' },
      });
      return next;
    });
    if (result === null) {
      await inTransaction(this.#db, async (trx) => {
        await authRepo.revokeSession(trx, token.session_id, 'refresh token reuse', now);
        await this.#audit.record(trx, scope, {
          action: 'status_changed',
          entityType: 'session',
          entityId: token.session_id,
          after: { revoked: true, reason: 'refresh token reuse' },
        });
      });
      await this.#principals.changed({ sessionId: token.session_id });
      this.#logger.warn(
        { sessionId: token.session_id, userId: user.id },
        'refresh token reused: session revoked',
      );
      throw new AppError('unauthorized', 'refresh token was already used; the session is revoked');
    }
    return this.#loginResult(user, token.org_id, token.session_id, result);
  }

  async logout(ctx: RequestContext): Promise<void> {
    if (!ctx.sessionId)
      throw new AppError('bad_request', 'only a user session can log out; revoke an API key instead');
    const sessionId = ctx.sessionId;
    await inTransaction(this.#db, async (trx) => {
      await authRepo.revokeSession(trx, sessionId, 'logout', this.#clock.now().toISOString());
      await this.#audit.record(trx, ctx, { action: 'logout', entityType: 'session', entityId: sessionId });
    });
    await this.#principals.changed({ sessionId });
  }

  async switchOrg(ctx: RequestContext, orgId: string): Promise<LoginResult> {
    const user =
      ctx.actor.type === 'user' && ctx.userId ? await authRepo.getUser(this.#db, ctx.userId) : undefined;
    if (!user) throw new AppError('bad_request', 'only a user session can switch organization');
    const orgs = await orgsRepo.listForUser(this.#db, user.id);
    if (!orgs.some((o) => o.id === orgId)) throw new AppError('not_found', 'organization not found');
    return this.#openSession(ctx.meta, user, orgId);
  }

  async me(ctx: RequestContext): Promise<MeView> {
    const user =
      ctx.actor.type === 'user' && ctx.userId ? await authRepo.getUser(this.#db, ctx.userId) : undefined;
    const [org, orgs, roles] = await Promise.all([
      this.#orgs.get(ctx.orgId),
      user ? this.#orgs.listForUser(user.id) : Promise.resolve([]),
      user ? accessRepo.rolesOfMember(this.#db, ctx.orgId, user.id) : Promise.resolve([]),
    ]);
    return {
      user: user ? userView(user) : null,
      actor: ctx.actor,
      org,
      orgs,
      roles: roles.map(roleView),
      permissions: ctx.permissions.toArray(),
    };
  }

  async changePassword(
    ctx: RequestContext,
    input: { current_password: string; new_password: string },
  ): Promise<void> {
    const user =
      ctx.actor.type === 'user' && ctx.userId ? await authRepo.getUser(this.#db, ctx.userId) : undefined;
    if (!user) throw new AppError('bad_request', 'only a user session can change a password');
    if (!(await verifyPassword(user.password_hash, input.current_password)))
      throw new AppError('forbidden', 'current password is wrong');
    await this.#assertPasswordPolicy(input.new_password);
    const passwordHash = await hashPassword(input.new_password);
    const now = this.#clock.now().toISOString();
    await inTransaction(this.#db, async (trx) => {
      await authRepo.setPassword(trx, user.id, passwordHash, now);
      await authRepo.revokeUserSessions(trx, user.id, 'password changed', now, ctx.sessionId ?? undefined);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'user',
        entityId: user.id,
        after: { password: 'changed' },
      });
    });
    await this.#principals.changed({ userId: user.id });
  }

  /** Always succeeds from the caller's view, so it cannot be used to find out which emails exist. */
  async requestPasswordReset(meta: RequestMeta, emailInput: string): Promise<void> {
    const email = normaliseEmail(emailInput);
    const user = await authRepo.findUserByEmail(this.#db, email);
    if (!user || user.disabled_at) return;
    const token = newSecret('fpw');
    const now = this.#clock.now();
    const orgs = await orgsRepo.listForUser(this.#db, user.id);
    await inTransaction(this.#db, async (trx) => {
      const resetId = newId();
      await authRepo.insertPasswordReset(trx, {
        id: resetId,
        user_id: user.id,
        token_hash: sha256(token),
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + this.#resetTtlMs).toISOString(),
        used_at: null,
      });
      await this.#audit.record(
        trx,
        { orgId: orgs[0]?.id ?? null, actor: anonymous(email), meta },
        { action: 'created', entityType: 'password_reset', entityId: resetId, after: { user_id: user.id } },
      );
    });
    await this.#mailer.send({
      to: user.email,
      subject: 'Reset your password',
      text:
        `Use this token within ${Math.round(this.#resetTtlMs / 60_000)} minutes to set a new password:\n\n${token}\n\n` +
        `In the console: ${this.#publicUrl ?? ''}/password-reset?token=${token}\n` +
        `Or through the API: POST /api/v1/auth/password-reset/confirm {"token": "...", "new_password": "..."}`,
    });
  }

  async confirmPasswordReset(
    meta: RequestMeta,
    input: { token: string; new_password: string },
  ): Promise<void> {
    const now = this.#clock.now().toISOString();
    const reset = await authRepo.findPasswordReset(this.#db, sha256(input.token));
    if (!reset || reset.used_at || reset.expires_at <= now)
      throw new AppError('bad_request', 'reset token is not valid or has expired');
    await this.#assertPasswordPolicy(input.new_password);
    const passwordHash = await hashPassword(input.new_password);
    const user = await authRepo.getUser(this.#db, reset.user_id);
    if (!user) throw new AppError('bad_request', 'reset token is not valid or has expired');
    const orgs = await orgsRepo.listForUser(this.#db, user.id);
    await inTransaction(this.#db, async (trx) => {
      if (!(await authRepo.usePasswordReset(trx, reset.id, now)))
        throw new AppError('bad_request', 'reset token is not valid or has expired');
      await authRepo.setPassword(trx, user.id, passwordHash, now);
      await authRepo.revokeUserSessions(trx, user.id, 'password reset', now);
      await this.#audit.record(
        trx,
        { orgId: orgs[0]?.id ?? null, actor: asUser(user), meta },
        { action: 'modified', entityType: 'user', entityId: user.id, after: { password: 'reset' } },
      );
    });
    await this.#principals.changed({ userId: user.id });
  }

  /** For `fleetplane admin create` and first start: a user who owns the primary organisation. */
  async createAdmin(
    meta: RequestMeta,
    input: { email: string; password: string; name: string; orgName: string },
  ): Promise<{ user: UserView; org: OrgView }> {
    const email = normaliseEmail(input.email);
    await this.#assertPasswordPolicy(input.password);
    const passwordHash = await hashPassword(input.password);
    return inTransaction(this.#db, async (trx) => {
      if (await authRepo.findUserByEmail(trx, email))
        throw new AppError('conflict', 'an account with this email exists');
      const user = await this.#insertUser(trx, { email, name: input.name, passwordHash });
      const scope = { orgId: null, actor: { type: 'system', id: null, label: 'cli' } as Actor, meta };
      const primary = await orgsRepo.primary(trx);
      let org = primary;
      if (primary) {
        const owner = await accessRepo.findRoleByName(trx, primary.id, 'owner');
        if (!owner) throw new AppError('internal', 'primary organization has no owner role');
        await accessRepo.insertMembership(trx, primary.id, user.id, user.created_at);
        await accessRepo.setMemberRoles(trx, primary.id, user.id, [owner.id]);
      } else {
        org = await this.#orgs.createWithOwner(trx, scope, { name: input.orgName, ownerUserId: user.id });
      }
      if (!org) throw new AppError('internal', 'no organization');
      await this.#audit.record(
        trx,
        { ...scope, orgId: org.id },
        { action: 'created', entityType: 'user', entityId: user.id, after: userView(user) },
      );
      return { user: userView(user), org };
    });
  }

  async #acceptInvite(
    meta: RequestMeta,
    input: SignupInput & { invite_token: string },
  ): Promise<LoginResult> {
    const now = this.#clock.now().toISOString();
    const invite = await invitesRepo.findByTokenHash(this.#db, sha256(input.invite_token));
    if (!invite || invite.accepted_at || invite.revoked_at || invite.expires_at <= now) {
      throw new AppError('bad_request', 'invite is not valid or has expired');
    }
    if (invite.email !== input.email)
      throw new AppError('bad_request', 'invite was sent to another email address');
    const existing = await authRepo.findUserByEmail(this.#db, input.email);
    if (existing && !(await verifyPassword(existing.password_hash, input.password))) {
      throw new AppError(
        'unauthorized',
        'an account with this email exists: give its password to accept the invite',
      );
    }
    const passwordHash = existing ? null : await hashPassword(input.password);
    const user = await inTransaction(this.#db, async (trx) => {
      if (!(await invitesRepo.markAccepted(trx, invite.id, now)))
        throw new AppError('bad_request', 'invite is not valid or has expired');
      const user =
        existing ??
        (await this.#insertUser(trx, {
          email: input.email,
          name: input.name,
          passwordHash: passwordHash ?? '',
        }));
      if (await accessRepo.getMember(trx, invite.org_id, user.id))
        throw new AppError('conflict', 'already a member of this organization');
      await accessRepo.insertMembership(trx, invite.org_id, user.id, now);
      await accessRepo.setMemberRoles(trx, invite.org_id, user.id, [invite.role_id]);
      await this.#audit.record(
        trx,
        { orgId: invite.org_id, actor: asUser(user), meta },
        {
          action: 'created',
          entityType: 'member',
          entityId: user.id,
          after: { ...userView(user), invite_id: invite.id, role_id: invite.role_id },
        },
      );
      return user;
    });
    return this.#openSession(meta, user, invite.org_id);
  }

  async #insertUser(
    trx: Executor,
    input: { email: string; name: string; passwordHash: string },
  ): Promise<UserRow> {
    const now = this.#clock.now().toISOString();
    const user: UserRow = {
      id: newId(),
      email: input.email,
      name: input.name,
      password_hash: input.passwordHash,
      created_at: now,
      updated_at: now,
      disabled_at: null,
    };
    await authRepo.insertUser(trx, user);
    return user;
  }

  async #openSession(meta: RequestMeta, user: UserRow, orgId: string): Promise<LoginResult> {
    const now = this.#clock.now();
    const sessionId = newId();
    const refreshToken = newSecret('fpr');
    await inTransaction(this.#db, async (trx) => {
      await authRepo.insertSession(trx, {
        id: sessionId,
        user_id: user.id,
        org_id: orgId,
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + this.#refreshTtlMs).toISOString(),
        revoked_at: null,
        revoked_reason: null,
        ip: meta.ip,
        user_agent: meta.userAgent?.slice(0, 512) ?? null,
      });
      await authRepo.insertRefreshToken(trx, {
        id: newId(),
        session_id: sessionId,
        token_hash: sha256(refreshToken),
        created_at: now.toISOString(),
      });
      await this.#audit.record(
        trx,
        { orgId, actor: asUser(user), meta },
        { action: 'login', entityType: 'session', entityId: sessionId },
      );
    });
    return this.#loginResult(user, orgId, sessionId, refreshToken);
  }

  async #loginResult(
    user: UserRow,
    orgId: string,
    sessionId: string,
    refreshToken: string,
  ): Promise<LoginResult> {
    const [accessToken, org] = await Promise.all([
      this.#tokens.issue({ userId: user.id, orgId, sessionId }),
      this.#orgs.get(orgId),
    ]);
    return {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: this.#tokens.ttlSeconds,
      refresh_token: refreshToken,
      user: userView(user),
      org,
    };
  }

  async #assertPasswordPolicy(password: string): Promise<void> {
    const { password_min_length: min } = await this.#settings.readInstance('security');
    if (password.length < min) {
      throw new AppError('unprocessable', `password must be at least ${min} characters`, {
        details: [{ field: 'password', message: 'too short' }],
      });
    }
  }
}
