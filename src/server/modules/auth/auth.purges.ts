import type { ExpiryPurge } from '../housekeeping/housekeeping.purges.js';
import { deletedRows } from '../housekeeping/housekeeping.purges.js';

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
  {
    kind: 'sessions',
    deleteExpired: async (db, now, limit) =>
      deletedRows(
        await db
          .deleteFrom('sessions')
          .where('id', 'in', (eb) =>
            eb.selectFrom('sessions').select('id').where('expires_at', '<=', now).limit(limit),
          )
          .executeTakeFirst(),
      ),
  },
  {
    kind: 'password_resets',
    deleteExpired: async (db, now, limit) =>
      deletedRows(
        await db
          .deleteFrom('password_resets')
          .where('id', 'in', (eb) =>
            eb.selectFrom('password_resets').select('id').where('expires_at', '<=', now).limit(limit),
          )
          .executeTakeFirst(),
      ),
  },
  {
    kind: 'sdk_devices',
    deleteExpired: async (db, now, limit) =>
      deletedRows(
        await db
          .deleteFrom('sdk_devices')
          .where('id', 'in', (eb) =>
            eb.selectFrom('sdk_devices').select('id').where('expires_at', '<=', now).limit(limit),
          )
          .executeTakeFirst(),
      ),
  },
];
