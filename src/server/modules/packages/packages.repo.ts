import { capsOf, type Executor } from '../../db/executor.js';
import type { PackagesTable } from '../../db/schema.js';
import { containsText, unlessTaken } from '../../db/search.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import type { EntryPoint } from './packages.schemas.js';

export interface Package extends Omit<PackagesTable, 'size' | 'manifest' | 'entry_points' | 'active'> {
  size: number;
  manifest: Record<string, unknown>;
  entry_points: EntryPoint[];
  active: boolean;
}

function decode(row: PackagesTable): Package {
  return {
    ...row,
    // bigint comes back as text on PostgreSQL
    size: Number(row.size),
    manifest: JSON.parse(row.manifest) as Record<string, unknown>,
    entry_points: JSON.parse(row.entry_points) as EntryPoint[],
    active: row.active === 1,
  };
}

function encode(pkg: Package): PackagesTable {
  return {
    ...pkg,
    manifest: JSON.stringify(pkg.manifest),
    entry_points: JSON.stringify(pkg.entry_points),
    active: pkg.active ? 1 : 0,
  };
}

export interface PackageFilter {
  name?: string;
  text?: string;
  active?: boolean;
}

export const packagesRepo = {
  /** False when the organisation already has this name and version. */
  insert(db: Executor, pkg: Package): Promise<boolean> {
    return unlessTaken(db.insertInto('packages').values(encode(pkg)).execute());
  },

  async exists(db: Executor, orgId: string, name: string, version: string): Promise<boolean> {
    const row = await db
      .selectFrom('packages')
      .select('id')
      .where('org_id', '=', orgId)
      .where('name', '=', name)
      .where('version', '=', version)
      .executeTakeFirst();
    return row !== undefined;
  },

  async get(db: Executor, orgId: string, id: string): Promise<Package | undefined> {
    const row = await db
      .selectFrom('packages')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decode(row);
  },

  /** Reads a package for a change; with row locks (PostgreSQL) a concurrent change waits. */
  async lock(db: Executor, orgId: string, id: string): Promise<Package | undefined> {
    let q = db.selectFrom('packages').selectAll().where('org_id', '=', orgId).where('id', '=', id);
    if (capsOf(db).rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && decode(row);
  },

  async byVersion(db: Executor, orgId: string, name: string, version: string): Promise<Package | undefined> {
    const row = await db
      .selectFrom('packages')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('name', '=', name)
      .where('version', '=', version)
      .executeTakeFirst();
    return row && decode(row);
  },

  /** The active versions of a package name, in no particular order: semver order is the service's. */
  async activeVersions(db: Executor, orgId: string, name: string): Promise<Package[]> {
    const rows = await db
      .selectFrom('packages')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('name', '=', name)
      .where('active', '=', 1)
      .execute();
    return rows.map(decode);
  },

  async list(db: Executor, orgId: string, filter: PackageFilter, page: PageParams): Promise<Page<Package>> {
    let q = db.selectFrom('packages').selectAll().where('org_id', '=', orgId);
    if (filter.name) q = q.where('name', '=', filter.name);
    if (filter.active !== undefined) q = q.where('active', '=', filter.active ? 1 : 0);
    const text = filter.text;
    if (text)
      q = q.where((eb) =>
        containsText(
          (['name', 'description'] as const).map((c) => eb.ref(c)),
          text,
          capsOf(db).ilike,
        ),
      );
    return mapPage(await paginate(q, 'id', page), decode);
  },

  setActive(db: Executor, orgId: string, id: string, active: boolean, updatedAt: string): Promise<unknown> {
    return db
      .updateTable('packages')
      .set({ active: active ? 1 : 0, updated_at: updatedAt })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .execute();
  },

  remove(db: Executor, orgId: string, id: string): Promise<unknown> {
    return db.deleteFrom('packages').where('org_id', '=', orgId).where('id', '=', id).execute();
  },

  /** Whether a package of any organisation is stored as this blob. */
  async hashInUse(db: Executor, hash: string): Promise<boolean> {
    const row = await db.selectFrom('packages').select('id').where('hash', '=', hash).executeTakeFirst();
    return row !== undefined;
  },

  /** Whether a package of this organisation is stored as this blob. */
  async orgHasHash(db: Executor, orgId: string, hash: string): Promise<boolean> {
    const row = await db
      .selectFrom('packages')
      .select('id')
      .where('org_id', '=', orgId)
      .where('hash', '=', hash)
      .executeTakeFirst();
    return row !== undefined;
  },
};
