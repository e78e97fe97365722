import type { Executor } from '../../db/executor.js';
import type { EnrollmentTokensTable } from '../../db/schema.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';

type EnrollmentTokenRow = EnrollmentTokensTable;

export interface EnrollmentToken extends Omit<EnrollmentTokenRow, 'default_tags'> {
  /** Given to agents enrolled with the token. */
  default_tags: string[];
}

function decode(row: EnrollmentTokenRow): EnrollmentToken {
  return { ...row, default_tags: JSON.parse(row.default_tags) as string[] };
}

export const enrollmentRepo = {
  insert(db: Executor, token: EnrollmentToken): Promise<unknown> {
    return db
      .insertInto('enrollment_tokens')
      .values({ ...token, default_tags: JSON.stringify(token.default_tags) })
      .execute();
  },

  async list(db: Executor, orgId: string, page: PageParams): Promise<Page<EnrollmentToken>> {
    return mapPage(
      await paginate(db.selectFrom('enrollment_tokens').selectAll().where('org_id', '=', orgId), 'id', page),
      decode,
    );
  },

  async get(db: Executor, orgId: string, id: string): Promise<EnrollmentToken | undefined> {
    const row = await db
      .selectFrom('enrollment_tokens')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decode(row);
  },

  async findByHash(db: Executor, tokenHash: string): Promise<EnrollmentToken | undefined> {
    const row = await db
      .selectFrom('enrollment_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return row && decode(row);
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
