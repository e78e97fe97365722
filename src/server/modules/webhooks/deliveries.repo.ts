import { capsOf, type Executor } from '../../db/executor.js';
import type { WebhookAttemptsTable, WebhookDeliveriesTable } from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';
import type { DeliveryStatus } from './webhooks.schemas.js';
import { PING_EVENT } from './webhooks.events.js';

export type DeliveryRow = WebhookDeliveriesTable;
export type AttemptRow = WebhookAttemptsTable;

/** A delivery claimed for a try, with what sending it needs of its subscription. */
export interface ClaimedDelivery {
  id: string;
  org_id: string;
  webhook_id: string;
  event: string;
  body: string;
  /** This try's number: the claim counted it. */
  attempts: number;
  url: string;
  /** Sealed. */
  secret: string;
}

/** Rows per INSERT: 12 columns each stays far under either dialect's parameter limit. */
const INSERT_CHUNK = 500;

export const deliveriesRepo = {
  /**
   * Writes new deliveries in a few statements; one whose subscription already has its event key
   * (the event announced again) is skipped. Answers the ids written.
   */
  async insertMany(db: Executor, rows: readonly DeliveryRow[]): Promise<string[]> {
    const written: string[] = [];
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
      const inserted = await db
        .insertInto('webhook_deliveries')
        .values(rows.slice(i, i + INSERT_CHUNK))
        .onConflict((oc) => oc.columns(['webhook_id', 'event_key']).doNothing())
        .returning('id')
        .execute();
      written.push(...inserted.map((row) => row.id));
    }
    return written;
  },

  /**
   * Claims up to `limit` due deliveries of enabled subscriptions, active ones or pings (a test
   * of a paused subscription is sent, one of a disabled subscription waits): each gets
   * its next try counted and is leased until `leaseUntil` through its due time, so a node that
   * dies mid-send leaves it due again then. With SKIP LOCKED two nodes never claim the same row;
   * SQLite's single writer serialises the claims.
   */
  async claimDue(db: Executor, now: string, leaseUntil: string, limit: number): Promise<ClaimedDelivery[]> {
    let due = db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
      .select('d.id')
      .where('d.status', '=', 'pending')
      .where('d.next_attempt_at', '<=', now)
      .where('w.enabled', '=', 1)
      .where((eb) => eb.or([eb('w.status', '=', 'active'), eb('d.event', '=', PING_EVENT)]))
      .orderBy('d.next_attempt_at')
      .limit(limit);
    if (capsOf(db).skipLocked) due = due.forUpdate(['d']).skipLocked();
    const claimed = await db
      .updateTable('webhook_deliveries')
      .set((eb) => ({ next_attempt_at: leaseUntil, attempts: eb('attempts', '+', 1), updated_at: now }))
      .where('id', 'in', due)
      .returning(['id', 'org_id', 'webhook_id', 'event', 'body', 'attempts'])
      .execute();
    if (claimed.length === 0) return [];
    const hooks = await db
      .selectFrom('webhooks')
      .select(['id', 'url', 'secret'])
      .where(
        'id',
        'in',
        claimed.map((row) => row.webhook_id),
      )
      .execute();
    const byId = new Map(hooks.map((hook) => [hook.id, hook]));
    return claimed.flatMap((row) => {
      const hook = byId.get(row.webhook_id);
      return hook ? [{ ...row, url: hook.url, secret: hook.secret }] : [];
    });
  },

  /**
   * The outcome of a try, written only if the delivery is still at that try (a node whose lease
   * lapsed while it waited on a receiver does not overwrite the next node's outcome).
   */
  async settle(
    db: Executor,
    claimed: Pick<ClaimedDelivery, 'id' | 'attempts'>,
    outcome: {
      status: DeliveryStatus;
      next_attempt_at: string | null;
      last_status_code: number | null;
      last_error: string | null;
      now: string;
    },
  ): Promise<boolean> {
    const result = await db
      .updateTable('webhook_deliveries')
      .set({
        status: outcome.status,
        next_attempt_at: outcome.next_attempt_at,
        last_status_code: outcome.last_status_code,
        last_error: outcome.last_error,
        updated_at: outcome.now,
        finished_at: outcome.status === 'pending' ? null : outcome.now,
      })
      .where('id', '=', claimed.id)
      .where('attempts', '=', claimed.attempts)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  async insertAttempt(db: Executor, attempt: AttemptRow): Promise<void> {
    await db.insertInto('webhook_attempts').values(attempt).execute();
  },

  async get(db: Executor, orgId: string, webhookId: string, id: string): Promise<DeliveryRow | undefined> {
    return db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('webhook_id', '=', webhookId)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  list(
    db: Executor,
    orgId: string,
    webhookId: string,
    filter: { status?: DeliveryStatus },
    page: PageParams,
  ): Promise<Page<DeliveryRow>> {
    let q = db
      .selectFrom('webhook_deliveries')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('webhook_id', '=', webhookId);
    if (filter.status) q = q.where('status', '=', filter.status);
    return paginate(q, 'id', page);
  },

  attempts(db: Executor, deliveryId: string): Promise<AttemptRow[]> {
    return db
      .selectFrom('webhook_attempts')
      .selectAll()
      .where('delivery_id', '=', deliveryId)
      .orderBy('attempt')
      .execute();
  },

  /**
   * Deletes deliveries created before `before` that are settled (delivered or failed), with their
   * attempts; pending ones stay whatever their age. Answers how many went.
   */
  async purgeBefore(db: Executor, before: string): Promise<number> {
    const result = await db
      .deleteFrom('webhook_deliveries')
      .where('created_at', '<', before)
      .where('status', '!=', 'pending')
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  },
};
