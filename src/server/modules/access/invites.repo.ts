import type { Executor } from '../../db/executor.js';
import type { InvitesTable } from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';

export type InviteRow = InvitesTable;

export const invitesRepo = {
  insert(db: Executor, invite: InviteRow): Promise<unknown> {
    return db.insertInto('invites').values(invite).execute();
  },

  list(db: Executor, orgId: string, page: PageParams): Promise<Page<InviteRow>> {
    return paginate(db.selectFrom('invites').selectAll().where('org_id', '=', orgId), 'id', page);
  },

  get(db: Executor, orgId: string, id: string): Promise<InviteRow | undefined> {
    return db
      .selectFrom('invites')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  findByTokenHash(db: Executor, tokenHash: string): Promise<InviteRow | undefined> {
    return db.selectFrom('invites').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
  },

  async markAccepted(db: Executor, id: string, now: string): Promise<boolean> {
    const result = await db
      .updateTable('invites')
      .set({ accepted_at: now })
      .where('id', '=', id)
      .where('accepted_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  revoke(db: Executor, orgId: string, id: string, now: string): Promise<unknown> {
    return db
      .updateTable('invites')
      .set({ revoked_at: now })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .execute();
  },
};
