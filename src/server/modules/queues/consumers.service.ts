import { isDeepStrictEqual } from 'node:util';
import { isDatabaseUnavailable } from '../../db/availability.js';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { TickBatch } from '../../lib/tick-batch.js';
import type { AuditLog, AuditScope } from '../audit/audit.service.js';
import { itemsRepo, type QueueItem } from './items.repo.js';
import { inactive, notInProgress, retries } from './items.rules.js';
import { queuesRepo } from './queues.repo.js';
import type { ItemError } from './queues.schemas.js';
import { itemSummary, itemView, type QueueItemView } from './queues.views.js';

/** Who acts, in which organisation: what the audit events name. A RequestContext is one. */
export interface ActingScope extends AuditScope {
  orgId: string;
}

/**
 * Who takes and finishes items. A person through the API is `{ scope: their request context,
 * robotId: null }`; the runner API passes `{ scope: the robot as actor, robotId: the robot's id }`,
 * so the same calls serve both and the audit events name the robot. `robotId` is written on the
 * items the consumer takes.
 */
export interface QueueConsumer {
  scope: ActingScope;
  robotId: string | null;
}

export interface FailResult {
  item: QueueItemView;
  retry: QueueItemView | null;
}

/** Calls in one batch at most: two parameters each, far under the dialects' limits. */
const MAX_BATCH = 500;
/** Batches under way at once; what arrives meanwhile makes the next one bigger. */
const MAX_IN_FLIGHT = 2;

interface ClaimCall {
  consumer: QueueConsumer;
  queueId: string;
}
interface CompleteCall {
  consumer: QueueConsumer;
  id: string;
  output: unknown;
}
/** A call's own answer within its batch: an item, nothing to take, or its own refusal. */
type Outcome = QueueItem | undefined | AppError;

function unwrap(outcome: Outcome): QueueItem | undefined {
  if (outcome instanceof AppError) throw outcome;
  return outcome;
}

/** What a claim's or a completion's event shows: one of many a robot makes, so it is kept small. */
function consumedBy(item: QueueItem): object {
  return { status: item.status, robot_id: item.robot_id };
}

function groupBy<T>(calls: readonly T[], keyOf: (call: T) => string): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  calls.forEach((call, i) => {
    const key = keyOf(call);
    const group = groups.get(key);
    if (group) group.push(i);
    else groups.set(key, [i]);
  });
  return groups;
}

/**
 * The consumer side of queues: claim the next item, report progress, complete or fail it. Claims
 * and completions made in one turn of the event loop share one transaction and one statement
 * each (see TickBatch): sixteen robots asking at once cost one claim statement, not sixteen.
 * Each call still answers for itself, and each item is taken exactly once: the claim is a single
 * conditional UPDATE (SKIP LOCKED on PostgreSQL), the completion moves only items in progress.
 */
export class QueueConsumers {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #claims: TickBatch<ClaimCall, Outcome>;
  readonly #completions: TickBatch<CompleteCall, Outcome>;

  constructor(deps: { db: Executor; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    const options = {
      maxSize: MAX_BATCH,
      maxInFlight: MAX_IN_FLIGHT,
      retryAlone: (error: unknown) => !isDatabaseUnavailable(error),
    };
    this.#claims = new TickBatch((calls) => this.#claimBatch(calls), options);
    this.#completions = new TickBatch((calls) => this.#completeBatch(calls), {
      ...options,
      keyOf: (call) => call.id,
    });
  }

  /**
   * Takes the queue's next item for the consumer: high before normal before low priority, then
   * the oldest, items deferred to a later time skipped. Undefined when none waits; 409 when the
   * queue is inactive.
   */
  async claimNext(consumer: QueueConsumer, queueId: string): Promise<QueueItemView | undefined> {
    const item = unwrap(await this.#claims.add({ consumer, queueId }));
    return item && itemView(item);
  }

  /** In progress → successful. Completing it again with the same output answers the same; else 409. */
  async complete(consumer: QueueConsumer, id: string, output: unknown): Promise<QueueItemView> {
    const item = unwrap(await this.#completions.add({ consumer, id, output: output ?? null }));
    return itemView(item!);
  }

  /**
   * In progress → failed, for a business error or when retries ran out; for an application error
   * with retries left → retried, and a new item carries the same work (its `retry_of` the first
   * item of the chain). Failing it again with the same error answers the same; else 409.
   */
  async fail(consumer: QueueConsumer, id: string, error: ItemError): Promise<FailResult> {
    const { orgId } = consumer.scope;
    return inTransaction(this.#db, async (trx) => {
      const before = await itemsRepo.lock(trx, orgId, id);
      if (!before) throw notFound('queue item');
      if (before.status !== 'in_progress') return this.#repeatedFailure(trx, before, error);
      const queue = await queuesRepo.get(trx, orgId, before.queue_id);
      if (!queue) throw notFound('queue');
      const retried = retries(queue, before, error);
      const now = this.#clock.now().toISOString();
      const moved = await itemsRepo.move(trx, orgId, id, ['in_progress'], {
        status: retried ? 'retried' : 'failed',
        error_type: error.type,
        error_reason: error.reason,
        abandon_at: null,
        finished_at: now,
        updated_at: now,
      });
      if (!moved) throw notInProgress(before);
      const retry = retried ? this.#retryOf(before, now) : undefined;
      if (retry) await itemsRepo.insertMany(trx, [retry]);
      await this.#audit.record(trx, consumer.scope, {
        action: 'status_changed',
        entityType: 'queue_item',
        entityId: id,
        before: itemSummary(before),
        after: { ...itemSummary(moved), retry_id: retry?.id ?? null },
      });
      return { item: itemView(moved), retry: retry ? itemView(retry) : null };
    });
  }

  /** Sets the progress text of an item in progress (409 otherwise). */
  async progress(consumer: QueueConsumer, id: string, text: string): Promise<QueueItemView> {
    const { orgId } = consumer.scope;
    return inTransaction(this.#db, async (trx) => {
      const before = await itemsRepo.get(trx, orgId, id);
      if (!before) throw notFound('queue item');
      const moved = await itemsRepo.move(trx, orgId, id, ['in_progress'], {
        progress: text,
        updated_at: this.#clock.now().toISOString(),
      });
      if (!moved) throw notInProgress(before);
      await this.#audit.record(trx, consumer.scope, {
        action: 'modified',
        entityType: 'queue_item',
        entityId: id,
        before: { progress: before.progress },
        after: { progress: text },
      });
      return itemView(moved);
    });
  }

  /** One transaction for the batch; per queue, one look at the queue and one claim statement. */
  #claimBatch(calls: readonly ClaimCall[]): Promise<Outcome[]> {
    return inTransaction(this.#db, async (trx) => {
      const outcomes: Outcome[] = calls.map(() => undefined);
      const now = this.#clock.now();
      const events: Parameters<AuditLog['recordMany']>[1][number][] = [];
      const groups = groupBy(calls, (call) => `${call.consumer.scope.orgId}/${call.queueId}`);
      for (const indexes of groups.values()) {
        const first = calls[indexes[0]!]!;
        const queue = await queuesRepo.get(trx, first.consumer.scope.orgId, first.queueId);
        const refusal = queue ? inactive(queue) : notFound('queue');
        if (!queue || refusal) {
          for (const i of indexes) outcomes[i] = refusal;
          continue;
        }
        const claimed = await itemsRepo.claim(trx, {
          orgId: queue.org_id,
          queueId: queue.id,
          robotIds: indexes.map((i) => calls[i]!.consumer.robotId),
          now: now.toISOString(),
          nowMs: now.getTime(),
          abandonAt: new Date(now.getTime() + queue.item_timeout_seconds * 1000).toISOString(),
        });
        indexes.forEach((callIndex, slot) => {
          const item = claimed[slot];
          outcomes[callIndex] = item;
          if (item)
            events.push({
              scope: calls[callIndex]!.consumer.scope,
              entry: {
                action: 'status_changed',
                entityType: 'queue_item',
                entityId: item.id,
                before: { status: 'new' },
                after: consumedBy(item),
              },
            });
        });
      }
      await this.#audit.recordMany(trx, events);
      return outcomes;
    });
  }

  /** One transaction and one statement for the batch; calls whose item did not move are judged alone. */
  #completeBatch(calls: readonly CompleteCall[]): Promise<Outcome[]> {
    return inTransaction(this.#db, async (trx) => {
      const now = this.#clock.now();
      const moved = await itemsRepo.complete(
        trx,
        calls.map((call) => ({
          orgId: call.consumer.scope.orgId,
          id: call.id,
          output: JSON.stringify(call.output),
        })),
        now.toISOString(),
        now.getTime(),
      );
      const byId = new Map(moved.map((item) => [item.id, item]));
      const outcomes: Outcome[] = [];
      for (const call of calls) {
        const item = byId.get(call.id);
        outcomes.push(item ?? (await this.#repeatedCompletion(trx, call)));
      }
      await this.#audit.recordMany(
        trx,
        calls.flatMap((call) => {
          const item = byId.get(call.id);
          return item
            ? [
                {
                  scope: call.consumer.scope,
                  entry: {
                    action: 'status_changed' as const,
                    entityType: 'queue_item',
                    entityId: item.id,
                    before: { status: 'in_progress' },
                    after: consumedBy(item),
                  },
                },
              ]
            : [];
        }),
      );
      return outcomes;
    });
  }

  /** A completion of an item no longer in progress: the same one again answers the item, else 409. */
  async #repeatedCompletion(db: Executor, call: CompleteCall): Promise<Outcome> {
    const item = await itemsRepo.get(db, call.consumer.scope.orgId, call.id);
    if (!item) return notFound('queue item');
    if (item.status === 'successful' && isDeepStrictEqual(item.output, call.output)) return item;
    return notInProgress(item);
  }

  async #repeatedFailure(db: Executor, item: QueueItem, error: ItemError): Promise<FailResult> {
    const same =
      (item.status === 'failed' || item.status === 'retried') && isDeepStrictEqual(item.error, error);
    if (!same) throw notInProgress(item);
    const retry = item.status === 'retried' ? await itemsRepo.retryOf(db, item) : undefined;
    return { item: itemView(item), retry: retry ? itemView(retry) : null };
  }

  /** The new item that carries a failed one's work on: same content, priority, reference and due times. */
  #retryOf(item: QueueItem, now: string): QueueItem {
    return {
      ...item,
      id: newId(),
      status: 'new',
      progress: null,
      output: null,
      error: null,
      robot_id: null,
      retry_of: item.retry_of ?? item.id,
      retry_number: item.retry_number + 1,
      defer_until: null,
      abandon_at: null,
      started_at: null,
      started_ms: null,
      processing_ms: null,
      finished_at: null,
      created_at: now,
      updated_at: now,
    };
  }
}
