import { inTransaction, type Executor } from '../../db/executor.js';
import { unlessTaken } from '../../db/search.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import { itemsRepo, type ItemFilter, type QueueItem } from './items.repo.js';
import { assertActive, itemsLeadingTo, minutesAfter } from './items.rules.js';
import { queuesRepo, type Queue } from './queues.repo.js';
import { MAX_BULK_ITEMS, MAX_CONTENT_BYTES, type QueueItemInput } from './queues.schemas.js';
import { itemSummary, itemView, type QueueItemView } from './queues.views.js';

export interface BulkResult {
  count: number;
  first_id: string;
  last_id: string;
}

/** The JSON of an item's content, refused (413) when larger than an item may hold. */
function contentJson(content: Record<string, unknown>, index?: number): string {
  const json = JSON.stringify(content);
  if (Buffer.byteLength(json, 'utf8') > MAX_CONTENT_BYTES)
    throw new AppError('payload_too_large', `an item's content may hold ${MAX_CONTENT_BYTES} bytes of JSON`, {
      details: [{ field: index === undefined ? 'content' : `items/${index}/content`, message: 'too large' }],
    });
  return json;
}

function referencesTaken(references: readonly string[]): AppError {
  return new AppError('conflict', `references already in the queue: ${references.slice(0, 20).join(', ')}`, {
    details: references.map((reference) => ({
      field: 'reference',
      message: 'already in the queue',
      reference,
    })),
  });
}

/** References given more than once, each named once. */
function repeated(references: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const reference of references) (seen.has(reference) ? twice : seen).add(reference);
  return [...twice];
}

/**
 * Adding, reading and deleting queue items. A queue with unique references refuses (409, naming
 * them) an item whose reference another of its items holds; a unique index settles races.
 */
export class QueueItemsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(deps: { db: Executor; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  async add(ctx: RequestContext, queueId: string, input: QueueItemInput): Promise<QueueItemView> {
    contentJson(input.content);
    return inTransaction(this.#db, async (trx) => {
      const queue = await this.#activeQueue(trx, ctx.orgId, queueId);
      const item = this.#newItem(queue, input, this.#clock.now().toISOString());
      await this.#insert(trx, queue, [item]);
      const created = itemView(item);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'queue_item',
        entityId: item.id,
        after: created,
      });
      return created;
    });
  }

  /**
   * Adds up to MAX_BULK_ITEMS items in one transaction: all of them, or none (413 for too many,
   * 422 for references repeated in the batch, 409 for references the queue holds). One audit
   * event sums the batch up: its count and its first and last ids (ids are time-ordered).
   */
  async addBulk(
    ctx: RequestContext,
    queueId: string,
    inputs: readonly QueueItemInput[],
  ): Promise<BulkResult> {
    if (inputs.length > MAX_BULK_ITEMS)
      throw new AppError('payload_too_large', `at most ${MAX_BULK_ITEMS} items a request`, {
        details: [{ field: 'items', message: `${inputs.length} items; send them in several requests` }],
      });
    inputs.forEach((input, i) => contentJson(input.content, i));
    return inTransaction(this.#db, async (trx) => {
      const queue = await this.#activeQueue(trx, ctx.orgId, queueId);
      const now = this.#clock.now().toISOString();
      const items = inputs.map((input) => this.#newItem(queue, input, now));
      if (queue.unique_references) {
        const twice = repeated(items.flatMap((item) => (item.reference === null ? [] : [item.reference])));
        if (twice.length > 0)
          throw new AppError(
            'unprocessable',
            `references repeated in the batch: ${twice.slice(0, 20).join(', ')}`,
            {
              details: twice.map((reference) => ({ field: 'items', message: 'repeated', reference })),
            },
          );
      }
      await this.#insert(trx, queue, items);
      const result = { count: items.length, first_id: items[0]!.id, last_id: items.at(-1)!.id };
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'queue_item_batch',
        entityId: queue.id,
        after: result,
      });
      return result;
    });
  }

  async list(
    orgId: string,
    queueId: string,
    filter: ItemFilter,
    page: PageParams,
  ): Promise<Page<QueueItemView>> {
    if (!(await queuesRepo.get(this.#db, orgId, queueId))) throw notFound('queue');
    return mapPage(await itemsRepo.list(this.#db, orgId, queueId, filter, page), itemView);
  }

  async get(orgId: string, id: string): Promise<QueueItemView> {
    const item = await itemsRepo.get(this.#db, orgId, id);
    if (!item) throw notFound('queue item');
    return itemView(item);
  }

  /** Marks an item deleted; only one that is new, failed or abandoned (409 otherwise). */
  async remove(ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const before = await itemsRepo.lock(trx, ctx.orgId, id);
      if (!before) throw notFound('queue item');
      const now = this.#clock.now().toISOString();
      const from = itemsLeadingTo('deleted');
      const moved = await itemsRepo.move(trx, ctx.orgId, id, from, { status: 'deleted', updated_at: now });
      if (!moved)
        throw new AppError('conflict', `a ${before.status} item cannot be deleted`, {
          details: [{ field: 'status', message: `only ${from.join(', ')} items can be deleted` }],
        });
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: 'queue_item',
        entityId: id,
        before: itemSummary(before),
      });
    });
  }

  async #activeQueue(db: Executor, orgId: string, queueId: string): Promise<Queue> {
    const queue = await queuesRepo.get(db, orgId, queueId);
    if (!queue) throw notFound('queue');
    assertActive(queue);
    return queue;
  }

  #newItem(queue: Queue, input: QueueItemInput, now: string): QueueItem {
    const reference = input.reference ?? null;
    return {
      id: newId(),
      org_id: queue.org_id,
      queue_id: queue.id,
      status: 'new',
      priority: input.priority ?? 'normal',
      content: input.content,
      reference,
      reference_unique: queue.unique_references && reference !== null,
      progress: null,
      output: null,
      error: null,
      robot_id: null,
      retry_of: null,
      retry_number: 0,
      defer_until: input.defer_until ? new Date(input.defer_until).toISOString() : null,
      deadline: input.deadline
        ? new Date(input.deadline).toISOString()
        : minutesAfter(now, queue.deadline_minutes),
      sla_due_at: minutesAfter(now, queue.sla_minutes),
      abandon_at: null,
      started_at: null,
      started_ms: null,
      processing_ms: null,
      finished_at: null,
      created_at: now,
      updated_at: now,
    };
  }

  /** Inserts new items, refusing (409, naming them) references the queue already holds. */
  async #insert(trx: Executor, queue: Queue, items: QueueItem[]): Promise<void> {
    const references = items.flatMap((item) => (item.reference_unique ? [item.reference!] : []));
    if (references.length > 0) {
      const taken = await itemsRepo.takenReferences(trx, queue.id, references);
      if (taken.length > 0) throw referencesTaken(taken);
    }
    // A concurrent add of the same reference slipped in between: the unique index refuses it.
    if (!(await unlessTaken(itemsRepo.insertMany(trx, items)))) throw referencesTaken(references);
  }
}
