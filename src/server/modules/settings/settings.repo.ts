import type { Executor } from '../../db/executor.js';
import type { SettingsTable } from '../../db/schema.js';

export type SettingRow = SettingsTable;

export const settingsRepo = {
  list(db: Executor, orgId: string, group?: string): Promise<SettingRow[]> {
    let q = db.selectFrom('settings').selectAll().where('org_id', '=', orgId);
    if (group) q = q.where('group_name', '=', group);
    return q.execute();
  },

  upsert(db: Executor, row: SettingRow): Promise<unknown> {
    return db
      .insertInto('settings')
      .values(row)
      .onConflict((oc) =>
        oc.columns(['org_id', 'group_name', 'key']).doUpdateSet({
          value: row.value,
          encrypted: row.encrypted,
          updated_at: row.updated_at,
          updated_by: row.updated_by,
        }),
      )
      .execute();
  },
};
