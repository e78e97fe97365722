import { capsOf, type Executor } from '../../db/executor.js';
import type { AssetsTable, AssetValuesTable } from '../../db/schema.js';
import { containsText, unlessTaken } from '../../db/search.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import { isAssetType, type AssetType } from './assets.values.js';

export interface Asset extends Omit<AssetsTable, 'type'> {
  type: AssetType;
}

/** A stored value, still sealed: only the service holds the key. */
export type AssetValueRow = AssetValuesTable;

/** An asset with its global value (sealed) and how many robots have one of their own. */
export interface AssetSummary extends Asset {
  global_value: string | null;
  global_updated_at: string | null;
  robot_value_count: number;
}

/** A value a job may receive: the asset's name and type, and the value for a robot or the global one. */
export interface OpenableValue {
  asset_id: string;
  name: string;
  type: AssetType;
  robot_id: string | null;
  value: string | null;
}

export interface AssetFilter {
  type?: AssetType;
  text?: string;
}

function decodeType<T extends { type: string }>(row: T): T & { type: AssetType } {
  if (!isAssetType(row.type)) throw new Error(`asset of unknown type ${row.type}`);
  return row as T & { type: AssetType };
}

export const assetsRepo = {
  /** False when the organisation already has an asset of that name. */
  insert(db: Executor, asset: Asset): Promise<boolean> {
    return unlessTaken(db.insertInto('assets').values(asset).execute());
  },

  async get(db: Executor, orgId: string, id: string): Promise<Asset | undefined> {
    const row = await db
      .selectFrom('assets')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decodeType(row);
  },

  /** Reads an asset for a change; with row locks (PostgreSQL) concurrent value writes wait their turn. */
  async lock(db: Executor, orgId: string, id: string): Promise<Asset | undefined> {
    let q = db.selectFrom('assets').selectAll().where('org_id', '=', orgId).where('id', '=', id);
    if (capsOf(db).rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && decodeType(row);
  },

  async list(
    db: Executor,
    orgId: string,
    filter: AssetFilter,
    page: PageParams,
  ): Promise<Page<AssetSummary>> {
    let q = db
      .selectFrom('assets')
      .leftJoin('asset_values as global', (join) =>
        join.onRef('global.asset_id', '=', 'assets.id').on('global.robot_id', 'is', null),
      )
      .selectAll('assets')
      .select(['global.value as global_value', 'global.updated_at as global_updated_at'])
      .select((eb) =>
        eb
          .selectFrom('asset_values as own')
          .select(eb.fn.countAll<number | string>().as('n'))
          .whereRef('own.asset_id', '=', 'assets.id')
          .where('own.robot_id', 'is not', null)
          .as('robot_value_count'),
      )
      .where('assets.org_id', '=', orgId);
    if (filter.type) q = q.where('assets.type', '=', filter.type);
    const text = filter.text;
    if (text)
      q = q.where((eb) =>
        containsText([eb.ref('assets.name'), eb.ref('assets.description')], text, capsOf(db).ilike),
      );
    return mapPage(await paginate(q, 'assets.id', page), (row) => ({
      ...decodeType(row),
      // PostgreSQL counts in bigint, which the driver hands over as text.
      robot_value_count: Number(row.robot_value_count ?? 0),
    }));
  },

  /** False when a rename takes a name the organisation already uses. */
  update(
    db: Executor,
    orgId: string,
    id: string,
    changes: Partial<Pick<Asset, 'name' | 'description' | 'updated_at'>>,
  ): Promise<boolean> {
    return unlessTaken(
      db.updateTable('assets').set(changes).where('org_id', '=', orgId).where('id', '=', id).execute(),
    );
  },

  /** Deletes the asset; its values go with it (on delete cascade). */
  remove(db: Executor, orgId: string, id: string): Promise<unknown> {
    return db.deleteFrom('assets').where('org_id', '=', orgId).where('id', '=', id).execute();
  },

  /** Every value of an asset whose organisation the caller checked, in no particular order. */
  values(db: Executor, assetId: string): Promise<AssetValueRow[]> {
    return db.selectFrom('asset_values').selectAll().where('asset_id', '=', assetId).execute();
  },

  value(db: Executor, assetId: string, robotId: string | null): Promise<AssetValueRow | undefined> {
    return db
      .selectFrom('asset_values')
      .selectAll()
      .where('asset_id', '=', assetId)
      .where('robot_id', robotId === null ? 'is' : '=', robotId)
      .executeTakeFirst();
  },

  /** Writes the one value for (asset, robot); the caller holds the asset's lock, so no insert races. */
  async putValue(db: Executor, row: AssetValueRow): Promise<void> {
    const updated = await db
      .updateTable('asset_values')
      .set({ value: row.value, updated_by: row.updated_by, updated_at: row.updated_at })
      .where('asset_id', '=', row.asset_id)
      .where('robot_id', row.robot_id === null ? 'is' : '=', row.robot_id)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) await db.insertInto('asset_values').values(row).execute();
  },

  /** True when there was a value to delete. */
  async removeValue(db: Executor, assetId: string, robotId: string): Promise<boolean> {
    const deleted = await db
      .deleteFrom('asset_values')
      .where('asset_id', '=', assetId)
      .where('robot_id', '=', robotId)
      .executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  },

  /**
   * The named assets of an organisation, each with the robot's value and the global one (two
   * rows when both exist; one row with a null value when neither does).
   */
  async openable(
    db: Executor,
    orgId: string,
    names: readonly string[],
    robotId: string | null,
  ): Promise<OpenableValue[]> {
    const rows = await db
      .selectFrom('assets')
      .leftJoin('asset_values', (join) =>
        join
          .onRef('asset_values.asset_id', '=', 'assets.id')
          .on((eb) =>
            robotId === null
              ? eb('asset_values.robot_id', 'is', null)
              : eb.or([eb('asset_values.robot_id', 'is', null), eb('asset_values.robot_id', '=', robotId)]),
          ),
      )
      .select([
        'assets.id as asset_id',
        'assets.name',
        'assets.type',
        'asset_values.robot_id',
        'asset_values.value',
      ])
      .where('assets.org_id', '=', orgId)
      .where('assets.name', 'in', [...names])
      .execute();
    return rows.map(decodeType);
  },
};
