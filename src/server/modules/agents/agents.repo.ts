import { sql, type ExpressionBuilder, type Updateable } from 'kysely';
import { containsText, hasJsonTag } from '../../db/search.js';
import type { Executor } from '../../db/executor.js';
import type { AgentsTable, DB } from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';

export type AgentRow = AgentsTable;

export interface AgentFilter {
  status?: string;
  tag?: string;
  groupId?: string;
  osType?: string;
  text?: string;
}

/** Which live agents a run targets; the fields are AND-combined, and no field selects nothing. */
export interface TargetSelector {
  agent_ids?: string[];
  tags?: string[];
  group_id?: string;
  os_type?: string;
  /** Every live agent of the organisation. */
  all?: boolean;
}

export interface TargetRow {
  id: string;
  os_type: string;
  /** JSON array. */
  interpreters: string;
  connected: number;
}

/** Ids per statement: well under the bound-parameter limits of both dialects. */
const IDS_PER_QUERY = 1000;

function hasTag(eb: ExpressionBuilder<DB, 'agents'>, tag: string) {
  return hasJsonTag(eb.ref('agents.tags'), tag);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export const agentsRepo = {
  /** A live (not deleted) agent of the organisation. */
  get(db: Executor, orgId: string, id: string): Promise<AgentRow | undefined> {
    return db
      .selectFrom('agents')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
  },

  /** Live agents of the organisation: all, online, and holding a socket; one scan of the org's rows. */
  async countByState(
    db: Executor,
    orgId: string,
  ): Promise<{ total: number; online: number; connected: number }> {
    const row = await db
      .selectFrom('agents')
      .select((eb) => [
        eb.fn.countAll<number>().as('total'),
        sql<number>`sum(case when ${eb.ref('status')} = 'online' then 1 else 0 end)`.as('online'),
        sql<number>`sum(${eb.ref('connected')})`.as('connected'),
      ])
      .where('org_id', '=', orgId)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    // sum() over no rows is null, and a bigint string on PostgreSQL.
    return {
      total: Number(row.total),
      online: Number(row.online ?? 0),
      connected: Number(row.connected ?? 0),
    };
  },

  /** The agent an agent token belongs to, deleted or not: a deleted one is answered 410. */
  findByTokenHash(db: Executor, tokenHash: string): Promise<AgentRow | undefined> {
    return db.selectFrom('agents').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  },

  async setConnected(db: Executor, ids: readonly string[], connected: boolean, now: string): Promise<void> {
    if (ids.length === 0) return;
    await db
      .updateTable('agents')
      .set(
        connected
          ? { connected: 1, status: 'online', last_seen_at: now, updated_at: now }
          : { connected: 0, updated_at: now },
      )
      .where('id', 'in', ids)
      .execute();
  },

  insert(db: Executor, agent: AgentRow): Promise<unknown> {
    return db.insertInto('agents').values(agent).execute();
  },

  list(
    db: Executor,
    orgId: string,
    filter: AgentFilter,
    page: PageParams,
    like: 'like' | 'ilike',
  ): Promise<Page<AgentRow>> {
    let q = db.selectFrom('agents').selectAll().where('org_id', '=', orgId).where('deleted_at', 'is', null);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.groupId) q = q.where('group_id', '=', filter.groupId);
    if (filter.osType) q = q.where('os_type', '=', filter.osType);
    const tag = filter.tag;
    if (tag) q = q.where((eb) => hasTag(eb, tag));
    const text = filter.text;
    if (text)
      q = q.where((eb) =>
        containsText(
          (['name', 'hostname', 'ip'] as const).map((c) => eb.ref(c)),
          text,
          like,
        ),
      );
    return paginate(q, 'id', page);
  },

  /** Changes a live agent of the organisation. */
  update(
    db: Executor,
    orgId: string,
    id: string,
    changes: Partial<Pick<AgentRow, 'name' | 'tags' | 'group_id' | 'notes' | 'profile_id' | 'updated_at'>>,
  ): Promise<unknown> {
    return db
      .updateTable('agents')
      .set(changes)
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .execute();
  },

  /** Keeps the row and its token hash, so the agent can still be told to uninstall (410). */
  softDelete(db: Executor, orgId: string, id: string, reason: string, now: string): Promise<unknown> {
    return db
      .updateTable('agents')
      .set({ deleted_at: now, delete_reason: reason, updated_at: now })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .execute();
  },

  /** The agent of this machine in the organisation, deleted or not; a live one wins. */
  findByFingerprint(db: Executor, orgId: string, fingerprint: string): Promise<AgentRow | undefined> {
    return db
      .selectFrom('agents')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('fingerprint', '=', fingerprint)
      .orderBy(sql`case when deleted_at is null then 0 else 1 end`)
      .orderBy('updated_at', 'desc')
      .executeTakeFirst();
  },

  findByMachineKeyHash(db: Executor, keyHash: string): Promise<AgentRow | undefined> {
    return db.selectFrom('agents').selectAll().where('machine_key_hash', '=', keyHash).executeTakeFirst();
  },

  /** Registration: new facts, a new token, and back to life if it was deleted. */
  register(db: Executor, id: string, changes: Updateable<AgentRow>): Promise<unknown> {
    return db.updateTable('agents').set(changes).where('id', '=', id).execute();
  },

  clearGroup(db: Executor, orgId: string, groupId: string, now: string): Promise<unknown> {
    return db
      .updateTable('agents')
      .set({ group_id: null, updated_at: now })
      .where('org_id', '=', orgId)
      .where('group_id', '=', groupId)
      .execute();
  },

  /**
   * Live agents matching a run's selector, for fan-out. An empty selector, or an empty list of
   * agent ids, selects nothing: a run never reaches the whole fleet by omission.
   */
  async selectTargets(db: Executor, orgId: string, selector: TargetSelector): Promise<TargetRow[]> {
    const tags = [...new Set(selector.tags ?? [])];
    const ids = selector.agent_ids === undefined ? undefined : [...new Set(selector.agent_ids)];
    const given =
      selector.all === true ||
      ids !== undefined ||
      tags.length > 0 ||
      selector.group_id !== undefined ||
      selector.os_type !== undefined;
    if (!given || ids?.length === 0) return [];
    const query = (idChunk: string[] | undefined) => {
      let q = db
        .selectFrom('agents')
        .select(['id', 'os_type', 'interpreters', 'connected'])
        .where('org_id', '=', orgId)
        .where('deleted_at', 'is', null);
      if (idChunk) q = q.where('id', 'in', idChunk);
      for (const tag of tags) q = q.where((eb) => hasTag(eb, tag));
      if (selector.group_id !== undefined) q = q.where('group_id', '=', selector.group_id);
      if (selector.os_type !== undefined) q = q.where('os_type', '=', selector.os_type);
      return q.orderBy('id').execute();
    };
    if (!ids) return query(undefined);
    const rows: TargetRow[] = [];
    for (const idChunk of chunks(ids, IDS_PER_QUERY)) rows.push(...(await query(idChunk)));
    return rows;
  },
};
