import type { ExpressionBuilder } from 'kysely';
import { capsOf, type Executor } from '../../db/executor.js';
import type { DB, ScriptsTable, ScriptVersionsTable } from '../../db/schema.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import { containsText, hasJsonTag, unlessTaken } from '../../db/search.js';
import type { ParameterDefinition } from './scripts.schemas.js';

type ScriptRow = ScriptsTable;
type ScriptVersionRow = ScriptVersionsTable;

export interface Script extends Omit<ScriptRow, 'parameters' | 'tags'> {
  parameters: ParameterDefinition[];
  tags: string[];
}

export interface ScriptVersion extends Omit<ScriptVersionRow, 'parameters'> {
  parameters: ParameterDefinition[];
}

function decode(row: ScriptRow): Script {
  return {
    ...row,
    parameters: JSON.parse(row.parameters) as ParameterDefinition[],
    tags: JSON.parse(row.tags) as string[],
  };
}

function encode(script: Script): ScriptRow {
  return { ...script, parameters: JSON.stringify(script.parameters), tags: JSON.stringify(script.tags) };
}

function decodeVersion(row: ScriptVersionRow): ScriptVersion {
  return { ...row, parameters: JSON.parse(row.parameters) as ParameterDefinition[] };
}

export interface ScriptFilter {
  kind?: string;
  language?: string;
  tag?: string;
  text?: string;
}

export type ScriptChanges = Partial<Omit<Script, 'id' | 'org_id' | 'created_by' | 'created_at'>>;

function hasTag(eb: ExpressionBuilder<DB, 'scripts'>, tag: string) {
  return hasJsonTag(eb.ref('scripts.tags'), tag);
}

export const scriptsRepo = {
  /** False when the organisation already has a script of that name. */
  insert(db: Executor, script: Script): Promise<boolean> {
    return unlessTaken(db.insertInto('scripts').values(encode(script)).execute());
  },

  /** Scripts known to have free names (a new organisation's starter library), in one statement. */
  insertBatch(db: Executor, scripts: readonly Script[]): Promise<unknown> {
    return db.insertInto('scripts').values(scripts.map(encode)).execute();
  },

  async get(db: Executor, orgId: string, id: string): Promise<Script | undefined> {
    const row = await db
      .selectFrom('scripts')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decode(row);
  },

  /** Reads a script for a change; with row locks (PostgreSQL) a concurrent edit waits, so none is lost. */
  async lock(db: Executor, orgId: string, id: string): Promise<Script | undefined> {
    let q = db.selectFrom('scripts').selectAll().where('org_id', '=', orgId).where('id', '=', id);
    if (capsOf(db).rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && decode(row);
  },

  async list(db: Executor, orgId: string, filter: ScriptFilter, page: PageParams): Promise<Page<Script>> {
    let q = db.selectFrom('scripts').selectAll().where('org_id', '=', orgId);
    if (filter.kind) q = q.where('kind', '=', filter.kind);
    if (filter.language) q = q.where('language', '=', filter.language);
    const tag = filter.tag;
    if (tag) q = q.where((eb) => hasTag(eb, tag));
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
  update(db: Executor, orgId: string, id: string, changes: ScriptChanges): Promise<boolean> {
    const { parameters, tags, ...rest } = changes;
    const row: Partial<ScriptRow> = {
      ...rest,
      ...(parameters === undefined ? {} : { parameters: JSON.stringify(parameters) }),
      ...(tags === undefined ? {} : { tags: JSON.stringify(tags) }),
    };
    return unlessTaken(
      db.updateTable('scripts').set(row).where('org_id', '=', orgId).where('id', '=', id).execute(),
    );
  },

  /** Deletes the script; its versions go with it (on delete cascade). */
  remove(db: Executor, orgId: string, id: string): Promise<unknown> {
    return db.deleteFrom('scripts').where('org_id', '=', orgId).where('id', '=', id).execute();
  },

  insertVersion(db: Executor, version: ScriptVersion): Promise<unknown> {
    return scriptsRepo.insertVersionBatch(db, [version]);
  },

  insertVersionBatch(db: Executor, versions: readonly ScriptVersion[]): Promise<unknown> {
    return db
      .insertInto('script_versions')
      .values(versions.map((version) => ({ ...version, parameters: JSON.stringify(version.parameters) })))
      .execute();
  },

  /** A script's versions, newest first; the caller has checked the script's organisation. */
  async listVersions(db: Executor, scriptId: string, page: PageParams): Promise<Page<ScriptVersion>> {
    return mapPage(
      await paginate(
        db.selectFrom('script_versions').selectAll().where('script_id', '=', scriptId),
        'id',
        page,
      ),
      decodeVersion,
    );
  },

  async getVersion(db: Executor, scriptId: string, version: number): Promise<ScriptVersion | undefined> {
    const row = await db
      .selectFrom('script_versions')
      .selectAll()
      .where('script_id', '=', scriptId)
      .where('version', '=', version)
      .executeTakeFirst();
    return row && decodeVersion(row);
  },
};
