import type { RetentionPurge } from '../housekeeping/housekeeping.purges.js';
import { deletedRows } from '../housekeeping/housekeeping.purges.js';

/** Audit events past their organisation's retention (`logging.audit_retention_days`). */
export function auditPurge(retentionDays: RetentionPurge['retentionDays']): RetentionPurge {
  return {
    kind: 'audit_events',
    retentionDays,
    // Instance events (a failed login for an unknown email) belong to no organisation.
    orphans: true,
    deleteOlder: async (db, orgId, before, limit) =>
      deletedRows(
        await db
          .deleteFrom('audit_events')
          .where('id', 'in', (eb) =>
            eb
              .selectFrom('audit_events')
              .select('id')
              .where('org_id', orgId === null ? 'is' : '=', orgId)
              .where('created_at', '<', before)
              .limit(limit),
          )
          .executeTakeFirst(),
      ),
  };
}
