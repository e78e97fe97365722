import { capsOf, type Executor } from '../../db/executor.js';
import type { QueuesTable } from '../../db/schema.js';
import { containsText, unlessTaken } from '../../db/search.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';

/** A queue as services see it: flags are booleans. */
export interface Queue extends Omit<QueuesTable, 'unique_references' | 'active'> {
  unique_references: boolean;
  active: boolean;
}

export type QueueChanges = Partial<Omit<Queue, 'id' | 'org_id' | 'created_by' | 'created_at'>>;

export interface QueueFilter {
  text?: string;
  active?: boolean;
}

function decode(row: QueuesTable): Queue {
  return { ...row, unique_references: row.unique_references === 1, active: row.active === 1 };
}

function encodeFlags(changes: QueueChanges): Partial<QueuesTable> {
  const { unique_references, active, ...rest } = changes;
  return {
    ...rest,
    ...(unique_references === undefined ? {} : { unique_references: unique_references ? 1 : 0 }),
    ...(active === undefined ? {} : { active: active ? 1 : 0 }),
  };
}

export const queuesRepo = {
  /** False when the organisation already has a queue of that name. */
  insert(db: Executor, queue: Queue): Promise<boolean> {
    return unlessTaken(
      db
        .insertInto('queues')
        .values({ ...queue, ...encodeFlags(queue) } as QueuesTable)
        .execute(),
    );
  },

  async get(db: Executor, orgId: string, id: string): Promise<Queue | undefined> {
    const row = await db
      .selectFrom('queues')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decode(row);
  },

  /** Reads a queue for a change; with row locks (PostgreSQL) a concurrent change waits. */
  async lock(db: Executor, orgId: string, id: string): Promise<Queue | undefined> {
    let q = db.selectFrom('queues').selectAll().where('org_id', '=', orgId).where('id', '=', id);
    if (capsOf(db).rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && decode(row);
  },

  async list(db: Executor, orgId: string, filter: QueueFilter, page: PageParams): Promise<Page<Queue>> {
    let q = db.selectFrom('queues').selectAll().where('org_id', '=', orgId);
    if (filter.active !== undefined) q = q.where('active', '=', filter.active ? 1 : 0);
    const text = filter.text;
    if (text)
      q = q.where((eb) =>
        containsText(
          (['name', 'description'] as const).map((c) => eb.ref(c)),
          text,
          capsOf(db).ilike,
        ),
      );
    return mapPage(await paginate(q, 'id', page), decode);
  },

  /** False when a rename takes a name the organisation already uses. */
  update(db: Executor, orgId: string, id: string, changes: QueueChanges): Promise<boolean> {
    return unlessTaken(
      db
        .updateTable('queues')
        .set(encodeFlags(changes))
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .execute(),
    );
  },

  /** Deletes the queue; its items go with it (on delete cascade). */
  remove(db: Executor, orgId: string, id: string): Promise<unknown> {
    return db.deleteFrom('queues').where('org_id', '=', orgId).where('id', '=', id).execute();
  },

  /** Active queues that start a process while items wait, with the number waiting now. */
  triggered(
    db: Executor,
    now: string,
  ): Promise<
    { id: string; org_id: string; trigger_process_id: string; trigger_max_jobs: number; waiting: number }[]
  > {
    return db
      .selectFrom('queues')
      .innerJoin('queue_items', 'queue_items.queue_id', 'queues.id')
      .select((eb) => [
        'queues.id',
        'queues.org_id',
        'queues.trigger_process_id',
        'queues.trigger_max_jobs',
        eb.fn.countAll<number | string>().as('waiting'),
      ])
      .where('queues.active', '=', 1)
      .where('queues.trigger_process_id', 'is not', null)
      .where('queue_items.status', '=', 'new')
      .where((eb) =>
        eb.or([eb('queue_items.defer_until', 'is', null), eb('queue_items.defer_until', '<=', now)]),
      )
      .groupBy(['queues.id', 'queues.org_id', 'queues.trigger_process_id', 'queues.trigger_max_jobs'])
      .execute()
      .then((rows) =>
        rows.map((row) => ({
          ...row,
          trigger_process_id: row.trigger_process_id!,
          waiting: Number(row.waiting),
        })),
      );
  },
};
