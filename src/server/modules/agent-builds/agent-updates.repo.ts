import type { Executor } from '../../db/executor.js';
import type { AgentUpdateKeysTable, AgentUpdateStatesTable } from '../../db/schema.js';

export type UpdateKeyRow = AgentUpdateKeysTable;

export type UpdateStage = 'canary' | 'all';
export type UpdateOutcome = 'offered' | 'swapped' | 'updated' | 'failed';

export interface UpdatePolicy {
  paused: boolean;
  stage: UpdateStage;
  canary_group_id: string | null;
  updated_at: string | null;
}

/** An agent's update, with what the agent last reported of itself (from agents). */
export interface UpdateState extends Omit<AgentUpdateStatesTable, 'self_update' | 'outcome'> {
  self_update: boolean;
  outcome: UpdateOutcome | null;
  hostname: string;
  version: string;
  arch: string;
}

/** What a hello says about the agent that agents does not keep: written on each one with facts. */
export type HelloFacts = Pick<UpdateState, 'agent_id' | 'org_id' | 'os' | 'self_update'>;

/** With no row, updates roll out to every agent: a newer build on the server is meant to be used. */
const DEFAULT_POLICY: UpdatePolicy = { paused: false, stage: 'all', canary_group_id: null, updated_at: null };

type StateRow = AgentUpdateStatesTable & { hostname: string; version: string | null; arch: string };

function decodeState(row: StateRow): UpdateState {
  return {
    ...row,
    version: row.version ?? '',
    self_update: row.self_update === 1,
    outcome: row.outcome as UpdateOutcome | null,
  };
}

/** Update states with the agent's own hostname, version and architecture. */
function statesWithAgents(db: Executor) {
  return db
    .selectFrom('agent_update_states as s')
    .innerJoin('agents as a', 'a.id', 's.agent_id')
    .selectAll('s')
    .select(['a.hostname', 'a.agent_version as version', 'a.arch']);
}

export const agentUpdatesRepo = {
  key(db: Executor): Promise<UpdateKeyRow | undefined> {
    return db.selectFrom('agent_update_keys').selectAll().where('id', '=', 'instance').executeTakeFirst();
  },

  /** The first node to create the key wins; the others read it back. */
  async insertKeyIfAbsent(db: Executor, row: UpdateKeyRow): Promise<void> {
    await db
      .insertInto('agent_update_keys')
      .values(row)
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  },

  async policy(db: Executor, orgId: string): Promise<UpdatePolicy> {
    const row = await db
      .selectFrom('agent_update_policies')
      .selectAll()
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    if (!row) return DEFAULT_POLICY;
    return {
      paused: row.paused === 1,
      stage: row.stage === 'canary' ? 'canary' : 'all',
      canary_group_id: row.canary_group_id,
      updated_at: row.updated_at,
    };
  },

  async savePolicy(
    db: Executor,
    orgId: string,
    policy: UpdatePolicy & { updated_at: string },
  ): Promise<void> {
    const values = {
      paused: policy.paused ? 1 : 0,
      stage: policy.stage,
      canary_group_id: policy.canary_group_id,
      updated_at: policy.updated_at,
    };
    await db
      .insertInto('agent_update_policies')
      .values({ org_id: orgId, ...values })
      .onConflict((oc) => oc.column('org_id').doUpdateSet(values))
      .execute();
  },

  async state(db: Executor, agentId: string): Promise<UpdateState | undefined> {
    const row = await statesWithAgents(db).where('s.agent_id', '=', agentId).executeTakeFirst();
    return row && decodeState(row);
  },

  /**
   * Records a hello; an agent that comes back on the version it was offered has updated. The
   * offer and any failure are kept: a failed build stays refused until the build changes.
   */
  async noteHello(db: Executor, facts: HelloFacts, version: string, now: string): Promise<void> {
    const seen = { os: facts.os, self_update: facts.self_update ? 1 : 0 };
    // updated_at is when the outcome last changed: a reconnect is no news
    await db
      .insertInto('agent_update_states')
      .values({ agent_id: facts.agent_id, org_id: facts.org_id, ...seen, updated_at: now })
      .onConflict((oc) => oc.column('agent_id').doUpdateSet(seen))
      .execute();
    await db
      .updateTable('agent_update_states')
      .set({ outcome: 'updated', reason: null, updated_at: now })
      .where('agent_id', '=', facts.agent_id)
      .where('offered_version', '=', version)
      .where('outcome', 'in', ['offered', 'swapped'])
      .execute();
  },

  async markOffered(
    db: Executor,
    agentId: string,
    offer: { version: string; sha256: string },
    now: string,
  ): Promise<void> {
    await db
      .updateTable('agent_update_states')
      .set({
        offered_version: offer.version,
        offered_sha256: offer.sha256,
        offered_at: now,
        outcome: 'offered',
        reason: null,
        updated_at: now,
      })
      .where('agent_id', '=', agentId)
      .execute();
  },

  /** The agent's report about the build it was offered; one about another build changes nothing. */
  async markResult(
    db: Executor,
    agentId: string,
    result: { sha256: string; ok: boolean; reason: string | null },
    now: string,
  ): Promise<boolean> {
    const changed = await db
      .updateTable('agent_update_states')
      .set(
        result.ok
          ? { outcome: 'swapped', reason: null, updated_at: now }
          : { outcome: 'failed', reason: result.reason, failed_sha256: result.sha256, updated_at: now },
      )
      .where('agent_id', '=', agentId)
      .where('offered_sha256', '=', result.sha256)
      .executeTakeFirst();
    return Number(changed.numUpdatedRows) > 0;
  },

  /** The organisation's agents with an update under way or ended, latest first. */
  async withOutcome(db: Executor, orgId: string, limit: number): Promise<UpdateState[]> {
    const rows = await statesWithAgents(db)
      .where('s.org_id', '=', orgId)
      .where('s.outcome', 'is not', null)
      .orderBy('s.updated_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map(decodeState);
  },
};
