import type { Executor } from '../../db/executor.js';
import type { OrgsTable } from '../../db/schema.js';

export type OrgRow = OrgsTable;

export const orgsRepo = {
  insert(db: Executor, org: OrgRow): Promise<unknown> {
    return db.insertInto('orgs').values(org).execute();
  },

  get(db: Executor, id: string): Promise<OrgRow | undefined> {
    return db.selectFrom('orgs').selectAll().where('id', '=', id).executeTakeFirst();
  },

  primary(db: Executor): Promise<OrgRow | undefined> {
    return db.selectFrom('orgs').selectAll().where('is_primary', '=', 1).executeTakeFirst();
  },

  rename(db: Executor, id: string, name: string, now: string): Promise<unknown> {
    return db.updateTable('orgs').set({ name, updated_at: now }).where('id', '=', id).execute();
  },

  listForUser(db: Executor, userId: string): Promise<OrgRow[]> {
    return db
      .selectFrom('orgs')
      .innerJoin('memberships', 'memberships.org_id', 'orgs.id')
      .selectAll('orgs')
      .where('memberships.user_id', '=', userId)
      .orderBy('orgs.id')
      .execute();
  },

  async count(db: Executor): Promise<number> {
    const row = await db
      .selectFrom('orgs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },
};
