import type { Executor } from '../../db/executor.js';
import type { PasswordResetsTable, SessionsTable, UsersTable } from '../../db/schema.js';
import { grantOf } from '../access/access.repo.js';
import type { RoleGrant } from '../access/permissions.js';

export type UserRow = UsersTable;
export type SessionRow = SessionsTable;

export interface SessionPrincipal {
  session_id: string;
  user_id: string;
  org_id: string;
  expires_at: string;
  revoked_at: string | null;
  disabled_at: string | null;
  email: string;
  /** The user's roles in the session's organisation: none once they are no longer a member. */
  roles: RoleGrant[];
}

export const authRepo = {
  findUserByEmail(db: Executor, email: string): Promise<UserRow | undefined> {
    return db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  },

  getUser(db: Executor, id: string): Promise<UserRow | undefined> {
    return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  },

  insertUser(db: Executor, user: UserRow): Promise<unknown> {
    return db.insertInto('users').values(user).execute();
  },

  setPassword(db: Executor, userId: string, passwordHash: string, now: string): Promise<unknown> {
    return db
      .updateTable('users')
      .set({ password_hash: passwordHash, updated_at: now })
      .where('id', '=', userId)
      .execute();
  },

  async countUsers(db: Executor): Promise<number> {
    const row = await db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },

  insertSession(db: Executor, session: SessionRow): Promise<unknown> {
    return db.insertInto('sessions').values(session).execute();
  },

  /** The session, its user and the user's roles in the session's org, in one round trip. */
  async sessionPrincipal(db: Executor, sessionId: string): Promise<SessionPrincipal | undefined> {
    const rows = await db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .leftJoin('member_roles', (join) =>
        join
          .onRef('member_roles.user_id', '=', 'sessions.user_id')
          .onRef('member_roles.org_id', '=', 'sessions.org_id'),
      )
      .leftJoin('roles', 'roles.id', 'member_roles.role_id')
      .select([
        'sessions.id as session_id',
        'sessions.user_id',
        'sessions.org_id',
        'sessions.expires_at',
        'sessions.revoked_at',
        'users.disabled_at',
        'users.email',
        'roles.name as role_name',
        'roles.builtin as role_builtin',
        'roles.permissions as role_permissions',
      ])
      .where('sessions.id', '=', sessionId)
      .execute();
    const first = rows[0];
    if (!first) return undefined;
    const { role_name: _n, role_builtin: _b, role_permissions: _p, ...session } = first;
    const roles = rows.flatMap((r) => grantOf(r.role_name, r.role_builtin, r.role_permissions) ?? []);
    return { ...session, roles };
  },

  getSession(db: Executor, sessionId: string): Promise<SessionRow | undefined> {
    return db.selectFrom('sessions').selectAll().where('id', '=', sessionId).executeTakeFirst();
  },

  revokeSession(db: Executor, sessionId: string, reason: string, now: string): Promise<unknown> {
    return db
      .updateTable('sessions')
      .set({ revoked_at: now, revoked_reason: reason })
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .execute();
  },

  revokeUserSessions(
    db: Executor,
    userId: string,
    reason: string,
    now: string,
    exceptSessionId?: string,
  ): Promise<unknown> {
    let q = db
      .updateTable('sessions')
      .set({ revoked_at: now, revoked_reason: reason })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null);
    if (exceptSessionId) q = q.where('id', '!=', exceptSessionId);
    return q.execute();
  },

  revokeMemberSessions(
    db: Executor,
    orgId: string,
    userId: string,
    reason: string,
    now: string,
  ): Promise<unknown> {
    return db
      .updateTable('sessions')
      .set({ revoked_at: now, revoked_reason: reason })
      .where('org_id', '=', orgId)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .execute();
  },

  insertRefreshToken(
    db: Executor,
    row: { id: string; session_id: string; token_hash: string; created_at: string },
  ): Promise<unknown> {
    return db
      .insertInto('refresh_tokens')
      .values({ ...row, used_at: null })
      .execute();
  },

  findRefreshToken(db: Executor, tokenHash: string) {
    return db
      .selectFrom('refresh_tokens')
      .innerJoin('sessions', 'sessions.id', 'refresh_tokens.session_id')
      .select([
        'refresh_tokens.id',
        'refresh_tokens.used_at',
        'sessions.id as session_id',
        'sessions.user_id',
        'sessions.org_id',
        'sessions.expires_at',
        'sessions.revoked_at',
      ])
      .where('refresh_tokens.token_hash', '=', tokenHash)
      .executeTakeFirst();
  },

  /** Marks a refresh token used; false when it already was, so two racing refreshes cannot both win. */
  async useRefreshToken(db: Executor, id: string, now: string): Promise<boolean> {
    const result = await db
      .updateTable('refresh_tokens')
      .set({ used_at: now })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  insertPasswordReset(db: Executor, row: PasswordResetsTable): Promise<unknown> {
    return db.insertInto('password_resets').values(row).execute();
  },

  findPasswordReset(db: Executor, tokenHash: string): Promise<PasswordResetsTable | undefined> {
    return db
      .selectFrom('password_resets')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
  },

  async usePasswordReset(db: Executor, id: string, now: string): Promise<boolean> {
    const result = await db
      .updateTable('password_resets')
      .set({ used_at: now })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },
};
