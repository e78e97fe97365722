import { sql } from 'kysely';
import type { Executor } from '../../db/executor.js';
import { HOLDS_REFERENCE } from './items.repo.js';
import { itemStatuses, type ItemStatus } from './queues.schemas.js';

export interface QueueStats {
  counts: Record<ItemStatus, number>;
  average_processing_ms: number | null;
  sla_breaches: number;
  deadline_breaches: number;
  oldest_waiting_at: string | null;
}

/**
 * Items past a due time: unfinished after it, or finished after it. Retried items are left out
 * (their retry carries the same due time on) and so are deleted ones. ISO times in one format
 * compare as text on both dialects.
 */
function breaches(column: 'sla_due_at' | 'deadline', now: string) {
  const due = sql.ref(column);
  return sql<number | string>`count(case when ${HOLDS_REFERENCE} and ${due} is not null and (
    (finished_at is null and ${due} < ${now}) or finished_at > ${due}) then 1 end)`;
}

export const statsRepo = {
  async of(db: Executor, queueId: string, now: string): Promise<QueueStats> {
    const byStatus = await db
      .selectFrom('queue_items')
      .select((eb) => ['status', eb.fn.countAll<number | string>().as('count')])
      .where('queue_id', '=', queueId)
      .groupBy('status')
      .execute();
    const counts = Object.fromEntries(itemStatuses.map((status) => [status, 0])) as Record<
      ItemStatus,
      number
    >;
    for (const row of byStatus) counts[row.status as ItemStatus] = Number(row.count);

    const row = await db
      .selectFrom('queue_items')
      .select([
        sql<number | string | null>`avg(case when status = 'successful' then processing_ms end)`.as(
          'average',
        ),
        breaches('sla_due_at', now).as('sla'),
        breaches('deadline', now).as('deadline'),
        sql<string | null>`min(case when status = 'new' then created_at end)`.as('oldest'),
      ])
      .where('queue_id', '=', queueId)
      .executeTakeFirstOrThrow();
    return {
      counts,
      average_processing_ms: row.average === null ? null : Math.round(Number(row.average)),
      sla_breaches: Number(row.sla),
      deadline_breaches: Number(row.deadline),
      oldest_waiting_at: row.oldest,
    };
  },
};
