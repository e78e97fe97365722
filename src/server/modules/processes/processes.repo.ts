import { capsOf, type Executor } from '../../db/executor.js';
import type { ProcessesTable, ProcessVersionsTable } from '../../db/schema.js';
import { containsText, unlessTaken } from '../../db/search.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import type { ProcessInput } from './processes.schemas.js';

export interface Process extends Omit<ProcessesTable, 'default_input' | 'assets'> {
  default_input: ProcessInput;
  assets: string[];
}

export interface ProcessVersion extends Omit<ProcessVersionsTable, 'default_input' | 'assets'> {
  default_input: ProcessInput;
  assets: string[];
}

export interface ProcessFilter {
  packageName?: string;
  text?: string;
}

export type ProcessChanges = Partial<Omit<Process, 'id' | 'org_id' | 'created_by' | 'created_at'>>;

function decode(row: ProcessesTable): Process {
  return {
    ...row,
    default_input: JSON.parse(row.default_input) as ProcessInput,
    assets: JSON.parse(row.assets) as string[],
  };
}

function encode(process: Process): ProcessesTable {
  return {
    ...process,
    default_input: JSON.stringify(process.default_input),
    assets: JSON.stringify(process.assets),
  };
}

function decodeVersion(row: ProcessVersionsTable): ProcessVersion {
  return {
    ...row,
    default_input: JSON.parse(row.default_input) as ProcessInput,
    assets: JSON.parse(row.assets) as string[],
  };
}

export const processesRepo = {
  /** False when the organisation already has a process of that name. */
  insert(db: Executor, process: Process): Promise<boolean> {
    return unlessTaken(db.insertInto('processes').values(encode(process)).execute());
  },

  async get(db: Executor, orgId: string, id: string): Promise<Process | undefined> {
    const row = await db
      .selectFrom('processes')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decode(row);
  },

  /** Reads a process for a change; with row locks (PostgreSQL) a concurrent edit waits, so none is lost. */
  async lock(db: Executor, orgId: string, id: string): Promise<Process | undefined> {
    let q = db.selectFrom('processes').selectAll().where('org_id', '=', orgId).where('id', '=', id);
    if (capsOf(db).rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && decode(row);
  },

  async list(db: Executor, orgId: string, filter: ProcessFilter, page: PageParams): Promise<Page<Process>> {
    let q = db.selectFrom('processes').selectAll().where('org_id', '=', orgId);
    if (filter.packageName) q = q.where('package_name', '=', filter.packageName);
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

  /** False when a rename takes a name the organisation already uses. */
  update(db: Executor, orgId: string, id: string, changes: ProcessChanges): Promise<boolean> {
    const { default_input, assets, ...rest } = changes;
    const row: Partial<ProcessesTable> = {
      ...rest,
      ...(default_input === undefined ? {} : { default_input: JSON.stringify(default_input) }),
      ...(assets === undefined ? {} : { assets: JSON.stringify(assets) }),
    };
    return unlessTaken(
      db.updateTable('processes').set(row).where('org_id', '=', orgId).where('id', '=', id).execute(),
    );
  },

  /** Deletes the process; its versions go with it (on delete cascade). */
  remove(db: Executor, orgId: string, id: string): Promise<unknown> {
    return db.deleteFrom('processes').where('org_id', '=', orgId).where('id', '=', id).execute();
  },

  /** The processes pinned to a package row, for the packages service's delete. */
  pinnedTo(db: Executor, orgId: string, packageId: string): Promise<{ id: string; name: string }[]> {
    return db
      .selectFrom('processes')
      .select(['id', 'name'])
      .where('org_id', '=', orgId)
      .where('package_id', '=', packageId)
      .orderBy('id')
      .execute();
  },

  insertVersion(db: Executor, version: ProcessVersion): Promise<unknown> {
    return db
      .insertInto('process_versions')
      .values({
        ...version,
        default_input: JSON.stringify(version.default_input),
        assets: JSON.stringify(version.assets),
      })
      .execute();
  },

  /** A process's versions, newest first; the caller has checked the process's organisation. */
  async listVersions(db: Executor, processId: string, page: PageParams): Promise<Page<ProcessVersion>> {
    return mapPage(
      await paginate(
        db.selectFrom('process_versions').selectAll().where('process_id', '=', processId),
        'id',
        page,
      ),
      decodeVersion,
    );
  },

  async getVersion(db: Executor, processId: string, version: number): Promise<ProcessVersion | undefined> {
    const row = await db
      .selectFrom('process_versions')
      .selectAll()
      .where('process_id', '=', processId)
      .where('version', '=', version)
      .executeTakeFirst();
    return row && decodeVersion(row);
  },
};
