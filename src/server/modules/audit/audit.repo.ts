import { containsText } from '../../db/search.js';
import type { Executor } from '../../db/executor.js';
import type { AuditEventsTable } from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';

export type AuditRow = AuditEventsTable;

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

export const auditRepo = {
  insert(db: Executor, event: AuditRow): Promise<unknown> {
    return db.insertInto('audit_events').values(event).execute();
  },

  list(
    db: Executor,
    orgId: string,
    filter: AuditFilter,
    page: PageParams,
    like: 'like' | 'ilike',
  ): Promise<Page<AuditRow>> {
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
          like,
        ),
      );
    }
    return paginate(q, 'id', page);
  },

  get(db: Executor, orgId: string, id: string): Promise<AuditRow | undefined> {
    return db
      .selectFrom('audit_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
  },
};
