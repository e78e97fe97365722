import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import { assertReachable, postOutbound, type OutboundRange } from '../../lib/outbound.js';
import type { Mailer } from '../email/mailer.js';
import type { ChannelKind } from './alerts.schemas.js';
import type { Channel } from './rules.repo.js';

/** What a notification says: an alert that fired or resolved (or a sample, for a test). */
export interface Notice {
  event: 'alert.fired' | 'alert.resolved' | 'alert.test';
  alert_id: string | null;
  rule: { id: string | null; name: string; kind: string };
  severity: string;
  subject: string;
  subject_label: string;
  summary: string;
  at: string;
}

/** What a receiver answered, or how sending failed. */
export interface Delivery {
  ok: boolean;
  status: number | null;
  body: string;
  duration_ms: number;
}

/** A receiver that never answers is given up on after this long. */
const TIMEOUT_MS = 10_000;

const COLOURS: Record<string, string> = { info: '2E86C1', warning: 'F39C12', critical: 'C0392B' };

function headline(notice: Notice): string {
  const state =
    notice.event === 'alert.resolved' ? 'RESOLVED' : notice.event === 'alert.test' ? 'TEST' : 'FIRING';
  return `[${state}] ${notice.rule.name}: ${notice.subject_label} (${notice.severity})`;
}

/** The body each kind of receiver expects: Slack `{text}`, a Teams MessageCard, or the alert as JSON. */
export function payloadFor(kind: Exclude<ChannelKind, 'email'>, notice: Notice): unknown {
  switch (kind) {
    case 'slack':
      return { text: `${headline(notice)}\n${notice.summary}` };
    case 'teams':
      return {
        '@type': 'MessageCard',
        '@context': 'https://schema.org/extensions',
        summary: headline(notice),
        themeColor: notice.event === 'alert.resolved' ? '27AE60' : (COLOURS[notice.severity] ?? '808080'),
        title: headline(notice),
        text: notice.summary,
      };
    case 'webhook':
      return notice;
  }
}

/**
 * Sends notices to channels: webhooks, Slack and Teams through the outbound guard (the address
 * is checked again before each call), email through the Mailer. A failed send is tried again
 * after each of `retryDelaysMs`; every attempt's outcome goes to `onAttempt`.
 */
export class Notifier {
  readonly #box: SecretBox;
  readonly #mailer: Mailer;
  readonly #allowed: readonly OutboundRange[];
  readonly #retryDelaysMs: readonly number[];
  readonly #clock: Clock;
  readonly #logger: Logger;

  constructor(deps: {
    box: SecretBox;
    mailer: Mailer;
    allowed: readonly OutboundRange[];
    retryDelaysMs: readonly number[];
    clock: Clock;
    logger: Logger;
  }) {
    this.#box = deps.box;
    this.#mailer = deps.mailer;
    this.#allowed = deps.allowed;
    this.#retryDelaysMs = deps.retryDelaysMs;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
  }

  /** Sends once to a URL (a test); a network failure is a 502 naming it. */
  async post(rawUrl: string, kind: Exclude<ChannelKind, 'email'>, notice: Notice): Promise<Delivery> {
    const url = await assertReachable(rawUrl, this.#allowed);
    try {
      const reply = await postOutbound(url, JSON.stringify(payloadFor(kind, notice)), {}, TIMEOUT_MS);
      return { ok: reply.status >= 200 && reply.status < 300, ...reply };
    } catch (error) {
      throw new AppError('bad_gateway', `the receiver could not be reached: ${reasonOf(error)}`);
    }
  }

  /** Sends once to a channel; a failure is an answer (`ok: false`), never a throw. */
  async sendOnce(channel: Channel, notice: Notice): Promise<Delivery> {
    const started = performance.now();
    const failed = (error: unknown): Delivery => ({
      ok: false,
      status: null,
      body: error instanceof AppError ? error.message : reasonOf(error),
      duration_ms: Math.round(performance.now() - started),
    });
    try {
      if (channel.kind === 'email') {
        const to = channel.config.to ?? [];
        await this.#mailer.send({ to: to.join(', '), subject: headline(notice), text: notice.summary });
        return {
          ok: true,
          status: null,
          // without SMTP settings the Mailer writes the message to the server log instead
          body: `mail handed to the mailer for ${to.join(', ')}`,
          duration_ms: Math.round(performance.now() - started),
        };
      }
      return await this.post(this.#box.reveal(channel.config.url ?? ''), channel.kind, notice);
    } catch (error) {
      return failed(error);
    }
  }

  /** Sends with retries; answers the last delivery and reports each attempt. */
  async send(
    channel: Channel,
    notice: Notice,
    onAttempt: (attempt: number, delivery: Delivery) => Promise<void>,
  ): Promise<Delivery> {
    for (let attempt = 1; ; attempt += 1) {
      const delivery = await this.sendOnce(channel, notice);
      await onAttempt(attempt, delivery).catch((error: unknown) =>
        this.#logger.error({ err: error, channelId: channel.id }, 'alerts: could not record a delivery'),
      );
      const delay = this.#retryDelaysMs[attempt - 1];
      if (delivery.ok || delay === undefined) return delivery;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** A sample notice for a test send. */
  sample(rule = 'Test alert'): Notice {
    return {
      event: 'alert.test',
      alert_id: null,
      rule: { id: null, name: rule, kind: 'test' },
      severity: 'info',
      subject: 'test',
      subject_label: 'a sample alert',
      summary: 'This is a test notification from Fleetplane: the channel works.',
      at: this.#clock.now().toISOString(),
    };
  }
}

function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // fetch wraps the network error (ECONNREFUSED, a timeout) in `cause`
  const cause = (error as Error & { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}
