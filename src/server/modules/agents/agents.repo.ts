import { sql, type ExpressionBuilder } from 'kysely';
import type { AgentMetrics } from '../../../protocol/agent.js';
import { containsText, hasJsonTag } from '../../db/search.js';
import { capsOf, type Executor } from '../../db/executor.js';
import type { AgentsTable, DB } from '../../db/schema.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';

type AgentRow = AgentsTable;
type Decoded = 'interpreters' | 'tags' | 'connected' | 'metrics' | 'system_info';

export interface Agent extends Omit<AgentRow, Decoded> {
  /** What the agent found installed (bash, sh, python, pwsh, powershell, cmd). */
  interpreters: string[];
  tags: string[];
  /** A node holds its socket. */
  connected: boolean;
  metrics: AgentMetrics | null;
  system_info: Record<string, unknown> | null;
}

/** The columns registration and a reconnect write: facts, token, state; never the id or organisation. */
export type AgentChanges = Partial<Omit<Agent, 'id' | 'org_id'>>;

export interface AgentFilter {
  status?: string;
  /** A node holds its socket (or not). */
  connected?: boolean;
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

export type TargetAgent = Pick<Agent, 'id' | 'os_type' | 'interpreters' | 'connected'>;

/** Ids per statement: well under the bound-parameter limits of both dialects. */
const IDS_PER_QUERY = 1000;

function parseOrNull<T>(json: string | null): T | null {
  return json === null ? null : (JSON.parse(json) as T);
}

function decode(row: AgentRow): Agent {
  return {
    ...row,
    interpreters: JSON.parse(row.interpreters) as string[],
    tags: JSON.parse(row.tags) as string[],
    connected: row.connected === 1,
    metrics: parseOrNull<AgentMetrics>(row.metrics),
    system_info: parseOrNull<Record<string, unknown>>(row.system_info),
  };
}

function jsonOrNull(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}

function encodeChanges({
  interpreters,
  tags,
  connected,
  metrics,
  system_info,
  ...rest
}: AgentChanges): Partial<AgentRow> {
  return {
    ...rest,
    ...(interpreters === undefined ? {} : { interpreters: JSON.stringify(interpreters) }),
    ...(tags === undefined ? {} : { tags: JSON.stringify(tags) }),
    ...(connected === undefined ? {} : { connected: connected ? 1 : 0 }),
    ...(metrics === undefined ? {} : { metrics: jsonOrNull(metrics) }),
    ...(system_info === undefined ? {} : { system_info: jsonOrNull(system_info) }),
  };
}

function encode(agent: Agent): AgentRow {
  return {
    ...agent,
    interpreters: JSON.stringify(agent.interpreters),
    tags: JSON.stringify(agent.tags),
    connected: agent.connected ? 1 : 0,
    metrics: jsonOrNull(agent.metrics),
    system_info: jsonOrNull(agent.system_info),
  };
}

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
  async get(db: Executor, orgId: string, id: string): Promise<Agent | undefined> {
    const row = await db
      .selectFrom('agents')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    return row && decode(row);
  },

  /** Live agents of the organisation: all, online, and holding a socket; one scan of the org's rows. */
  /** The names of these agents of the organisation (deleted ones too), by id. */
  async names(db: Executor, orgId: string, ids: readonly string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await db
      .selectFrom('agents')
      .select(['id', 'name'])
      .where('org_id', '=', orgId)
      .where('id', 'in', ids)
      .execute();
    return new Map(rows.map((row) => [row.id, row.name]));
  },

  async countByOsAndStatus(
    db: Executor,
    orgId: string,
  ): Promise<{ os_type: string; status: string; count: number }[]> {
    const rows = await db
      .selectFrom('agents')
      .select((eb) => ['os_type', 'status', eb.fn.countAll<number | string>().as('count')])
      .where('org_id', '=', orgId)
      .where('deleted_at', 'is', null)
      .groupBy(['os_type', 'status'])
      .execute();
    // count() is a bigint string on PostgreSQL.
    return rows.map((row) => ({ ...row, count: Number(row.count) }));
  },

  /** Live agents by the version they last reported. */
  async countByVersion(db: Executor, orgId: string): Promise<{ version: string; count: number }[]> {
    const rows = await db
      .selectFrom('agents')
      .select((eb) => ['agent_version', eb.fn.countAll<number | string>().as('count')])
      .where('org_id', '=', orgId)
      .where('deleted_at', 'is', null)
      .where('agent_version', 'is not', null)
      .groupBy('agent_version')
      .execute();
    return rows.map((row) => ({ version: row.agent_version ?? '', count: Number(row.count) }));
  },

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
  async findByTokenHash(db: Executor, tokenHash: string): Promise<Agent | undefined> {
    const row = await db
      .selectFrom('agents')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return row && decode(row);
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

  insert(db: Executor, agent: Agent): Promise<unknown> {
    return db.insertInto('agents').values(encode(agent)).execute();
  },

  async list(db: Executor, orgId: string, filter: AgentFilter, page: PageParams): Promise<Page<Agent>> {
    let q = db.selectFrom('agents').selectAll().where('org_id', '=', orgId).where('deleted_at', 'is', null);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.connected !== undefined) q = q.where('connected', '=', filter.connected ? 1 : 0);
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
          capsOf(db).ilike,
        ),
      );
    return mapPage(await paginate(q, 'id', page), decode);
  },

  /** Changes a live agent of the organisation. */
  update(
    db: Executor,
    orgId: string,
    id: string,
    changes: Pick<AgentChanges, 'name' | 'tags' | 'group_id' | 'notes' | 'profile_id' | 'updated_at'>,
  ): Promise<unknown> {
    return db
      .updateTable('agents')
      .set(encodeChanges(changes))
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('deleted_at', 'is', null)
      .execute();
  },

  /** Marks fresh facts asked of a live agent of the organisation; they clear it when they arrive. */
  requestFacts(db: Executor, orgId: string, id: string, now: string): Promise<unknown> {
    return db
      .updateTable('agents')
      .set({ facts_requested_at: now })
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
  async findByFingerprint(db: Executor, orgId: string, fingerprint: string): Promise<Agent | undefined> {
    const row = await db
      .selectFrom('agents')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('fingerprint', '=', fingerprint)
      .orderBy(sql`case when deleted_at is null then 0 else 1 end`)
      .orderBy('updated_at', 'desc')
      .executeTakeFirst();
    return row && decode(row);
  },

  async findByMachineKeyHash(db: Executor, keyHash: string): Promise<Agent | undefined> {
    const row = await db
      .selectFrom('agents')
      .selectAll()
      .where('machine_key_hash', '=', keyHash)
      .executeTakeFirst();
    return row && decode(row);
  },

  /** Registration: new facts, a new token, and back to life if it was deleted. */
  register(db: Executor, id: string, changes: AgentChanges): Promise<unknown> {
    return db.updateTable('agents').set(encodeChanges(changes)).where('id', '=', id).execute();
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
  async selectTargets(db: Executor, orgId: string, selector: TargetSelector): Promise<TargetAgent[]> {
    const tags = [...new Set(selector.tags ?? [])];
    const ids = selector.agent_ids === undefined ? undefined : [...new Set(selector.agent_ids)];
    const given =
      selector.all === true ||
      ids !== undefined ||
      tags.length > 0 ||
      selector.group_id !== undefined ||
      selector.os_type !== undefined;
    if (!given || ids?.length === 0) return [];
    const query = async (idChunk: string[] | undefined): Promise<TargetAgent[]> => {
      let q = db
        .selectFrom('agents')
        .select(['id', 'os_type', 'interpreters', 'connected'])
        .where('org_id', '=', orgId)
        .where('deleted_at', 'is', null);
      if (idChunk) q = q.where('id', 'in', idChunk);
      for (const tag of tags) q = q.where((eb) => hasTag(eb, tag));
      if (selector.group_id !== undefined) q = q.where('group_id', '=', selector.group_id);
      if (selector.os_type !== undefined) q = q.where('os_type', '=', selector.os_type);
      const rows = await q.orderBy('id').execute();
      return rows.map((row) => ({
        ...row,
        interpreters: JSON.parse(row.interpreters) as string[],
        connected: row.connected === 1,
      }));
    };
    if (!ids) return query(undefined);
    const rows: TargetAgent[] = [];
    for (const idChunk of chunks(ids, IDS_PER_QUERY)) rows.push(...(await query(idChunk)));
    return rows;
  },
};
