import { createHmac } from 'node:crypto';
import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/logger.js';
import { assertReachable, postOutbound, type OutboundRange, type OutboundReply } from '../../lib/outbound.js';
import type { SettingsService } from '../settings/settings.service.js';
import type { SettingsValues } from '../settings/settings.catalog.js';
import type { AuditLog } from '../audit/audit.service.js';
import { deliveriesRepo, type ClaimedDelivery } from './deliveries.repo.js';
import { webhooksRepo } from './webhooks.repo.js';
import { webhookView } from './webhooks.views.js';

/** Deliveries claimed per round; each round sends them concurrently. */
const CLAIM_BATCH = 20;
/** A claimed delivery is due again after this if its node never settles it: above the longest timeout. */
const LEASE_MS = 2 * 60_000;
/** Pending deliveries are looked for this often, besides right after an enqueue. */
/** Backoff: 10 s before the second try, doubling, at most an hour; each wait drawn in [½, 1] of it. */
const BACKOFF_BASE_MS = 10_000;
const BACKOFF_MAX_MS = 3_600_000;
/** Kept of an error message: its cause, not a stack. */
const MAX_ERROR_CHARS = 500;

/** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`: the time is signed, so a replay cannot move it. */
export function signatureHeader(secret: string, unixSeconds: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** The wait before try `attempt + 1`, with jitter so receivers coming back are not hit at once. */
export function backoffMs(attempt: number, random = Math.random()): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * (0.5 + random / 2));
}

type Settings = SettingsValues<'webhooks'>;

interface TryOutcome {
  reply: OutboundReply | null;
  error: string | null;
  durationMs: number;
}

/**
 * Sends due deliveries: a poll every `pollMs` and a kick after each enqueue. A round claims due
 * deliveries (a lease through their due time), POSTs them signed, logs each try and settles it:
 * delivered on a 2xx, due again after a backoff, or failed after the organisation's
 * max_attempts. State lives in the database only, so a restarted node (or another) carries on.
 *
 * States: idle → (poll, kick) sending rounds until none is due → idle; a kick during a round
 * asks for one more round. stop() aborts calls under way and waits for the round to end.
 */
export class WebhookSender {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #box: SecretBox;
  readonly #settings: SettingsService;
  readonly #audit: AuditLog;
  readonly #logger: Logger;
  readonly #allow: readonly OutboundRange[];
  readonly #pollMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #again = false;
  #abort = new AbortController();

  constructor(deps: {
    db: Executor;
    clock: Clock;
    box: SecretBox;
    settings: SettingsService;
    audit: AuditLog;
    logger: Logger;
    /** Address ranges the server may call (FLEETPLANE_OUTBOUND_ALLOW). */
    allow: readonly OutboundRange[];
    /** How often retries that came due are looked for; new deliveries are sent at once (kick). */
    pollMs: number;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#box = deps.box;
    this.#settings = deps.settings;
    this.#audit = deps.audit;
    this.#logger = deps.logger;
    this.#allow = deps.allow;
    this.#pollMs = deps.pollMs;
  }

  start(): void {
    if (this.#timer) return;
    this.#abort = new AbortController();
    this.#timer = setInterval(() => this.kick(), this.#pollMs).unref();
    this.kick();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#running;
  }

  /** Looks for due deliveries now (after an enqueue, a redelivery). */
  kick(): void {
    if (this.#abort.signal.aborted) return;
    void this.sendDue();
  }

  /**
   * Sends every delivery due now, round after round; resolves with how many tries were made.
   * A call during a round joins it and asks for another round after it.
   */
  sendDue(): Promise<number> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#rounds().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #rounds(): Promise<number> {
    let tries = 0;
    const settings = new Map<string, Promise<Settings>>();
    try {
      for (;;) {
        this.#again = false;
        const now = this.#clock.now();
        const claimed = await deliveriesRepo.claimDue(
          this.#db,
          now.toISOString(),
          new Date(now.getTime() + LEASE_MS).toISOString(),
          CLAIM_BATCH,
        );
        tries += claimed.length;
        await Promise.all(
          claimed.map((delivery) =>
            // one delivery's failure (its settle could not be written) leaves it to its lease
            this.#send(delivery, settings).catch((error: unknown) => {
              this.#logger.error({ err: error, deliveryId: delivery.id }, 'webhooks: a delivery failed');
            }),
          ),
        );
        if (this.#abort.signal.aborted || (claimed.length < CLAIM_BATCH && !this.#again)) return tries;
      }
    } catch (error) {
      this.#logger.error({ err: error }, 'webhooks: sending deliveries failed');
      return tries;
    }
  }

  async #send(delivery: ClaimedDelivery, settingsByOrg: Map<string, Promise<Settings>>): Promise<void> {
    let settings = settingsByOrg.get(delivery.org_id);
    if (!settings) {
      settings = this.#settings.read(delivery.org_id, 'webhooks');
      settingsByOrg.set(delivery.org_id, settings);
    }
    const { timeout_seconds, max_attempts, pause_after_failures } = await settings;
    const tried = await this.#try(delivery, timeout_seconds * 1000);
    // cut short by stop(), not failed: the lease brings it back on the next start (an answer
    // that came is still recorded)
    if (tried.reply === null && this.#abort.signal.aborted) return;
    const ok = tried.reply !== null && tried.reply.status >= 200 && tried.reply.status < 300;
    const now = this.#clock.now();
    const error = ok ? null : (tried.error ?? `the receiver answered ${tried.reply?.status}`);
    const retry = !ok && delivery.attempts < max_attempts;
    const settled = await deliveriesRepo.settle(this.#db, delivery, {
      status: ok ? 'delivered' : retry ? 'pending' : 'failed',
      next_attempt_at: retry ? new Date(now.getTime() + backoffMs(delivery.attempts)).toISOString() : null,
      last_status_code: tried.reply?.status ?? null,
      last_error: error,
      now: now.toISOString(),
    });
    if (!settled) return;
    await deliveriesRepo.insertAttempt(this.#db, {
      id: newId(),
      delivery_id: delivery.id,
      attempt: delivery.attempts,
      status_code: tried.reply?.status ?? null,
      response_excerpt: tried.reply?.body ?? '',
      duration_ms: tried.durationMs,
      error,
      created_at: now.toISOString(),
    });
    if (ok) await webhooksRepo.succeeded(this.#db, delivery.webhook_id);
    else await this.#failed(delivery, pause_after_failures, now.toISOString());
  }

  async #try(delivery: ClaimedDelivery, timeoutMs: number): Promise<TryOutcome> {
    const started = performance.now();
    try {
      // checked again before each call: the name may point elsewhere since it was saved
      const url = await assertReachable(delivery.url, this.#allow);
      const unixSeconds = Math.floor(this.#clock.now().getTime() / 1000);
      const secret = this.#box.reveal(delivery.secret);
      const reply = await postOutbound(
        url,
        delivery.body,
        {
          'fleetplane-signature': signatureHeader(secret, unixSeconds, delivery.body),
          'fleetplane-event': delivery.event,
          'fleetplane-delivery': delivery.id,
        },
        timeoutMs,
        this.#abort.signal,
      );
      return { reply, error: null, durationMs: reply.duration_ms };
    } catch (error) {
      return {
        reply: null,
        error: describe(error),
        durationMs: Math.round(performance.now() - started),
      };
    }
  }

  /** A failed try: the subscription's failure streak grows; at the limit it is paused, and audited. */
  async #failed(delivery: ClaimedDelivery, pauseAfter: number, now: string): Promise<void> {
    const reason = `paused after ${pauseAfter} failed attempts in a row`;
    const { paused } = await webhooksRepo.failed(this.#db, delivery.webhook_id, pauseAfter, now, reason);
    if (!paused) return;
    this.#logger.warn({ webhookId: paused.id, orgId: paused.org_id }, `webhooks: subscription ${reason}`);
    await this.#audit.record(
      this.#db,
      {
        orgId: paused.org_id,
        actor: { type: 'system', id: null, label: 'webhook sender' },
        meta: { ip: null, userAgent: null, requestId: null },
      },
      { action: 'status_changed', entityType: 'webhook', entityId: paused.id, after: webhookView(paused) },
    );
  }
}

/** What went wrong, in a line: a refused URL's reason, a network error's code, a timeout. */
function describe(error: unknown): string {
  if (error instanceof AppError)
    return (error.details[0]?.message ?? error.message).slice(0, MAX_ERROR_CHARS);
  if (error instanceof Error && error.name === 'TimeoutError') return 'the receiver did not answer in time';
  const cause =
    error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  const text = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return text.slice(0, MAX_ERROR_CHARS);
}
