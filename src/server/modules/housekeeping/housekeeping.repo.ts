import type { Executor } from '../../db/executor.js';
import type { HousekeepingRunsTable } from '../../db/schema.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import { deletedRows } from './housekeeping.purges.js';

export type HousekeepingTrigger = 'schedule' | 'manual';
export type HousekeepingStatus = 'running' | 'succeeded' | 'failed';

/** A run as services see it: counts decoded, trigger and status typed. */
export interface HousekeepingRun extends Omit<HousekeepingRunsTable, 'counts' | 'trigger' | 'status'> {
  trigger: HousekeepingTrigger;
  status: HousekeepingStatus;
  counts: Record<string, number>;
}

function decode(row: HousekeepingRunsTable): HousekeepingRun {
  return {
    ...row,
    trigger: row.trigger as HousekeepingTrigger,
    status: row.status as HousekeepingStatus,
    counts: JSON.parse(row.counts) as Record<string, number>,
  };
}

export const housekeepingRepo = {
  async insert(db: Executor, run: HousekeepingRun): Promise<void> {
    await db
      .insertInto('housekeeping_runs')
      .values({ ...run, counts: JSON.stringify(run.counts) })
      .execute();
  },

  async finish(
    db: Executor,
    id: string,
    end: {
      status: HousekeepingStatus;
      counts: Record<string, number>;
      error: string | null;
      finishedAt: string;
    },
  ): Promise<HousekeepingRun> {
    const row = await db
      .updateTable('housekeeping_runs')
      .set({
        status: end.status,
        counts: JSON.stringify(end.counts),
        error: end.error,
        finished_at: end.finishedAt,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return decode(row);
  },

  /**
   * Runs left `running` by a node that stopped mid-run: called by the lease holder, so no run of
   * another node is under way.
   */
  async failInterrupted(db: Executor, now: string): Promise<void> {
    await db
      .updateTable('housekeeping_runs')
      .set({ status: 'failed', error: 'interrupted: the node running it stopped', finished_at: now })
      .where('status', '=', 'running')
      .execute();
  },

  async latest(db: Executor): Promise<HousekeepingRun | undefined> {
    const row = await db
      .selectFrom('housekeeping_runs')
      .selectAll()
      .orderBy('started_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && decode(row);
  },

  async list(db: Executor, page: PageParams): Promise<Page<HousekeepingRun>> {
    return mapPage(await paginate(db.selectFrom('housekeeping_runs').selectAll(), 'id', page), decode);
  },

  /** Run records are housekeeping's own rows to keep tidy. */
  async deleteOlder(db: Executor, before: string, limit: number): Promise<number> {
    return deletedRows(
      await db
        .deleteFrom('housekeeping_runs')
        .where('id', 'in', (eb) =>
          eb
            .selectFrom('housekeeping_runs')
            .select('id')
            .where('started_at', '<', before)
            .where('status', '!=', 'running')
            .limit(limit),
        )
        .executeTakeFirst(),
    );
  },
};
