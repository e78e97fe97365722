import type { Executor } from '../../db/executor.js';
import { inTransaction } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { RequestContext } from '../access/context.js';
import { accessRepo } from '../access/access.repo.js';
import { builtinRoleDescriptions, builtinRoleNames, type BuiltinRoleName } from '../access/permissions.js';
import type { AuditLog, AuditScope } from '../audit/audit.service.js';
import { addStarterCommands } from '../scripts/scripts.service.js';
import { orgsRepo, type Org } from './orgs.repo.js';

export type OrgView = Org;

/** The primary organisation (the first one created), whose settings are the instance's. */
export function primaryOrg(db: Executor): Promise<Org | undefined> {
  return orgsRepo.primary(db);
}

export class OrgsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(deps: { db: Executor; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  /**
   * Creates an organisation with its built-in roles and starter commands and makes `ownerUserId`
   * its owner; runs inside the caller's transaction (signup, POST /orgs, the first admin, the demo
   * seed). The first organisation of an instance is its primary one.
   */
  async createWithOwner(
    trx: Executor,
    scope: AuditScope,
    input: { name: string; ownerUserId: string },
  ): Promise<Org> {
    const now = this.#clock.now().toISOString();
    const isFirst = (await orgsRepo.count(trx)) === 0;
    const org: Org = {
      id: newId(),
      name: input.name,
      is_primary: isFirst,
      created_at: now,
      updated_at: now,
    };
    await orgsRepo.insert(trx, org);
    const roleIds = {} as Record<BuiltinRoleName, string>;
    for (const name of builtinRoleNames) {
      roleIds[name] = newId();
      const inserted = await accessRepo.insertRole(trx, {
        id: roleIds[name],
        org_id: org.id,
        name,
        description: builtinRoleDescriptions[name],
        permissions: [],
        builtin: true,
        created_at: now,
        updated_at: now,
      });
      // A new organisation has no roles yet: a clash here is a bug, not a user error.
      if (!inserted) throw new Error(`built-in role ${name} exists in a new organisation`);
    }
    await accessRepo.insertMembership(trx, org.id, input.ownerUserId, now);
    await accessRepo.setMemberRoles(trx, org.id, input.ownerUserId, [roleIds.owner]);
    await addStarterCommands(trx, org.id, now);
    await this.#audit.record(
      trx,
      { ...scope, orgId: org.id },
      { action: 'created', entityType: 'organization', entityId: org.id, after: org },
    );
    return org;
  }

  async create(ctx: RequestContext, name: string): Promise<OrgView> {
    if (!ctx.userId || ctx.actor.type !== 'user') throw notFound('user');
    const userId = ctx.userId;
    return inTransaction(this.#db, (trx) => this.createWithOwner(trx, ctx, { name, ownerUserId: userId }));
  }

  async listForUser(userId: string): Promise<OrgView[]> {
    return orgsRepo.listForUser(this.#db, userId);
  }

  /** The first organisation of the instance: it holds the instance-wide settings. */
  async primary(): Promise<OrgView | undefined> {
    return orgsRepo.primary(this.#db);
  }

  /** Every organisation's id, for upkeep that applies each one's settings (housekeeping). */
  async ids(): Promise<string[]> {
    return orgsRepo.ids(this.#db);
  }

  async get(orgId: string): Promise<OrgView> {
    const org = await orgsRepo.get(this.#db, orgId);
    if (!org) throw notFound('organization');
    return org;
  }

  async rename(ctx: RequestContext, name: string): Promise<OrgView> {
    return inTransaction(this.#db, async (trx) => {
      const before = await orgsRepo.get(trx, ctx.orgId);
      if (!before) throw notFound('organization');
      const now = this.#clock.now().toISOString();
      await orgsRepo.rename(trx, ctx.orgId, name, now);
      const after = { ...before, name, updated_at: now };
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'organization',
        entityId: ctx.orgId,
        before,
        after,
      });
      return after;
    });
  }
}
