import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/logger.js';
import type { EventBus, FleetEvent } from '../../realtime/events.js';
import { deliveriesRepo, type DeliveryRow } from './deliveries.repo.js';
import { webhooksRepo } from './webhooks.repo.js';
import { filterTakes, outboundEventOf, type OutboundEvent } from './webhooks.events.js';

/** Events wait this long for others of their burst, so a fan-out costs a few statements. */
const BUFFER_MS = 5;

/** An event as it waits to be written: its id and time are fixed when it happened. */
interface Heard extends OutboundEvent {
  id: string;
  at: string;
}

/**
 * Turns the events published ON THIS NODE into delivery rows, one per subscription whose filter
 * takes the event: each event is enqueued once across nodes (`onPublished`). Events are buffered
 * a few milliseconds and written together: one read of the subscriptions of their organisations
 * and one INSERT per few hundred rows, whatever the burst.
 *
 * Agents are announced online on registration, on connecting and when heartbeats return: only a
 * change from the last status heard (from any node) becomes `agent.online` / `agent.offline`.
 *
 * States: idle → (an event) buffering → (BUFFER_MS) writing → idle, or buffering again for the
 * events heard meanwhile. A failed write is logged; those events are lost, as a failed NOTIFY is.
 */
export class WebhookEnqueuer {
  readonly #db: Executor;
  readonly #bus: EventBus;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #enqueued: () => void;
  readonly #agentStatus = new Map<string, string>();
  #buffer: Heard[] = [];
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();
  #unsubscribe: (() => void)[] = [];

  constructor(deps: {
    db: Executor;
    bus: EventBus;
    clock: Clock;
    logger: Logger;
    /** Called after deliveries were written, so the sender need not wait for its next poll. */
    enqueued: () => void;
  }) {
    this.#db = deps.db;
    this.#bus = deps.bus;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#enqueued = deps.enqueued;
  }

  start(): void {
    if (this.#unsubscribe.length > 0) return;
    this.#unsubscribe = [
      this.#bus.onPublished((event) => this.#hear(event)),
      // other nodes' agent changes, so a change seen there is not announced again here
      this.#bus.subscribe((event) => void this.#agentChanged(event)),
    ];
  }

  /** Writes what is buffered and stops listening. */
  async stop(): Promise<void> {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe = [];
    await this.flush();
  }

  /** Writes every event heard so far (tests, and stop). */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#buffer;
    this.#buffer = [];
    this.#writing = this.#writing.then(() => this.#write(batch));
    return this.#writing;
  }

  #hear(event: FleetEvent): void {
    if (event.type === 'agent.status' && !this.#agentChanged(event)) return;
    const outbound = outboundEventOf(event);
    if (!outbound) return;
    this.#buffer.push({ ...outbound, id: newId(), at: this.#clock.now().toISOString() });
    this.#timer ??= setTimeout(() => void this.flush(), BUFFER_MS);
  }

  /** Records an agent's status; true when it differs from the last one heard. */
  #agentChanged(event: FleetEvent): boolean {
    if (event.type === 'agent.deleted') this.#agentStatus.delete(event.agent_id);
    if (event.type !== 'agent.status') return false;
    if (this.#agentStatus.get(event.agent_id) === event.status) return false;
    this.#agentStatus.set(event.agent_id, event.status);
    return true;
  }

  async #write(batch: readonly Heard[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      const orgIds = [...new Set(batch.map((event) => event.org_id))];
      const subscriptions = await webhooksRepo.receiving(this.#db, orgIds);
      const now = this.#clock.now().toISOString();
      const rows: DeliveryRow[] = [];
      for (const event of batch) {
        const body = JSON.stringify({
          id: event.id,
          type: event.type,
          created_at: event.at,
          data: event.data,
        });
        for (const subscription of subscriptions) {
          if (subscription.org_id !== event.org_id || !filterTakes(subscription.events, event.type)) continue;
          rows.push(newDelivery(subscription, event.type, event.key, body, now));
        }
      }
      if (rows.length === 0) return;
      await deliveriesRepo.insertMany(this.#db, rows);
      this.#enqueued();
    } catch (error) {
      this.#logger.error({ err: error, events: batch.length }, 'webhooks: could not enqueue deliveries');
    }
  }
}

/** A delivery due now. */
export function newDelivery(
  subscription: { id: string; org_id: string },
  event: string,
  key: string | null,
  body: string,
  now: string,
  redeliveryOf: string | null = null,
): DeliveryRow {
  return {
    id: newId(),
    org_id: subscription.org_id,
    webhook_id: subscription.id,
    event,
    event_key: key,
    body,
    status: 'pending',
    attempts: 0,
    next_attempt_at: now,
    last_status_code: null,
    last_error: null,
    redelivery_of: redeliveryOf,
    created_at: now,
    updated_at: now,
    finished_at: null,
  };
}
