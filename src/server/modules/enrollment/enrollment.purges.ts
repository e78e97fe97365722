import type { ExpiryPurge } from '../housekeeping/housekeeping.purges.js';
import { deletedRows } from '../housekeeping/housekeeping.purges.js';

/** Enrollment tokens that can enroll nothing more: expired, or used as many times as they allow. */
export const enrollmentPurges: readonly ExpiryPurge[] = [
  {
    kind: 'enrollment_tokens',
    deleteExpired: async (db, now, limit) =>
      deletedRows(
        await db
          .deleteFrom('enrollment_tokens')
          .where('id', 'in', (eb) =>
            eb
              .selectFrom('enrollment_tokens')
              .select('id')
              .where((w) =>
                w.or([
                  w('expires_at', '<=', now),
                  w.and([w('max_uses', 'is not', null), w('uses', '>=', w.ref('max_uses'))]),
                ]),
              )
              .limit(limit),
          )
          .executeTakeFirst(),
      ),
  },
];
