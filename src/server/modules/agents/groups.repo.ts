import type { Executor } from '../../db/executor.js';
import type { AgentGroupsTable } from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';
import { unlessTaken } from '../../db/search.js';

export type GroupRow = AgentGroupsTable;
export type GroupWithCount = GroupRow & { agent_count: number | string | bigint };

function withCount(db: Executor, orgId: string) {
  return db
    .selectFrom('agent_groups')
    .selectAll('agent_groups')
    .select((eb) =>
      eb
        .selectFrom('agents')
        .select(eb.fn.countAll<number>().as('n'))
        .whereRef('agents.group_id', '=', 'agent_groups.id')
        .where('agents.deleted_at', 'is', null)
        .as('agent_count'),
    )
    .where('agent_groups.org_id', '=', orgId);
}

export const groupsRepo = {
  /** False when the organisation already has a group of that name. */
  insert(db: Executor, group: GroupRow): Promise<boolean> {
    return unlessTaken(db.insertInto('agent_groups').values(group).execute());
  },

  async list(db: Executor, orgId: string, page: PageParams): Promise<Page<GroupWithCount>> {
    const result = await paginate(withCount(db, orgId), 'agent_groups.id', page);
    return {
      items: result.items.map((g) => ({ ...g, agent_count: g.agent_count ?? 0 })),
      next_cursor: result.next_cursor,
    };
  },

  async getWithCount(db: Executor, orgId: string, id: string): Promise<GroupWithCount | undefined> {
    const row = await withCount(db, orgId).where('agent_groups.id', '=', id).executeTakeFirst();
    return row && { ...row, agent_count: row.agent_count ?? 0 };
  },

  get(db: Executor, orgId: string, id: string): Promise<GroupRow | undefined> {
    return db
      .selectFrom('agent_groups')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  update(
    db: Executor,
    orgId: string,
    id: string,
    changes: Partial<Pick<GroupRow, 'name' | 'description' | 'auto_profile_id' | 'updated_at'>>,
  ): Promise<boolean> {
    return unlessTaken(
      db.updateTable('agent_groups').set(changes).where('org_id', '=', orgId).where('id', '=', id).execute(),
    );
  },

  delete(db: Executor, orgId: string, id: string): Promise<unknown> {
    return db.deleteFrom('agent_groups').where('org_id', '=', orgId).where('id', '=', id).execute();
  },
};
