import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { capsOf, type Executor } from '../../db/executor.js';
import type { QueueItemsTable } from '../../db/schema.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import type { ItemError, ItemStatus, Priority } from './queues.schemas.js';

/** An item as services see it: JSON decoded, the priority named, flags as booleans. */
export interface QueueItem extends Omit<
  QueueItemsTable,
  | 'status'
  | 'priority'
  | 'content'
  | 'output'
  | 'error_type'
  | 'error_reason'
  | 'reference_unique'
  | 'started_ms'
  | 'processing_ms'
> {
  status: ItemStatus;
  priority: Priority;
  content: Record<string, unknown>;
  output: unknown;
  error: ItemError | null;
  reference_unique: boolean;
  started_ms: number | null;
  processing_ms: number | null;
}

export interface ItemFilter {
  status?: ItemStatus;
  priority?: Priority;
  reference?: string;
  robotId?: string;
}

export const PRIORITY_RANK: Record<Priority, number> = { high: 0, normal: 1, low: 2 };
const PRIORITY_OF: readonly Priority[] = ['high', 'normal', 'low'];

/** Statuses whose reference stays taken in a queue with unique references. */
export const HOLDS_REFERENCE = sql<SqlBool>`status not in ('deleted', 'retried')`;

const COLUMNS = [
  'id',
  'org_id',
  'queue_id',
  'status',
  'priority',
  'content',
  'reference',
  'reference_unique',
  'progress',
  'output',
  'error_type',
  'error_reason',
  'robot_id',
  'retry_of',
  'retry_number',
  'defer_until',
  'deadline',
  'sla_due_at',
  'abandon_at',
  'started_at',
  'started_ms',
  'processing_ms',
  'finished_at',
  'created_at',
  'updated_at',
] as const satisfies readonly (keyof QueueItemsTable)[];

/** The item columns, unqualified: what an UPDATE … FROM returns on both dialects. */
const RETURNED = sql.join(COLUMNS.map((column) => sql.id(column)));

/** Parameters per statement at most: well under SQLite's 32,766 and PostgreSQL's 65,535. */
const MAX_PARAMETERS = 20_000;
const ROWS_PER_INSERT = Math.floor(MAX_PARAMETERS / COLUMNS.length);
/** Values in one `in (…)` list. */
const IN_LIST_CHUNK = 1000;

const numberOrNull = (value: number | string | null): number | null =>
  value === null ? null : Number(value);

export function decodeItem(row: QueueItemsTable): QueueItem {
  const { error_type, error_reason, ...rest } = row;
  return {
    ...rest,
    status: row.status as ItemStatus,
    priority: PRIORITY_OF[row.priority] ?? 'normal',
    content: JSON.parse(row.content) as Record<string, unknown>,
    output: row.output === null ? null : (JSON.parse(row.output) as unknown),
    error: error_type === null ? null : { type: error_type as ItemError['type'], reason: error_reason ?? '' },
    reference_unique: row.reference_unique === 1,
    started_ms: numberOrNull(row.started_ms),
    processing_ms: numberOrNull(row.processing_ms),
  };
}

export function encodeItem(item: QueueItem): QueueItemsTable {
  const { error, ...rest } = item;
  return {
    ...rest,
    priority: PRIORITY_RANK[item.priority],
    content: JSON.stringify(item.content),
    output: item.output === null ? null : JSON.stringify(item.output),
    error_type: error?.type ?? null,
    error_reason: error?.reason ?? null,
    reference_unique: item.reference_unique ? 1 : 0,
  };
}

/** A VALUES cell: PostgreSQL types an untyped parameter there as text, so numbers say they are. */
const text = (value: string | null): RawBuilder<unknown> => sql`cast(${value} as text)`;

export interface ClaimInput {
  orgId: string;
  queueId: string;
  /** One per consumer: who takes the item (null for a person through the API). */
  robotIds: readonly (string | null)[];
  now: string;
  nowMs: number;
  abandonAt: string;
}

export interface Completion {
  orgId: string;
  id: string;
  /** JSON text, or null. */
  output: string | null;
}

export const itemsRepo = {
  /** Inserts items in chunks that keep each statement under the dialects' parameter limits. */
  async insertMany(db: Executor, items: readonly QueueItem[]): Promise<void> {
    for (let i = 0; i < items.length; i += ROWS_PER_INSERT)
      await db
        .insertInto('queue_items')
        .values(items.slice(i, i + ROWS_PER_INSERT).map(encodeItem))
        .execute();
  },

  async get(db: Executor, orgId: string, id: string): Promise<QueueItem | undefined> {
    const row = await db
      .selectFrom('queue_items')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decodeItem(row);
  },

  /** Reads an item for a change; with row locks (PostgreSQL) a concurrent change waits. */
  async lock(db: Executor, orgId: string, id: string): Promise<QueueItem | undefined> {
    let q = db.selectFrom('queue_items').selectAll().where('org_id', '=', orgId).where('id', '=', id);
    if (capsOf(db).rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && decodeItem(row);
  },

  async list(
    db: Executor,
    orgId: string,
    queueId: string,
    filter: ItemFilter,
    page: PageParams,
  ): Promise<Page<QueueItem>> {
    let q = db
      .selectFrom('queue_items')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('queue_id', '=', queueId);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.priority) q = q.where('priority', '=', PRIORITY_RANK[filter.priority]);
    if (filter.reference) q = q.where('reference', '=', filter.reference);
    if (filter.robotId) q = q.where('robot_id', '=', filter.robotId);
    return mapPage(await paginate(q, 'id', page), decodeItem);
  },

  /**
   * Of these references, those an item of the queue holds (see HOLDS_REFERENCE), including items
   * added before the queue asked for unique references, which its unique index does not cover.
   */
  async takenReferences(db: Executor, queueId: string, references: readonly string[]): Promise<string[]> {
    const taken: string[] = [];
    for (let i = 0; i < references.length; i += IN_LIST_CHUNK) {
      const rows = await db
        .selectFrom('queue_items')
        .select('reference')
        .where('queue_id', '=', queueId)
        .where('reference', 'in', references.slice(i, i + IN_LIST_CHUNK))
        .where(HOLDS_REFERENCE)
        .execute();
      for (const row of rows) if (row.reference !== null) taken.push(row.reference);
    }
    return taken;
  },

  /**
   * Whether the queue holds items waiting or being worked on. One look per status, each written
   * as its partial index says (the claim index, the status index), so both dialects use them.
   */
  async hasUnfinished(db: Executor, queueId: string): Promise<boolean> {
    for (const status of [
      sql<SqlBool>`status = 'new'`,
      sql<SqlBool>`status = 'in_progress' and status <> 'new'`,
    ]) {
      const row = await db
        .selectFrom('queue_items')
        .select('id')
        .where('queue_id', '=', queueId)
        .where(status)
        .limit(1)
        .executeTakeFirst();
      if (row) return true;
    }
    return false;
  },

  /**
   * Takes up to one waiting item per consumer, in claim order (priority, then oldest), deferred
   * ones skipped, in one statement. PostgreSQL locks the picked rows with SKIP LOCKED, so
   * concurrent claims (other connections, other nodes) take other rows; SQLite has one writer, so
   * the statement is alone. Answers, per consumer in order, its item or undefined.
   */
  async claim(db: Executor, input: ClaimInput): Promise<(QueueItem | undefined)[]> {
    const wanted = input.robotIds.length;
    if (wanted === 0) return [];
    const lock = capsOf(db).skipLocked ? sql`for update skip locked` : sql``;
    const slots = sql.join(
      input.robotIds.map((robotId, i) => sql`(cast(${i + 1} as integer), ${text(robotId)})`),
    );
    const result = await sql<QueueItemsTable>`
      with picked as (
        select id, priority from queue_items
        where queue_id = ${input.queueId} and org_id = ${input.orgId} and status = 'new'
          and (defer_until is null or defer_until <= ${input.now})
        order by priority, id
        limit ${wanted}
        ${lock}
      ),
      ranked(pick_id, slot) as (select id, row_number() over (order by priority, id) from picked),
      consumers(consumer_slot, consumer_robot) as (values ${slots})
      update queue_items set
        status = 'in_progress',
        robot_id = consumers.consumer_robot,
        started_at = ${input.now},
        started_ms = cast(${input.nowMs} as bigint),
        abandon_at = ${input.abandonAt},
        updated_at = ${input.now}
      from ranked join consumers on consumers.consumer_slot = ranked.slot
      where queue_items.id = ranked.pick_id
      returning ${RETURNED}`.execute(db);
    // Slots were handed out in claim order: sorting the rows the same way gives each its consumer.
    const claimed = result.rows
      .map(decodeItem)
      .sort((a, b) => PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || (a.id < b.id ? -1 : 1));
    return input.robotIds.map((_, i) => claimed[i]);
  },

  /** Moves in-progress items to successful in one statement; answers those it moved. */
  async complete(
    db: Executor,
    completions: readonly Completion[],
    now: string,
    nowMs: number,
  ): Promise<QueueItem[]> {
    if (completions.length === 0) return [];
    const rows = sql.join(completions.map((c) => sql`(${text(c.id)}, ${text(c.orgId)}, ${text(c.output)})`));
    const result = await sql<QueueItemsTable>`
      with done(done_id, done_org, done_output) as (values ${rows})
      update queue_items set
        status = 'successful',
        output = done.done_output,
        processing_ms = cast(${nowMs} as bigint) - started_ms,
        finished_at = ${now},
        abandon_at = null,
        updated_at = ${now}
      from done
      where queue_items.id = done.done_id and queue_items.org_id = done.done_org
        and queue_items.status = 'in_progress'
      returning ${RETURNED}`.execute(db);
    return result.rows.map(decodeItem);
  },

  /** Writes a change to an item in one of `from`; answers the item as written, or undefined. */
  async move(
    db: Executor,
    orgId: string,
    id: string,
    from: readonly ItemStatus[],
    changes: Partial<QueueItemsTable>,
  ): Promise<QueueItem | undefined> {
    const row = await db
      .updateTable('queue_items')
      .set(changes)
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('status', 'in', [...from])
      .returningAll()
      .executeTakeFirst();
    return row && decodeItem(row);
  },

  /** The item that retried this one, if any. */
  async retryOf(db: Executor, item: QueueItem): Promise<QueueItem | undefined> {
    const row = await db
      .selectFrom('queue_items')
      .selectAll()
      .where('org_id', '=', item.org_id)
      .where('retry_of', '=', item.retry_of ?? item.id)
      .where('retry_number', '=', item.retry_number + 1)
      .executeTakeFirst();
    return row && decodeItem(row);
  },

  /** Items in progress past their time, across every queue, marked abandoned in one statement. */
  async abandonExpired(db: Executor, now: string): Promise<{ id: string; queue_id: string }[]> {
    return db
      .updateTable('queue_items')
      .set({ status: 'abandoned', abandon_at: null, finished_at: now, updated_at: now })
      .where('status', '=', 'in_progress')
      .where('abandon_at', '<=', now)
      .returning(['id', 'queue_id'])
      .execute();
  },
};
