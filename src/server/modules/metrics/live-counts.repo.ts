import { sql } from 'kysely';
import type { Executor } from '../../db/executor.js';

/**
 * The overview's counts of what is true now, read across the modules that own these tables. The
 * overview is a read model of the whole organisation, so it counts here rather than through five
 * services; each count reads an index made for it (runs_running_idx, queue_items_claim_idx,
 * deployments_org_status_idx), never a table's every row.
 */
export const liveCountsRepo = {
  async runsInProgress(db: Executor, orgId: string): Promise<number> {
    const row = await db
      .selectFrom('runs')
      .select((eb) => eb.fn.countAll<number>().as('count'))
      .where('org_id', '=', orgId)
      .where('status', '=', 'running')
      .executeTakeFirstOrThrow();
    return Number(row.count);
  },

  /** Queues with the most items waiting, largest first; queues with none are left out. */
  async queueBacklogs(
    db: Executor,
    orgId: string,
    limit: number,
  ): Promise<{ backlogs: { queue_id: string; name: string; waiting: number }[]; waiting: number }> {
    const rows = await sql<{ queue_id: string; name: string; waiting: number | string }>`
      select q.id as queue_id, q.name, count(*) as waiting
      from queues q join queue_items i on i.queue_id = q.id and i.status = 'new'
      where q.org_id = ${orgId}
      group by q.id, q.name`.execute(db);
    const all = rows.rows
      .map((row) => ({ queue_id: row.queue_id, name: row.name, waiting: Number(row.waiting) }))
      .sort((a, b) => b.waiting - a.waiting || a.name.localeCompare(b.name));
    return {
      backlogs: all.slice(0, limit),
      waiting: all.reduce((sum, queue) => sum + queue.waiting, 0),
    };
  },

  async deploymentsByStatus(db: Executor, orgId: string): Promise<Record<string, number>> {
    const rows = await db
      .selectFrom('deployments')
      .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
      .where('org_id', '=', orgId)
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
  },

  /** Agents of every organisation by status, for the Prometheus gauges. */
  async agentsByStatus(db: Executor): Promise<Record<string, number>> {
    const rows = await db
      .selectFrom('agents')
      .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
      .where('deleted_at', 'is', null)
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
  },
};
