import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { newSecret, sha256 } from '../../lib/crypto.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { ApiKeysService } from '../apikeys/apikeys.service.js';
import type { AuditLog } from '../audit/audit.service.js';
import { authRepo } from '../auth/auth.repo.js';
import type { PrincipalChanges } from '../auth/principal-cache.js';
import { accessRepo, type MemberRow, type Role } from './access.repo.js';
import type { RequestContext } from './context.js';
import { invitesRepo, type InviteRow } from './invites.repo.js';
import { PermissionSet, isBuiltinRoleName, isPermission, type Permission } from './permissions.js';
import { assertAssignable, rolePermissions } from './roles.rules.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RoleView {
  id: string;
  name: string;
  description: string;
  builtin: boolean;
  permissions: Permission[];
  created_at: string;
  updated_at: string;
}

export interface MemberView extends MemberRow {
  roles: { id: string; name: string }[];
}

export interface InviteView {
  id: string;
  email: string;
  role_id: string;
  created_by: string | null;
  created_at: string;
  expires_at: string;
  status: 'pending' | 'accepted' | 'revoked' | 'expired';
}

function isOwnerRole(role: Role): boolean {
  return role.builtin && role.name === 'owner';
}

function roleNameTaken(name: string): AppError {
  return new AppError('conflict', `a role named "${name}" exists`);
}

/** Members of an organisation, for the system summary. */
export function countMembers(db: Executor, orgId: string): Promise<number> {
  return accessRepo.countMembers(db, orgId);
}

/** Taking a role away from someone: only what ranks no higher than the holder's own roles. */
function assertRevocable(holder: PermissionSet, role: Role): void {
  if (rolePermissions(role).rank > holder.rank)
    throw new AppError('forbidden', `the role "${role.name}" ranks above your own: you cannot take it away`);
}

export function roleView(role: Role): RoleView {
  return {
    id: role.id,
    name: role.name,
    description: role.description,
    builtin: role.builtin,
    permissions: rolePermissions(role).toArray(),
    created_at: role.created_at,
    updated_at: role.updated_at,
  };
}

function validatePermissions(permissions: readonly string[]): Permission[] {
  const unknown = permissions.filter((p) => !isPermission(p));
  if (unknown.length > 0) {
    throw new AppError('unprocessable', 'unknown permissions', {
      details: unknown.map((p) => ({ field: 'permissions', message: `unknown permission "${p}"` })),
    });
  }
  return [...new Set(permissions as Permission[])];
}

export class AccessService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #apiKeys: Pick<ApiKeysService, 'revokeCreatedBy'>;
  readonly #principals: PrincipalChanges;
  readonly #inviteTtlMs: number;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    apiKeys: Pick<ApiKeysService, 'revokeCreatedBy'>;
    principals: PrincipalChanges;
    inviteTtlMs?: number;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#apiKeys = deps.apiKeys;
    this.#principals = deps.principals;
    this.#inviteTtlMs = deps.inviteTtlMs ?? 7 * DAY_MS;
  }

  async listRoles(orgId: string, page: PageParams): Promise<Page<RoleView>> {
    return mapPage(await accessRepo.listRoles(this.#db, orgId, page), roleView);
  }

  async getRole(orgId: string, id: string): Promise<RoleView> {
    return roleView(await this.#role(this.#db, orgId, id));
  }

  async createRole(
    ctx: RequestContext,
    input: { name: string; description?: string; permissions: string[] },
  ): Promise<RoleView> {
    const permissions = validatePermissions(input.permissions);
    assertAssignable(ctx.permissions, input.name, new PermissionSet(permissions));
    if (isBuiltinRoleName(input.name))
      throw new AppError('conflict', `"${input.name}" is a built-in role name`);
    return inTransaction(this.#db, async (trx) => {
      const now = this.#clock.now().toISOString();
      const role: Role = {
        id: newId(),
        org_id: ctx.orgId,
        name: input.name,
        description: input.description ?? '',
        permissions,
        builtin: false,
        created_at: now,
        updated_at: now,
      };
      if (!(await accessRepo.insertRole(trx, role))) throw roleNameTaken(input.name);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'role',
        entityId: role.id,
        after: roleView(role),
      });
      return roleView(role);
    });
  }

  async updateRole(
    ctx: RequestContext,
    id: string,
    input: { name?: string; description?: string; permissions?: string[] },
  ): Promise<RoleView> {
    const updated = await inTransaction(this.#db, async (trx) => {
      const before = await this.#role(trx, ctx.orgId, id);
      if (before.builtin) throw new AppError('conflict', 'built-in roles cannot be changed');
      const after: Role = { ...before, updated_at: this.#clock.now().toISOString() };
      if (input.permissions) {
        const permissions = validatePermissions(input.permissions);
        assertAssignable(ctx.permissions, input.name ?? before.name, new PermissionSet(permissions));
        after.permissions = permissions;
      }
      if (input.name !== undefined && input.name !== before.name) {
        if (isBuiltinRoleName(input.name))
          throw new AppError('conflict', `"${input.name}" is a built-in role name`);
        after.name = input.name;
      }
      if (input.description !== undefined) after.description = input.description;
      const updated = await accessRepo.updateRole(trx, ctx.orgId, id, {
        name: after.name,
        description: after.description,
        permissions: after.permissions,
        updated_at: after.updated_at,
      });
      if (!updated) throw roleNameTaken(after.name);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'role',
        entityId: id,
        before: roleView(before),
        after: roleView(after),
      });
      return roleView(after);
    });
    // Members and keys holding the role: any principal of the organisation may.
    await this.#principals.changed({ orgId: ctx.orgId });
    return updated;
  }

  async deleteRole(ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const role = await this.#role(trx, ctx.orgId, id);
      if (role.builtin) throw new AppError('conflict', 'built-in roles cannot be deleted');
      // Spent invites (accepted, revoked, expired) go with the role; their history is in the audit log.
      const usage = await accessRepo.roleUsage(trx, ctx.orgId, id, this.#clock.now().toISOString());
      if (usage.members > 0 || usage.apiKeys > 0 || usage.invites > 0) {
        throw new AppError(
          'conflict',
          `role is in use by ${usage.members} member(s), ${usage.apiKeys} API key(s) and ${usage.invites} open invite(s)`,
          {
            details: [
              { message: 'in use', members: usage.members, api_keys: usage.apiKeys, invites: usage.invites },
            ],
          },
        );
      }
      await accessRepo.deleteRole(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: 'role',
        entityId: id,
        before: roleView(role),
      });
    });
  }

  async listMembers(orgId: string, page: PageParams): Promise<Page<MemberView>> {
    const members = await accessRepo.listMembers(this.#db, orgId, page);
    const roles = await accessRepo.rolesOfMembers(
      this.#db,
      orgId,
      members.items.map((m) => m.id),
    );
    return mapPage(members, (m) => ({
      ...m,
      roles: (roles.get(m.id) ?? []).map((r) => ({ id: r.id, name: r.name })),
    }));
  }

  async getMember(orgId: string, userId: string): Promise<MemberView> {
    return (await this.#member(this.#db, orgId, userId)).view;
  }

  async memberRoles(orgId: string, userId: string): Promise<RoleView[]> {
    await this.getMember(orgId, userId);
    return (await accessRepo.rolesOfMember(this.#db, orgId, userId)).map(roleView);
  }

  /** Replaces a member's roles: each one granted must be assignable, each one taken revocable. */
  async setMemberRoles(ctx: RequestContext, userId: string, roleIds: string[]): Promise<RoleView[]> {
    const wanted = [...new Set(roleIds)];
    const granted = await inTransaction(this.#db, async (trx) => {
      const { view: before, roles: held } = await this.#member(trx, ctx.orgId, userId);
      const roles = await accessRepo.getRolesByIds(trx, ctx.orgId, wanted);
      if (roles.length !== wanted.length) {
        const found = new Set(roles.map((r) => r.id));
        throw new AppError('unprocessable', 'unknown roles', {
          details: wanted
            .filter((id) => !found.has(id))
            .map((id) => ({ field: 'role_ids', message: `role ${id} not found` })),
        });
      }
      if (roles.length === 0) throw new AppError('unprocessable', 'a member needs at least one role');
      for (const role of roles) assertAssignable(ctx.permissions, role.name, rolePermissions(role));
      const taken = held.filter((role) => !wanted.includes(role.id));
      for (const role of taken) assertRevocable(ctx.permissions, role);
      if (taken.some(isOwnerRole)) await this.#assertOwnerRemains(trx, ctx.orgId, userId);
      await accessRepo.setMemberRoles(trx, ctx.orgId, userId, wanted);
      const after = { ...before, roles: roles.map((r) => ({ id: r.id, name: r.name })) };
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'member_roles',
        entityId: userId,
        before,
        after,
      });
      return roles.map(roleView);
    });
    // The member's sessions here, and the keys they created here (a key acts within its creator's roles).
    await this.#principals.changed({ orgId: ctx.orgId, userId });
    return granted;
  }

  /** Removes a member and every credential they hold here: sessions and API keys, in one transaction. */
  async removeMember(ctx: RequestContext, userId: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const { view: before, roles: held } = await this.#member(trx, ctx.orgId, userId);
      for (const role of held) assertRevocable(ctx.permissions, role);
      if (held.some(isOwnerRole)) await this.#assertOwnerRemains(trx, ctx.orgId, userId);
      await accessRepo.deleteMembership(trx, ctx.orgId, userId);
      const reason = 'removed from organization';
      await authRepo.revokeMemberSessions(trx, ctx.orgId, userId, reason, this.#clock.now().toISOString());
      await this.#apiKeys.revokeCreatedBy(trx, ctx, userId, reason);
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: 'member',
        entityId: userId,
        before,
      });
    });
    await this.#principals.changed({ orgId: ctx.orgId, userId });
  }

  async createInvite(
    ctx: RequestContext,
    input: { email: string; role_id: string },
  ): Promise<{ invite: InviteView; token: string }> {
    const email = input.email.trim().toLowerCase();
    return inTransaction(this.#db, async (trx) => {
      const role = await accessRepo.getRole(trx, ctx.orgId, input.role_id);
      if (!role)
        throw new AppError('unprocessable', 'role not found', {
          details: [{ field: 'role_id', message: 'not found' }],
        });
      assertAssignable(ctx.permissions, role.name, rolePermissions(role));
      const token = newSecret('fpi');
      const now = this.#clock.now();
      const invite: InviteRow = {
        id: newId(),
        org_id: ctx.orgId,
        email,
        role_id: role.id,
        token_hash: sha256(token),
        created_by: ctx.userId,
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + this.#inviteTtlMs).toISOString(),
        accepted_at: null,
        revoked_at: null,
      };
      await invitesRepo.insert(trx, invite);
      const view = this.#inviteView(invite);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'invite',
        entityId: invite.id,
        after: view,
      });
      return { invite: view, token };
    });
  }

  async listInvites(orgId: string, page: PageParams): Promise<Page<InviteView>> {
    return mapPage(await invitesRepo.list(this.#db, orgId, page), (i) => this.#inviteView(i));
  }

  async revokeInvite(ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const invite = await invitesRepo.get(trx, ctx.orgId, id);
      if (!invite) throw notFound('invite');
      if (invite.accepted_at) throw new AppError('conflict', 'invite was already accepted');
      const now = this.#clock.now().toISOString();
      await invitesRepo.revoke(trx, ctx.orgId, id, now);
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: 'invite',
        entityId: id,
        before: this.#inviteView(invite),
        after: this.#inviteView({ ...invite, revoked_at: now }),
      });
    });
  }

  #inviteView(invite: InviteRow): InviteView {
    const status = invite.accepted_at
      ? 'accepted'
      : invite.revoked_at
        ? 'revoked'
        : invite.expires_at <= this.#clock.now().toISOString()
          ? 'expired'
          : 'pending';
    return {
      id: invite.id,
      email: invite.email,
      role_id: invite.role_id,
      created_by: invite.created_by,
      created_at: invite.created_at,
      expires_at: invite.expires_at,
      status,
    };
  }

  async #member(db: Executor, orgId: string, userId: string): Promise<{ view: MemberView; roles: Role[] }> {
    const member = await accessRepo.getMember(db, orgId, userId);
    if (!member) throw notFound('user');
    const roles = await accessRepo.rolesOfMember(db, orgId, userId);
    return { view: { ...member, roles: roles.map((r) => ({ id: r.id, name: r.name })) }, roles };
  }

  async #role(db: Executor, orgId: string, id: string): Promise<Role> {
    const role = await accessRepo.getRole(db, orgId, id);
    if (!role) throw notFound('role');
    return role;
  }

  /** An organisation always keeps one owner: refuses to take the role from its last one. */
  async #assertOwnerRemains(db: Executor, orgId: string, userId: string): Promise<void> {
    const ownerRole = await accessRepo.findRoleByName(db, orgId, 'owner');
    if (!ownerRole) throw new AppError('internal', 'organization has no owner role');
    const owners = await accessRepo.usersWithRole(db, orgId, ownerRole.id);
    if (owners.length === 1 && owners[0] === userId)
      throw new AppError('conflict', 'an organization must keep at least one owner');
  }
}
