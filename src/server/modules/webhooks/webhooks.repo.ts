import { capsOf, type Executor } from '../../db/executor.js';
import type { WebhooksTable } from '../../db/schema.js';
import { paginate, mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { WebhookStatus } from './webhooks.schemas.js';

/** A subscription as stored, decoded: its secret still sealed. */
export interface Webhook extends Omit<WebhooksTable, 'events' | 'enabled' | 'status'> {
  events: string[];
  enabled: boolean;
  status: WebhookStatus;
}

/** What the enqueuer needs of a subscription that may receive events. */
export interface Receiving {
  id: string;
  org_id: string;
  events: string[];
}

function decode(row: WebhooksTable): Webhook {
  return {
    ...row,
    events: JSON.parse(row.events) as string[],
    enabled: row.enabled === 1,
    status: row.status as WebhookStatus,
  };
}

function encode<T extends Partial<Webhook>>(webhook: T) {
  const { events, enabled, ...rest } = webhook;
  return {
    ...rest,
    ...(events === undefined ? {} : { events: JSON.stringify(events) }),
    ...(enabled === undefined ? {} : { enabled: enabled ? 1 : 0 }),
  };
}

export type WebhookChanges = Partial<Omit<Webhook, 'id' | 'org_id' | 'created_by' | 'created_at'>>;

export const webhooksRepo = {
  async insert(db: Executor, webhook: Webhook): Promise<void> {
    await db
      .insertInto('webhooks')
      .values(encode(webhook) as WebhooksTable)
      .execute();
  },

  async get(db: Executor, orgId: string, id: string): Promise<Webhook | undefined> {
    const row = await db
      .selectFrom('webhooks')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decode(row);
  },

  /** Reads a subscription for a change; with row locks (PostgreSQL) a concurrent change waits. */
  async lock(db: Executor, orgId: string, id: string): Promise<Webhook | undefined> {
    let q = db.selectFrom('webhooks').selectAll().where('org_id', '=', orgId).where('id', '=', id);
    if (capsOf(db).rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && decode(row);
  },

  async list(
    db: Executor,
    orgId: string,
    filter: { status?: WebhookStatus },
    page: PageParams,
  ): Promise<Page<Webhook>> {
    let q = db.selectFrom('webhooks').selectAll().where('org_id', '=', orgId);
    if (filter.status) q = q.where('status', '=', filter.status);
    return mapPage(await paginate(q, 'id', page), decode);
  },

  async update(db: Executor, orgId: string, id: string, changes: WebhookChanges): Promise<void> {
    await db
      .updateTable('webhooks')
      .set(encode(changes))
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .execute();
  },

  /** Deletes the subscription; its deliveries and their attempts go with it (on delete cascade). */
  async remove(db: Executor, orgId: string, id: string): Promise<void> {
    await db.deleteFrom('webhooks').where('org_id', '=', orgId).where('id', '=', id).execute();
  },

  /** The subscriptions of these organisations that take events now: enabled and active. */
  async receiving(db: Executor, orgIds: readonly string[]): Promise<Receiving[]> {
    if (orgIds.length === 0) return [];
    const rows = await db
      .selectFrom('webhooks')
      .select(['id', 'org_id', 'events'])
      .where('org_id', 'in', orgIds)
      .where('enabled', '=', 1)
      .where('status', '=', 'active')
      .execute();
    return rows.map((row) => ({ ...row, events: JSON.parse(row.events) as string[] }));
  },

  /** A success: the failure streak ends. */
  async succeeded(db: Executor, id: string): Promise<void> {
    await db
      .updateTable('webhooks')
      .set({ consecutive_failures: 0 })
      .where('id', '=', id)
      .where('consecutive_failures', '>', 0)
      .execute();
  },

  /**
   * A failed attempt: the streak grows, and at `pauseAfter` an active subscription is paused, in
   * the statement after, conditional, so two nodes failing at once pause it once. Answers the
   * subscription when this call paused it.
   */
  async failed(
    db: Executor,
    id: string,
    pauseAfter: number,
    now: string,
    reason: string,
  ): Promise<{ paused: Webhook | undefined }> {
    const row = await db
      .updateTable('webhooks')
      .set((eb) => ({ consecutive_failures: eb('consecutive_failures', '+', 1) }))
      .where('id', '=', id)
      .returning(['org_id', 'consecutive_failures', 'status'])
      .executeTakeFirst();
    if (!row || row.status !== 'active' || row.consecutive_failures < pauseAfter)
      return { paused: undefined };
    const paused = await db
      .updateTable('webhooks')
      .set({ status: 'paused', paused_at: now, paused_reason: reason, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'active')
      .returningAll()
      .executeTakeFirst();
    return { paused: paused && decode(paused) };
  },
};
