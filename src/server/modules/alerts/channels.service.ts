import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/crypto.js';
import { AppError, type ErrorDetail } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { assertReachable, type OutboundRange } from '../../lib/outbound.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import { MASK } from '../../lib/secrets.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { ChannelConfig, ChannelCreateBody, ChannelKind, ChannelUpdateBody } from './alerts.schemas.js';
import { AuditedRows } from './audited-rows.js';
import type { Delivery, Notifier } from './notifier.js';
import { channelsRepo, type Channel } from './rules.repo.js';

export interface ChannelView {
  id: string;
  name: string;
  kind: ChannelKind;
  config: ChannelConfig;
  created_at: string;
  updated_at: string;
}

/** A URL as shown: its origin, the rest (paths and queries carry the tokens) masked. */
function maskedUrl(url: string): string {
  return URL.canParse(url) ? `${new URL(url).origin}/${MASK}` : MASK;
}

/**
 * Notification channels: where alerts are told. A webhook, Slack or Teams URL is a credential
 * (the token is in its path), so it is stored sealed and shown masked, as secret settings are.
 */
export class ChannelsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #channels: AuditedRows<Channel, ChannelView, Pick<Channel, 'name' | 'config' | 'updated_at'>>;
  readonly #box: SecretBox;
  readonly #notifier: Notifier;
  readonly #allowed: readonly OutboundRange[];

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    box: SecretBox;
    notifier: Notifier;
    allowed: readonly OutboundRange[];
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#box = deps.box;
    this.#notifier = deps.notifier;
    this.#allowed = deps.allowed;
    this.#channels = new AuditedRows({
      ...deps,
      repo: channelsRepo,
      entityType: 'notification_channel',
      view: (channel) => this.view(channel),
    });
  }

  view(channel: Channel): ChannelView {
    const { id, name, kind, created_at, updated_at } = channel;
    const url = channel.config.url;
    const config: ChannelConfig =
      kind === 'email' ? { to: channel.config.to ?? [] } : { url: maskedUrl(this.#box.reveal(url ?? '')) };
    return { id, name, kind, config, created_at, updated_at };
  }

  async create(ctx: RequestContext, input: ChannelCreateBody): Promise<ChannelView> {
    const config = await this.#checked(input.kind, input.config);
    const now = this.#clock.now().toISOString();
    const channel: Channel = {
      id: newId(),
      org_id: ctx.orgId,
      name: input.name.trim(),
      kind: input.kind,
      config,
      created_by: ctx.userId,
      created_at: now,
      updated_at: now,
    };
    return this.#channels.create(ctx, channel);
  }

  async list(orgId: string, page: PageParams): Promise<Page<ChannelView>> {
    return mapPage(await channelsRepo.list(this.#db, orgId, page), (c) => this.view(c));
  }

  async get(orgId: string, id: string): Promise<ChannelView> {
    return this.view(await this.#channels.get(this.#db, orgId, id));
  }

  async update(ctx: RequestContext, id: string, input: ChannelUpdateBody): Promise<ChannelView> {
    const current = await this.#channels.get(this.#db, ctx.orgId, id);
    const given = input.config;
    // A URL sent back as shown keeps the stored one: an edit of the name never needs the secret.
    const keep = given?.url !== undefined && given.url.includes(MASK);
    const config = given === undefined || keep ? current.config : await this.#checked(current.kind, given);
    const changes = {
      name: input.name?.trim() ?? current.name,
      config,
      updated_at: this.#clock.now().toISOString(),
    };
    return this.#channels.update(ctx, current, changes);
  }

  /** Deletes a channel; rules that named it stop telling it (a rule's unknown channels are skipped). */
  remove(ctx: RequestContext, id: string): Promise<void> {
    return this.#channels.remove(ctx, id);
  }

  /** Sends a sample through the channel once and answers what the receiver said (502 when unreachable). */
  async test(orgId: string, id: string): Promise<Delivery> {
    const channel = await this.#channels.get(this.#db, orgId, id);
    const notice = this.#notifier.sample(`Test of ${channel.name}`);
    if (channel.kind === 'email') return this.#notifier.sendOnce(channel, notice);
    return this.#notifier.post(this.#box.reveal(channel.config.url ?? ''), channel.kind, notice);
  }

  /** The config a kind takes, its URL checked reachable and sealed; one 422 for all problems. */
  async #checked(kind: ChannelKind, config: ChannelConfig): Promise<Channel['config']> {
    const details: ErrorDetail[] = [];
    if (kind === 'email') {
      if (!config.to) details.push({ field: 'config.to', message: 'required for an email channel' });
      if (config.url !== undefined)
        details.push({ field: 'config.url', message: 'not used by an email channel' });
      if (details.length > 0) throw notValid(details);
      return { to: config.to ?? [] };
    }
    if (config.to !== undefined)
      details.push({ field: 'config.to', message: `not used by a ${kind} channel` });
    if (config.url === undefined)
      details.push({ field: 'config.url', message: `required for a ${kind} channel` });
    if (details.length > 0 || config.url === undefined) throw notValid(details);
    await assertReachable(config.url, this.#allowed, 'config.url');
    return { url: this.#box.seal(config.url) };
  }
}

function notValid(details: ErrorDetail[]): AppError {
  return new AppError('unprocessable', 'the notification channel is not valid', { details });
}
