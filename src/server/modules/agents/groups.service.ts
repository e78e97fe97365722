import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import { requireProfile } from '../profiles/profiles.service.js';
import { agentsRepo } from './agents.repo.js';
import { groupsRepo, type GroupRow, type GroupWithCount } from './groups.repo.js';

export interface GroupView {
  id: string;
  name: string;
  description: string;
  agent_count: number;
  auto_profile_id: string | null;
  created_at: string;
  updated_at: string;
}

function view(row: GroupWithCount): GroupView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    agent_count: Number(row.agent_count),
    auto_profile_id: row.auto_profile_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function groupNameTaken(name: string): AppError {
  return new AppError('conflict', `an agent group named "${name}" exists`, {
    details: [{ field: 'name', message: 'taken' }],
  });
}

/** A group of the organisation, or undefined. */
export function findGroup(db: Executor, orgId: string, groupId: string): Promise<GroupRow | undefined> {
  return groupsRepo.get(db, orgId, groupId);
}

/** A group id given in a body (in `field`) must name a group of the caller's organisation: else 422. */
export async function requireGroup(
  db: Executor,
  orgId: string,
  groupId: string,
  field = 'group_id',
): Promise<GroupRow> {
  const group = await groupsRepo.get(db, orgId, groupId);
  if (!group)
    throw new AppError('unprocessable', 'agent group not found', {
      details: [{ field, message: 'not found' }],
    });
  return group;
}

export class GroupsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(deps: { db: Executor; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  async list(orgId: string, page: PageParams): Promise<Page<GroupView>> {
    return mapPage(await groupsRepo.list(this.#db, orgId, page), view);
  }

  async get(orgId: string, id: string, db: Executor = this.#db): Promise<GroupView> {
    const row = await groupsRepo.getWithCount(db, orgId, id);
    if (!row) throw notFound('agent group');
    return view(row);
  }

  async create(
    ctx: RequestContext,
    input: { name: string; description?: string; auto_profile_id?: string | null },
  ): Promise<GroupView> {
    return inTransaction(this.#db, async (trx) => {
      if (input.auto_profile_id)
        await requireProfile(trx, ctx.orgId, input.auto_profile_id, 'auto_profile_id');
      const now = this.#clock.now().toISOString();
      const row: GroupRow = {
        id: newId(),
        org_id: ctx.orgId,
        name: input.name,
        description: input.description ?? '',
        auto_profile_id: input.auto_profile_id ?? null,
        created_at: now,
        updated_at: now,
      };
      if (!(await groupsRepo.insert(trx, row))) throw groupNameTaken(input.name);
      const created = view({ ...row, agent_count: 0 });
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'agent_group',
        entityId: row.id,
        after: created,
      });
      return created;
    });
  }

  async update(
    ctx: RequestContext,
    id: string,
    input: { name?: string; description?: string; auto_profile_id?: string | null },
  ): Promise<GroupView> {
    return inTransaction(this.#db, async (trx) => {
      const before = await this.get(ctx.orgId, id, trx);
      if (input.auto_profile_id)
        await requireProfile(trx, ctx.orgId, input.auto_profile_id, 'auto_profile_id');
      const after: GroupView = {
        ...before,
        name: input.name ?? before.name,
        description: input.description ?? before.description,
        auto_profile_id: input.auto_profile_id === undefined ? before.auto_profile_id : input.auto_profile_id,
        updated_at: this.#clock.now().toISOString(),
      };
      const updated = await groupsRepo.update(trx, ctx.orgId, id, {
        name: after.name,
        description: after.description,
        auto_profile_id: after.auto_profile_id,
        updated_at: after.updated_at,
      });
      if (!updated) throw groupNameTaken(after.name);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'agent_group',
        entityId: id,
        before,
        after,
      });
      return after;
    });
  }

  /** Deletes the group; its agents stay, without a group. */
  async remove(ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const before = await this.get(ctx.orgId, id, trx);
      await agentsRepo.clearGroup(trx, ctx.orgId, id, this.#clock.now().toISOString());
      // Enrollment tokens that named the group lose it through the foreign key (ON DELETE SET NULL).
      await groupsRepo.delete(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: 'agent_group',
        entityId: id,
        before,
      });
    });
  }
}
