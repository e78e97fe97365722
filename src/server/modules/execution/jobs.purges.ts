import type { RetentionPurge } from '../housekeeping/housekeeping.purges.js';
import { deletedRows } from '../housekeeping/housekeeping.purges.js';

/**
 * The output of jobs that finished before the organisation's retention (`jobs.output_retention_days`).
 * A job still running keeps all of its output, however old its first lines; the job row itself
 * (status, exit code, times) stays in the history.
 */
export function jobOutputPurge(retentionDays: RetentionPurge['retentionDays']): RetentionPurge {
  return {
    kind: 'job_output',
    retentionDays,
    orphans: false,
    deleteOlder: async (db, orgId, before, limit) => {
      if (orgId === null) return 0;
      const result = await db
        .deleteFrom('job_output')
        .where((eb) =>
          eb(
            eb.refTuple('job_id', 'attempt', 'seq'),
            'in',
            eb
              .selectFrom('job_output as o')
              .innerJoin('jobs as j', 'j.id', 'o.job_id')
              .select(['o.job_id', 'o.attempt', 'o.seq'])
              // output is written before its job finishes: the old range is all there is to read
              .where('o.created_at', '<', before)
              .where('j.org_id', '=', orgId)
              .where('j.finished_at', '<', before)
              .limit(limit)
              .$asTuple('job_id', 'attempt', 'seq'),
          ),
        )
        .executeTakeFirst();
      return deletedRows(result);
    },
  };
}
