import type { Executor } from '../../db/executor.js';
import type { AlertRulesTable, NotificationChannelsTable, SilencesTable } from '../../db/schema.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import type { AgentSelector, ChannelKind, RuleKind, RuleParams, Severity } from './alerts.schemas.js';

/** A rule as stored, its JSON decoded. */
export interface Rule extends Omit<
  AlertRulesTable,
  'enabled' | 'kind' | 'params' | 'channel_ids' | 'severity'
> {
  enabled: boolean;
  kind: RuleKind;
  severity: Severity;
  params: RuleParams;
  channel_ids: string[];
}

/** A channel as stored: `config.url` sealed. */
export interface Channel extends Omit<NotificationChannelsTable, 'kind' | 'config'> {
  kind: ChannelKind;
  config: { url?: string; to?: string[] };
}

export interface Silence extends Omit<SilencesTable, 'selector'> {
  selector: AgentSelector | null;
}

function decodeRule(row: AlertRulesTable): Rule {
  return {
    ...row,
    enabled: row.enabled === 1,
    kind: row.kind as RuleKind,
    severity: row.severity as Severity,
    params: JSON.parse(row.params) as RuleParams,
    channel_ids: JSON.parse(row.channel_ids) as string[],
  };
}

function encodeRule<T extends Partial<Rule>>(rule: T) {
  const { enabled, params, channel_ids, ...rest } = rule;
  return {
    ...rest,
    ...(enabled === undefined ? {} : { enabled: enabled ? 1 : 0 }),
    ...(params === undefined ? {} : { params: JSON.stringify(params) }),
    ...(channel_ids === undefined ? {} : { channel_ids: JSON.stringify(channel_ids) }),
  };
}

function decodeChannel(row: NotificationChannelsTable): Channel {
  return { ...row, kind: row.kind as ChannelKind, config: JSON.parse(row.config) as Channel['config'] };
}

function decodeSilence(row: SilencesTable): Silence {
  return { ...row, selector: row.selector === null ? null : (JSON.parse(row.selector) as AgentSelector) };
}

function encodeSilence<T extends Partial<Silence>>(silence: T) {
  const { selector, ...rest } = silence;
  return {
    ...rest,
    ...(selector === undefined ? {} : { selector: selector === null ? null : JSON.stringify(selector) }),
  };
}

export const rulesRepo = {
  async insert(db: Executor, rule: Rule): Promise<void> {
    await db
      .insertInto('alert_rules')
      .values(encodeRule(rule) as AlertRulesTable)
      .execute();
  },

  async get(db: Executor, orgId: string, id: string): Promise<Rule | undefined> {
    const row = await db
      .selectFrom('alert_rules')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decodeRule(row);
  },

  async list(
    db: Executor,
    orgId: string,
    filter: { kind?: RuleKind; enabled?: boolean },
    page: PageParams,
  ): Promise<Page<Rule>> {
    let q = db.selectFrom('alert_rules').selectAll().where('org_id', '=', orgId);
    if (filter.kind) q = q.where('kind', '=', filter.kind);
    if (filter.enabled !== undefined) q = q.where('enabled', '=', filter.enabled ? 1 : 0);
    return mapPage(await paginate(q, 'id', page), decodeRule);
  },

  /** Every enabled rule of every organisation: what an evaluation pass works through. */
  async enabled(db: Executor): Promise<Rule[]> {
    const rows = await db
      .selectFrom('alert_rules')
      .selectAll()
      .where('enabled', '=', 1)
      .orderBy('id')
      .execute();
    return rows.map(decodeRule);
  },

  async update(db: Executor, orgId: string, id: string, changes: Partial<Rule>): Promise<void> {
    await db
      .updateTable('alert_rules')
      .set(encodeRule(changes))
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .execute();
  },

  async remove(db: Executor, orgId: string, id: string): Promise<void> {
    await db.deleteFrom('alert_rules').where('org_id', '=', orgId).where('id', '=', id).execute();
  },
};

export const channelsRepo = {
  async insert(db: Executor, channel: Channel): Promise<void> {
    await db
      .insertInto('notification_channels')
      .values({ ...channel, config: JSON.stringify(channel.config) })
      .execute();
  },

  async get(db: Executor, orgId: string, id: string): Promise<Channel | undefined> {
    const row = await db
      .selectFrom('notification_channels')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decodeChannel(row);
  },

  /** The organisation's channels among these ids (a rule's), in one read. */
  async many(db: Executor, orgId: string, ids: readonly string[]): Promise<Channel[]> {
    if (ids.length === 0) return [];
    const rows = await db
      .selectFrom('notification_channels')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', 'in', [...ids])
      .execute();
    return rows.map(decodeChannel);
  },

  async list(db: Executor, orgId: string, page: PageParams): Promise<Page<Channel>> {
    const q = db.selectFrom('notification_channels').selectAll().where('org_id', '=', orgId);
    return mapPage(await paginate(q, 'id', page), decodeChannel);
  },

  async update(
    db: Executor,
    orgId: string,
    id: string,
    changes: Pick<Channel, 'name' | 'config' | 'updated_at'>,
  ) {
    await db
      .updateTable('notification_channels')
      .set({ ...changes, config: JSON.stringify(changes.config) })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .execute();
  },

  async remove(db: Executor, orgId: string, id: string): Promise<void> {
    await db.deleteFrom('notification_channels').where('org_id', '=', orgId).where('id', '=', id).execute();
  },
};

export type SilenceState = 'pending' | 'active' | 'expired';

export const silencesRepo = {
  async insert(db: Executor, silence: Silence): Promise<void> {
    await db.insertInto('silences').values(encodeSilence(silence)).execute();
  },

  async get(db: Executor, orgId: string, id: string): Promise<Silence | undefined> {
    const row = await db
      .selectFrom('silences')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decodeSilence(row);
  },

  async list(db: Executor, orgId: string, state: SilenceState | undefined, now: string, page: PageParams) {
    let q = db.selectFrom('silences').selectAll().where('org_id', '=', orgId);
    if (state === 'expired') q = q.where('ends_at', '<=', now);
    if (state === 'active') q = q.where('starts_at', '<=', now).where('ends_at', '>', now);
    if (state === 'pending') q = q.where('starts_at', '>', now);
    return mapPage(await paginate(q, 'id', page), decodeSilence);
  },

  /** The organisation's silences in force now. */
  async active(db: Executor, orgId: string, now: string): Promise<Silence[]> {
    const rows = await db
      .selectFrom('silences')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('starts_at', '<=', now)
      .where('ends_at', '>', now)
      .execute();
    return rows.map(decodeSilence);
  },

  async update(db: Executor, orgId: string, id: string, changes: Partial<Silence>): Promise<void> {
    await db
      .updateTable('silences')
      .set(encodeSilence(changes))
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .execute();
  },

  async remove(db: Executor, orgId: string, id: string): Promise<void> {
    await db.deleteFrom('silences').where('org_id', '=', orgId).where('id', '=', id).execute();
  },
};
