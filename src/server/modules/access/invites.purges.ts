import type { ExpiryPurge } from '../housekeeping/housekeeping.purges.js';
import { deletedRows } from '../housekeeping/housekeeping.purges.js';

/** Invites that expired unaccepted; an accepted one stays, as the record of who joined through whom. */
export const invitePurges: readonly ExpiryPurge[] = [
  {
    kind: 'invites',
    deleteExpired: async (db, now, limit) =>
      deletedRows(
        await db
          .deleteFrom('invites')
          .where('id', 'in', (eb) =>
            eb
              .selectFrom('invites')
              .select('id')
              .where('expires_at', '<=', now)
              .where('accepted_at', 'is', null)
              .limit(limit),
          )
          .executeTakeFirst(),
      ),
  },
];
