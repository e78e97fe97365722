import type { Executor } from '../../db/executor.js';
import type { EnrollmentTokensTable } from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';

export type EnrollmentTokenRow = EnrollmentTokensTable;

export const enrollmentRepo = {
  insert(db: Executor, token: EnrollmentTokenRow): Promise<unknown> {
    return db.insertInto('enrollment_tokens').values(token).execute();
  },

  list(db: Executor, orgId: string, page: PageParams): Promise<Page<EnrollmentTokenRow>> {
    return paginate(db.selectFrom('enrollment_tokens').selectAll().where('org_id', '=', orgId), 'id', page);
  },

  get(db: Executor, orgId: string, id: string): Promise<EnrollmentTokenRow | undefined> {
    return db
      .selectFrom('enrollment_tokens')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  findByHash(db: Executor, tokenHash: string): Promise<EnrollmentTokenRow | undefined> {
    return db
      .selectFrom('enrollment_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
  },

  /**
   * Spends one use, only while the token is usable: the check and the increment are one
   * conditional UPDATE, so concurrent registrations never exceed max_uses.
   */
  async consume(db: Executor, id: string, now: string): Promise<boolean> {
    const result = await db
      .updateTable('enrollment_tokens')
      .set((eb) => ({ uses: eb('uses', '+', 1) }))
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
      .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  revoke(db: Executor, orgId: string, id: string, now: string): Promise<unknown> {
    return db
      .updateTable('enrollment_tokens')
      .set({ revoked_at: now })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  },
};
