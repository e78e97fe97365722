import { sql, type Kysely } from 'kysely';

/**
 * Work queues and their items, which unattended robots consume. An item is claimed by moving it
 * from `new` to `in_progress` in one conditional statement, so every item is taken once.
 *
 * `priority` is a rank (0 high, 1 normal, 2 low) so the claim order is an index order: the claim
 * index holds only waiting items, in (queue, priority, id) order; ids are time-ordered, so the
 * oldest comes first within a priority. Times are epoch milliseconds only where SQL must subtract
 * them (`started_ms`, `processing_ms`): ISO text does not subtract on both dialects.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('queues')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('max_retries', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('deadline_minutes', 'integer')
    .addColumn('sla_minutes', 'integer')
    .addColumn('unique_references', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('item_timeout_seconds', 'integer', (c) => c.notNull())
    // No reference: processes are another module's; the processes service checks the id.
    .addColumn('trigger_process_id', 'text')
    .addColumn('trigger_max_jobs', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('queues_org_name_unique', ['org_id', 'name'])
    .execute();
  await db.schema.createIndex('queues_org_idx').on('queues').columns(['org_id', 'id']).execute();

  await db.schema
    .createTable('queue_items')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('queue_id', 'text', (c) => c.notNull().references('queues.id').onDelete('cascade'))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('reference', 'text')
    // 1 when the queue asked for unique references as the item was added: the unique index's filter.
    .addColumn('reference_unique', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('progress', 'text')
    .addColumn('output', 'text')
    .addColumn('error_type', 'text')
    .addColumn('error_reason', 'text')
    // No reference: a robot deleted later leaves its items' history as it was.
    .addColumn('robot_id', 'text')
    .addColumn('retry_of', 'text')
    .addColumn('retry_number', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('defer_until', 'text')
    .addColumn('deadline', 'text')
    .addColumn('sla_due_at', 'text')
    .addColumn('abandon_at', 'text')
    .addColumn('started_at', 'text')
    .addColumn('started_ms', 'bigint')
    .addColumn('processing_ms', 'bigint')
    .addColumn('finished_at', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  // The claim: waiting items of a queue in priority, then id, order. Literal filters, so both
  // planners match the claim's `status = 'new'` to this partial index.
  await sql`create index queue_items_claim_idx on queue_items (queue_id, priority, id) where status = 'new'`.execute(
    db,
  );
  // The abandon sweep: items in progress by the time they must be done.
  await sql`create index queue_items_abandon_idx on queue_items (abandon_at) where status = 'in_progress'`.execute(
    db,
  );
  // A retried item hands its reference on to its retry; deleted ones give theirs up.
  await sql`create unique index queue_items_reference_unique on queue_items (queue_id, reference)
    where reference_unique = 1 and status not in ('deleted', 'retried')`.execute(db);
  await db.schema
    .createIndex('queue_items_queue_idx')
    .on('queue_items')
    .columns(['queue_id', 'id'])
    .execute();
  // References looked up (adding to a queue with unique references, the list's filter); never
  // rewritten by a status change, so claims and completions do not maintain it.
  await db.schema
    .createIndex('queue_items_reference_idx')
    .on('queue_items')
    .columns(['queue_id', 'reference'])
    .execute();
  await db.schema.createIndex('queue_items_retry_idx').on('queue_items').column('retry_of').execute();
  // Items by status (lists, statistics, the sweep's look for work), waiting ones aside: the claim
  // index holds those, and a planner without fresh statistics must not prefer this one to it for
  // the claim (it would sort every waiting item of the queue at each claim).
  await sql`create index queue_items_status_idx on queue_items (queue_id, status) where status <> 'new'`.execute(
    db,
  );
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('queue_items').ifExists().execute();
  await db.schema.dropTable('queues').ifExists().execute();
}
