import type { ExpiryPurge } from '../housekeeping/housekeeping.purges.js';
import { deletedRows } from '../housekeeping/housekeeping.purges.js';

/** Rows of `table` whose `expires_at` has passed, counted under the table's name. */
function expiredRows(table: 'sessions' | 'password_resets' | 'sdk_devices'): ExpiryPurge {
  return {
    kind: table,
    deleteExpired: async (db, now, limit) =>
      deletedRows(
        await db
          .deleteFrom(table)
          .where('id', 'in', (eb) =>
            eb.selectFrom(table).select('id').where('expires_at', '<=', now).limit(limit),
          )
          .executeTakeFirst(),
      ),
  };
}

/**
 * Expired sessions, with their refresh tokens, and expired password resets and SDK device codes.
 * A used refresh token is kept while its session lives: presenting it again is how reuse is caught.
 * The refresh tokens go first, so each is counted rather than cascaded away with its session.
 */
export const authPurges: readonly ExpiryPurge[] = [
  {
    kind: 'refresh_tokens',
    deleteExpired: async (db, now, limit) =>
      deletedRows(
        await db
          .deleteFrom('refresh_tokens')
          .where('id', 'in', (eb) =>
            eb
              .selectFrom('refresh_tokens as r')
              .innerJoin('sessions as s', 's.id', 'r.session_id')
              .select('r.id')
              .where('s.expires_at', '<=', now)
              .limit(limit),
          )
          .executeTakeFirst(),
      ),
  },
  expiredRows('sessions'),
  expiredRows('password_resets'),
  expiredRows('sdk_devices'),
];
