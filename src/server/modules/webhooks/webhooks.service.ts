import { randomBytes } from 'node:crypto';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/crypto.js';
import { AppError, notFound, type ErrorDetail } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { assertReachable, type OutboundRange } from '../../lib/outbound.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import { deliveriesRepo } from './deliveries.repo.js';
import { newDelivery } from './webhooks.enqueuer.js';
import { PING_EVENT, unknownPatterns, webhookEventTypes } from './webhooks.events.js';
import { webhooksRepo, type Webhook, type WebhookChanges } from './webhooks.repo.js';
import type {
  DeliveryDetail,
  DeliveryStatus,
  DeliveryView,
  WebhookCreateBody,
  WebhookStatus,
  WebhookUpdateBody,
  WebhookView,
} from './webhooks.schemas.js';
import { deliveryDetail, deliveryView, webhookView } from './webhooks.views.js';

export interface WebhookWithSecret {
  webhook: WebhookView;
  secret: string;
}

/** A new signing secret: 32 random bytes, prefixed so it is recognised where it leaks. */
function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/**
 * Outbound webhook subscriptions and their deliveries. A subscription is active or paused: the
 * sender pauses it after repeated failures, an operator pauses it by hand; resume, or any update,
 * makes it active again with its failure streak cleared. Its secret is shown once (on create and
 * on rotation) and stored sealed.
 */
export class WebhooksService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #box: SecretBox;
  readonly #allow: readonly OutboundRange[];
  readonly #kick: () => void;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    box: SecretBox;
    /** Address ranges the server may call (FLEETPLANE_OUTBOUND_ALLOW). */
    allow: readonly OutboundRange[];
    /** Tells the sender that deliveries are due now. */
    kick: () => void;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#box = deps.box;
    this.#allow = deps.allow;
    this.#kick = deps.kick;
  }

  eventTypes(): string[] {
    return [...webhookEventTypes];
  }

  async create(ctx: RequestContext, input: WebhookCreateBody): Promise<WebhookWithSecret> {
    await this.#assertValid(input);
    const secret = newSecret();
    const now = this.#clock.now().toISOString();
    const row: Webhook = {
      id: newId(),
      org_id: ctx.orgId,
      url: input.url,
      description: input.description ?? '',
      events: input.events,
      enabled: input.enabled ?? true,
      status: 'active',
      secret: this.#box.seal(secret),
      consecutive_failures: 0,
      paused_at: null,
      paused_reason: null,
      created_by: ctx.userId,
      created_at: now,
      updated_at: now,
    };
    const webhook = webhookView(row);
    await inTransaction(this.#db, async (trx) => {
      await webhooksRepo.insert(trx, row);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'webhook',
        entityId: row.id,
        after: webhook,
      });
    });
    return { webhook, secret };
  }

  async list(
    orgId: string,
    filter: { status?: WebhookStatus },
    page: PageParams,
  ): Promise<Page<WebhookView>> {
    return mapPage(await webhooksRepo.list(this.#db, orgId, filter, page), webhookView);
  }

  async get(orgId: string, id: string): Promise<WebhookView> {
    return webhookView(await this.#find(this.#db, orgId, id));
  }

  /** Changes a subscription; a paused one is resumed, its failure streak cleared. */
  async update(ctx: RequestContext, id: string, input: WebhookUpdateBody): Promise<WebhookView> {
    await this.#assertValid(input);
    return this.#change(ctx, id, 'modified', () => ({
      ...input,
      ...resumed(),
    }));
  }

  async remove(ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const before = await this.#find(trx, ctx.orgId, id);
      await webhooksRepo.remove(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: 'webhook',
        entityId: id,
        before: webhookView(before),
      });
    });
  }

  /** A new signing secret, shown this once; the old one stops signing at once. */
  async rotateSecret(ctx: RequestContext, id: string): Promise<WebhookWithSecret> {
    const secret = newSecret();
    const webhook = await this.#change(ctx, id, 'modified', () => ({ secret: this.#box.seal(secret) }));
    return { webhook, secret };
  }

  resume(ctx: RequestContext, id: string): Promise<WebhookView> {
    return this.#change(ctx, id, 'status_changed', () => resumed());
  }

  pause(ctx: RequestContext, id: string): Promise<WebhookView> {
    return this.#change(ctx, id, 'status_changed', (before) =>
      before.status === 'paused'
        ? {}
        : { status: 'paused', paused_at: this.#clock.now().toISOString(), paused_reason: 'paused by hand' },
    );
  }

  /**
   * Queues a `webhook.ping` to the subscription, whatever its filter, and sends it at once, even
   * while paused (to check a receiver is back); a disabled subscription's ping waits until enabled.
   */
  async test(ctx: RequestContext, id: string): Promise<DeliveryView> {
    const webhook = await this.#find(this.#db, ctx.orgId, id);
    const now = this.#clock.now().toISOString();
    const body = JSON.stringify({
      id: newId(),
      type: PING_EVENT,
      created_at: now,
      data: { webhook_id: webhook.id, message: 'A test delivery from Fleetplane' },
    });
    return this.#enqueue(ctx, newDelivery(webhook, PING_EVENT, null, body, now));
  }

  async deliveries(
    orgId: string,
    webhookId: string,
    filter: { status?: DeliveryStatus },
    page: PageParams,
  ): Promise<Page<DeliveryView>> {
    await this.#find(this.#db, orgId, webhookId);
    return mapPage(await deliveriesRepo.list(this.#db, orgId, webhookId, filter, page), deliveryView);
  }

  async delivery(orgId: string, webhookId: string, id: string): Promise<DeliveryDetail> {
    const row = await deliveriesRepo.get(this.#db, orgId, webhookId, id);
    if (!row) throw notFound('delivery');
    return deliveryDetail(row, await deliveriesRepo.attempts(this.#db, id));
  }

  /**
   * Sends a delivery's body again as a new delivery (its own id, attempts and log), whatever
   * became of the first: receivers that deduplicated the first by its id take this one.
   */
  async redeliver(ctx: RequestContext, webhookId: string, id: string): Promise<DeliveryView> {
    const original = await deliveriesRepo.get(this.#db, ctx.orgId, webhookId, id);
    if (!original) throw notFound('delivery');
    const now = this.#clock.now().toISOString();
    return this.#enqueue(
      ctx,
      newDelivery(
        { id: webhookId, org_id: ctx.orgId },
        original.event,
        null,
        original.body,
        now,
        original.redelivery_of ?? original.id,
      ),
    );
  }

  /**
   * Deletes settled deliveries (delivered or failed) created before `before`, with their attempt
   * logs; pending ones stay. For the housekeeping schedule. Answers how many went.
   */
  purgeDeliveriesBefore(before: Date): Promise<number> {
    return deliveriesRepo.purgeBefore(this.#db, before.toISOString());
  }

  async #enqueue(ctx: RequestContext, row: ReturnType<typeof newDelivery>): Promise<DeliveryView> {
    await inTransaction(this.#db, async (trx) => {
      await deliveriesRepo.insertMany(trx, [row]);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'webhook_delivery',
        entityId: row.id,
        after: { webhook_id: row.webhook_id, event: row.event, redelivery_of: row.redelivery_of },
      });
    });
    this.#kick();
    return deliveryView(row);
  }

  async #change(
    ctx: RequestContext,
    id: string,
    action: 'modified' | 'status_changed',
    changesOf: (before: Webhook) => WebhookChanges,
  ): Promise<WebhookView> {
    const after = await inTransaction(this.#db, async (trx) => {
      const before = await webhooksRepo.lock(trx, ctx.orgId, id);
      if (!before) throw notFound('webhook');
      const changes = { ...changesOf(before), updated_at: this.#clock.now().toISOString() };
      await webhooksRepo.update(trx, ctx.orgId, id, changes);
      const view = webhookView({ ...before, ...changes });
      await this.#audit.record(trx, ctx, {
        action,
        entityType: 'webhook',
        entityId: id,
        before: webhookView(before),
        after: view,
      });
      return view;
    });
    // a resumed subscription's waiting deliveries are due
    if (after.status === 'active') this.#kick();
    return after;
  }

  async #find(db: Executor, orgId: string, id: string): Promise<Webhook> {
    const webhook = await webhooksRepo.get(db, orgId, id);
    if (!webhook) throw notFound('webhook');
    return webhook;
  }

  /** Every problem of the input at once: unknown event patterns, a URL the server will not call. */
  async #assertValid(input: { url?: string; events?: string[] }): Promise<void> {
    const details: ErrorDetail[] = [];
    const unknown = unknownPatterns(input.events ?? []);
    if (unknown.length > 0)
      details.push({
        field: 'events',
        message: `no event matches ${unknown.join(', ')}; known: ${webhookEventTypes.join(', ')}`,
      });
    if (input.url !== undefined) {
      try {
        await assertReachable(input.url, this.#allow, 'url');
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        details.push(...error.details);
      }
    }
    if (details.length > 0) throw new AppError('unprocessable', 'the webhook is not valid', { details });
  }
}

/** An active subscription with its failure streak cleared. */
function resumed(): WebhookChanges {
  return { status: 'active', consecutive_failures: 0, paused_at: null, paused_reason: null };
}
