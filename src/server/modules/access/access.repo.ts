import type { Executor } from '../../db/executor.js';
import type { RolesTable } from '../../db/schema.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import { unlessTaken } from '../../db/search.js';
import type { RoleGrant } from './permissions.js';

type RoleRow = RolesTable;

export interface Role extends Omit<RoleRow, 'builtin' | 'permissions'> {
  builtin: boolean;
  /** As stored; a built-in role's come from code (permissions.ts), so it stores none. */
  permissions: string[];
}

function decode(row: RoleRow): Role {
  return { ...row, builtin: row.builtin === 1, permissions: JSON.parse(row.permissions) as string[] };
}

/**
 * A role as its columns read through another table's join give it (the authenticator's); null
 * when a left join found no role.
 */
export function grantOf(name: string, builtin: number, permissions: string): RoleGrant;
export function grantOf(
  name: string | null,
  builtin: number | null,
  permissions: string | null,
): RoleGrant | null;
export function grantOf(
  name: string | null,
  builtin: number | null,
  permissions: string | null,
): RoleGrant | null {
  if (name === null || builtin === null || permissions === null) return null;
  return { name, builtin: builtin === 1, permissions: JSON.parse(permissions) as string[] };
}

function encode(role: Role): RoleRow {
  return { ...role, builtin: role.builtin ? 1 : 0, permissions: JSON.stringify(role.permissions) };
}

export interface MemberRow {
  id: string;
  email: string;
  name: string;
  joined_at: string;
}

export const accessRepo = {
  /** False when the organisation already has a role of that name. */
  insertRole(db: Executor, role: Role): Promise<boolean> {
    return unlessTaken(db.insertInto('roles').values(encode(role)).execute());
  },

  async listRoles(db: Executor, orgId: string, page: PageParams): Promise<Page<Role>> {
    return mapPage(
      await paginate(db.selectFrom('roles').selectAll().where('org_id', '=', orgId), 'id', page),
      decode,
    );
  },

  async getRole(db: Executor, orgId: string, id: string): Promise<Role | undefined> {
    const row = await db
      .selectFrom('roles')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decode(row);
  },

  async getRolesByIds(db: Executor, orgId: string, ids: readonly string[]): Promise<Role[]> {
    if (ids.length === 0) return [];
    const rows = await db
      .selectFrom('roles')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', 'in', ids)
      .execute();
    return rows.map(decode);
  },

  async findRoleByName(db: Executor, orgId: string, name: string): Promise<Role | undefined> {
    const row = await db
      .selectFrom('roles')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && decode(row);
  },

  updateRole(
    db: Executor,
    orgId: string,
    id: string,
    changes: Pick<Role, 'name' | 'description' | 'permissions' | 'updated_at'>,
  ): Promise<boolean> {
    return unlessTaken(
      db
        .updateTable('roles')
        .set({ ...changes, permissions: JSON.stringify(changes.permissions) })
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .execute(),
    );
  },

  async deleteRole(db: Executor, orgId: string, id: string): Promise<void> {
    // Revoked keys still reference their role (api_keys.role_id has no ON DELETE), so they go
    // with it; live keys block the deletion earlier (roleUsage), and the audit log keeps their history.
    await db
      .deleteFrom('api_keys')
      .where('org_id', '=', orgId)
      .where('role_id', '=', id)
      .where('revoked_at', 'is not', null)
      .execute();
    await db.deleteFrom('roles').where('org_id', '=', orgId).where('id', '=', id).execute();
  },

  /** What holds the role: members, live API keys, and invites still open at `now`. */
  async roleUsage(
    db: Executor,
    orgId: string,
    roleId: string,
    now: string,
  ): Promise<{ members: number; apiKeys: number; invites: number }> {
    const [members, keys, invites] = await Promise.all([
      db
        .selectFrom('member_roles')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', orgId)
        .where('role_id', '=', roleId)
        .executeTakeFirstOrThrow(),
      db
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', orgId)
        .where('role_id', '=', roleId)
        .where('revoked_at', 'is', null)
        .executeTakeFirstOrThrow(),
      db
        .selectFrom('invites')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', orgId)
        .where('role_id', '=', roleId)
        .where('accepted_at', 'is', null)
        .where('revoked_at', 'is', null)
        .where('expires_at', '>', now)
        .executeTakeFirstOrThrow(),
    ]);
    return { members: Number(members.n), apiKeys: Number(keys.n), invites: Number(invites.n) };
  },

  async rolesOfMember(db: Executor, orgId: string, userId: string): Promise<Role[]> {
    const rows = await db
      .selectFrom('member_roles')
      .innerJoin('roles', 'roles.id', 'member_roles.role_id')
      .selectAll('roles')
      .where('member_roles.org_id', '=', orgId)
      .where('member_roles.user_id', '=', userId)
      .orderBy('roles.name')
      .execute();
    return rows.map(decode);
  },

  async rolesOfMembers(
    db: Executor,
    orgId: string,
    userIds: readonly string[],
  ): Promise<Map<string, Role[]>> {
    const byUser = new Map<string, Role[]>(userIds.map((id) => [id, []]));
    if (userIds.length === 0) return byUser;
    const rows = await db
      .selectFrom('member_roles')
      .innerJoin('roles', 'roles.id', 'member_roles.role_id')
      .selectAll('roles')
      .select('member_roles.user_id as member_id')
      .where('member_roles.org_id', '=', orgId)
      .where('member_roles.user_id', 'in', userIds)
      .orderBy('roles.name')
      .execute();
    for (const { member_id, ...role } of rows) byUser.get(member_id)?.push(decode(role));
    return byUser;
  },

  async setMemberRoles(
    db: Executor,
    orgId: string,
    userId: string,
    roleIds: readonly string[],
  ): Promise<void> {
    await db.deleteFrom('member_roles').where('org_id', '=', orgId).where('user_id', '=', userId).execute();
    if (roleIds.length > 0) {
      await db
        .insertInto('member_roles')
        .values(roleIds.map((role_id) => ({ org_id: orgId, user_id: userId, role_id })))
        .execute();
    }
  },

  async usersWithRole(db: Executor, orgId: string, roleId: string): Promise<string[]> {
    const rows = await db
      .selectFrom('member_roles')
      .select('user_id')
      .where('org_id', '=', orgId)
      .where('role_id', '=', roleId)
      .execute();
    return rows.map((r) => r.user_id);
  },

  insertMembership(db: Executor, orgId: string, userId: string, now: string): Promise<unknown> {
    return db.insertInto('memberships').values({ org_id: orgId, user_id: userId, created_at: now }).execute();
  },

  deleteMembership(db: Executor, orgId: string, userId: string): Promise<unknown> {
    return db.deleteFrom('memberships').where('org_id', '=', orgId).where('user_id', '=', userId).execute();
  },

  listMembers(db: Executor, orgId: string, page: PageParams): Promise<Page<MemberRow>> {
    return paginate(
      db
        .selectFrom('memberships')
        .innerJoin('users', 'users.id', 'memberships.user_id')
        .select(['users.id', 'users.email', 'users.name', 'memberships.created_at as joined_at'])
        .where('memberships.org_id', '=', orgId),
      'users.id',
      page,
    );
  },

  getMember(db: Executor, orgId: string, userId: string): Promise<MemberRow | undefined> {
    return db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['users.id', 'users.email', 'users.name', 'memberships.created_at as joined_at'])
      .where('memberships.org_id', '=', orgId)
      .where('memberships.user_id', '=', userId)
      .executeTakeFirst();
  },

  async countMembers(db: Executor, orgId: string): Promise<number> {
    const row = await db
      .selectFrom('memberships')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('org_id', '=', orgId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },
};
