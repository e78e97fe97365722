import type { Executor } from '../../db/executor.js';
import type { SettingsTable } from '../../db/schema.js';

type SettingRow = SettingsTable;

/**
 * A setting: its value, or for a secret the sealed JSON of its value (the secret box, which
 * the service holds, opens it).
 */
export type Setting = Omit<SettingRow, 'value' | 'encrypted'> &
  ({ sealed: false; value: unknown } | { sealed: true; value: string });

function decode({ value, encrypted, ...rest }: SettingRow): Setting {
  return encrypted === 1
    ? { ...rest, sealed: true, value }
    : { ...rest, sealed: false, value: JSON.parse(value) as unknown };
}

function encode({ sealed, value, ...rest }: Setting): SettingRow {
  return { ...rest, value: sealed ? value : JSON.stringify(value), encrypted: sealed ? 1 : 0 };
}

export const settingsRepo = {
  async list(db: Executor, orgId: string, group?: string): Promise<Setting[]> {
    let q = db.selectFrom('settings').selectAll().where('org_id', '=', orgId);
    if (group) q = q.where('group_name', '=', group);
    return (await q.execute()).map(decode);
  },

  upsert(db: Executor, setting: Setting): Promise<unknown> {
    const row = encode(setting);
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
