import { containsText } from '../../db/search.js';
import { capsOf, type Executor } from '../../db/executor.js';
import type { AuditEventsTable } from '../../db/schema.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';

type AuditRow = AuditEventsTable;

/** An audit event; `before` and `after` are the snapshots recorded with it, null when none. */
export interface AuditEvent extends Omit<AuditRow, 'before_json' | 'after_json'> {
  before: unknown;
  after: unknown;
}

export interface AuditFilter {
  from?: string;
  to?: string;
  actorId?: string;
  actorType?: string;
  action?: string;
  entityType?: string;
  entityId?: string;
  requestId?: string;
  text?: string;
}

function snapshotJson(value: unknown): string | null {
  return value == null ? null : JSON.stringify(value);
}

function decode({ before_json, after_json, ...rest }: AuditRow): AuditEvent {
  return {
    ...rest,
    before: before_json === null ? null : (JSON.parse(before_json) as unknown),
    after: after_json === null ? null : (JSON.parse(after_json) as unknown),
  };
}

/** 14 columns a row: 14,000 parameters a statement, under SQLite's 32,766. */
const EVENTS_PER_INSERT = 1000;

export const auditRepo = {
  insert(db: Executor, { before, after, ...event }: AuditEvent): Promise<unknown> {
    return db
      .insertInto('audit_events')
      .values({ ...event, before_json: snapshotJson(before), after_json: snapshotJson(after) })
      .execute();
  },

  /** Inserts events in chunks that keep each statement under the dialects' parameter limits. */
  async insertMany(db: Executor, events: readonly AuditEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += EVENTS_PER_INSERT)
      await db
        .insertInto('audit_events')
        .values(
          events.slice(i, i + EVENTS_PER_INSERT).map(({ before, after, ...event }) => ({
            ...event,
            before_json: snapshotJson(before),
            after_json: snapshotJson(after),
          })),
        )
        .execute();
  },

  async list(db: Executor, orgId: string, filter: AuditFilter, page: PageParams): Promise<Page<AuditEvent>> {
    let q = db.selectFrom('audit_events').selectAll().where('org_id', '=', orgId);
    if (filter.from) q = q.where('created_at', '>=', filter.from);
    if (filter.to) q = q.where('created_at', '<', filter.to);
    if (filter.actorId) q = q.where('actor_id', '=', filter.actorId);
    if (filter.actorType) q = q.where('actor_type', '=', filter.actorType);
    if (filter.action) q = q.where('action', '=', filter.action);
    if (filter.entityType) q = q.where('entity_type', '=', filter.entityType);
    if (filter.entityId) q = q.where('entity_id', '=', filter.entityId);
    if (filter.requestId) q = q.where('request_id', '=', filter.requestId);
    const text = filter.text;
    if (text) {
      const columns = ['actor_label', 'entity_type', 'entity_id', 'before_json', 'after_json'] as const;
      q = q.where((eb) =>
        containsText(
          columns.map((c) => eb.ref(c)),
          text,
          capsOf(db).ilike,
        ),
      );
    }
    return mapPage(await paginate(q, 'id', page), decode);
  },

  async get(db: Executor, orgId: string, id: string): Promise<AuditEvent | undefined> {
    const row = await db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decode(row);
  },
};
