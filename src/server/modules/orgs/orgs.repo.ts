import type { Executor } from '../../db/executor.js';
import type { OrgsTable } from '../../db/schema.js';

type OrgRow = OrgsTable;

export interface Org extends Omit<OrgRow, 'is_primary'> {
  /** The first organisation of the instance: its settings are the instance's. */
  is_primary: boolean;
}

function decode(row: OrgRow): Org {
  return { ...row, is_primary: row.is_primary === 1 };
}

export const orgsRepo = {
  insert(db: Executor, org: Org): Promise<unknown> {
    return db
      .insertInto('orgs')
      .values({ ...org, is_primary: org.is_primary ? 1 : 0 })
      .execute();
  },

  async get(db: Executor, id: string): Promise<Org | undefined> {
    const row = await db.selectFrom('orgs').selectAll().where('id', '=', id).executeTakeFirst();
    return row && decode(row);
  },

  async primary(db: Executor): Promise<Org | undefined> {
    const row = await db.selectFrom('orgs').selectAll().where('is_primary', '=', 1).executeTakeFirst();
    return row && decode(row);
  },

  rename(db: Executor, id: string, name: string, now: string): Promise<unknown> {
    return db.updateTable('orgs').set({ name, updated_at: now }).where('id', '=', id).execute();
  },

  async listForUser(db: Executor, userId: string): Promise<Org[]> {
    const rows = await db
      .selectFrom('orgs')
      .innerJoin('memberships', 'memberships.org_id', 'orgs.id')
      .selectAll('orgs')
      .where('memberships.user_id', '=', userId)
      .orderBy('orgs.id')
      .execute();
    return rows.map(decode);
  },

  async ids(db: Executor): Promise<string[]> {
    return (await db.selectFrom('orgs').select('id').orderBy('id').execute()).map((row) => row.id);
  },

  async count(db: Executor): Promise<number> {
    const row = await db
      .selectFrom('orgs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },
};
