import { sql } from 'kysely';
import type { AgentMetrics } from '../../../protocol/agent.js';
import type { Executor } from '../../db/executor.js';

/** One buffered heartbeat: when it was heard and its metrics (null keeps the stored ones). */
export interface Beat {
  id: string;
  seen: string;
  metrics: AgentMetrics | null;
  /** When `metrics` were heard: a beat without metrics of its own carries on the last ones buffered. */
  metricsAt: string | null;
}

export interface AgentRef {
  id: string;
  org_id: string;
}

export const livenessRepo = {
  /** Live agents among `ids` that are not online: a heartbeat brings them (back) online. */
  async notOnline(db: Executor, ids: readonly string[]): Promise<(AgentRef & { connected: boolean })[]> {
    if (ids.length === 0) return [];
    const rows = await db
      .selectFrom('agents')
      .select(['id', 'org_id', 'connected'])
      .where('id', 'in', ids)
      .where('status', '<>', 'online')
      .where('deleted_at', 'is', null)
      .execute();
    return rows.map((row) => ({ ...row, connected: row.connected === 1 }));
  },

  /**
   * Writes many heartbeats in one statement (UPDATE … FROM a VALUES list: SQLite ≥ 3.33 and
   * PostgreSQL alike) and answers the agents it touched; deleted agents are left alone.
   */
  async writeBeats(db: Executor, beats: readonly Beat[]): Promise<AgentRef[]> {
    if (beats.length === 0) return [];
    const values = sql.join(
      beats.map((b) => sql`(${b.id}, ${b.seen}, ${b.metrics && JSON.stringify(b.metrics)})`),
    );
    const result = await sql<AgentRef>`
      with v(id, seen, metrics) as (values ${values})
      update agents
      set last_seen_at = v.seen,
          metrics = coalesce(v.metrics, agents.metrics),
          status = 'online',
          updated_at = v.seen
      from v
      where agents.id = v.id and agents.deleted_at is null
      returning agents.id, agents.org_id`.execute(db);
    return result.rows;
  },

  /**
   * Marks online agents silent since `cutoff` offline. The condition is re-checked on the
   * locked row, so when several nodes sweep at once each agent is reported by one of them.
   */
  markSilentOffline(db: Executor, cutoff: string, now: string): Promise<AgentRef[]> {
    return db
      .updateTable('agents')
      .set({ status: 'offline', connected: 0, updated_at: now })
      .where('status', '=', 'online')
      .where('deleted_at', 'is', null)
      .where((eb) => eb.or([eb('last_seen_at', 'is', null), eb('last_seen_at', '<', cutoff)]))
      .returning(['id', 'org_id'])
      .execute();
  },
};
