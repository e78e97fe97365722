import type { ExpressionBuilder } from 'kysely';
import type { Executor } from '../../db/executor.js';
import type { DB, ScriptsTable, ScriptVersionsTable } from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';
import { containsText, hasJsonTag, unlessTaken } from '../../db/search.js';

export type ScriptRow = ScriptsTable;
export type ScriptVersionRow = ScriptVersionsTable;

export interface ScriptFilter {
  kind?: string;
  language?: string;
  tag?: string;
  text?: string;
}

export type ScriptChanges = Partial<Omit<ScriptRow, 'id' | 'org_id' | 'created_by' | 'created_at'>>;

function hasTag(eb: ExpressionBuilder<DB, 'scripts'>, tag: string) {
  return hasJsonTag(eb.ref('scripts.tags'), tag);
}

export const scriptsRepo = {
  /** False when the organisation already has a script of that name. */
  insert(db: Executor, row: ScriptRow): Promise<boolean> {
    return unlessTaken(db.insertInto('scripts').values(row).execute());
  },

  get(db: Executor, orgId: string, id: string): Promise<ScriptRow | undefined> {
    return db
      .selectFrom('scripts')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  /** Reads a script for a change; with row locks (PostgreSQL) a concurrent edit waits, so none is lost. */
  lock(db: Executor, orgId: string, id: string, rowLocks: boolean): Promise<ScriptRow | undefined> {
    let q = db.selectFrom('scripts').selectAll().where('org_id', '=', orgId).where('id', '=', id);
    if (rowLocks) q = q.forUpdate();
    return q.executeTakeFirst();
  },

  list(
    db: Executor,
    orgId: string,
    filter: ScriptFilter,
    page: PageParams,
    like: 'like' | 'ilike',
  ): Promise<Page<ScriptRow>> {
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
          like,
        ),
      );
    return paginate(q, 'id', page);
  },

  /** False when a rename takes a name the organisation already uses. */
  update(db: Executor, orgId: string, id: string, changes: ScriptChanges): Promise<boolean> {
    return unlessTaken(
      db.updateTable('scripts').set(changes).where('org_id', '=', orgId).where('id', '=', id).execute(),
    );
  },

  /** Deletes the script; its versions go with it (on delete cascade). */
  remove(db: Executor, orgId: string, id: string): Promise<unknown> {
    return db.deleteFrom('scripts').where('org_id', '=', orgId).where('id', '=', id).execute();
  },

  insertVersion(db: Executor, row: ScriptVersionRow): Promise<unknown> {
    return db.insertInto('script_versions').values(row).execute();
  },

  /** A script's versions, newest first; the caller has checked the script's organisation. */
  listVersions(db: Executor, scriptId: string, page: PageParams): Promise<Page<ScriptVersionRow>> {
    return paginate(
      db.selectFrom('script_versions').selectAll().where('script_id', '=', scriptId),
      'id',
      page,
    );
  },

  getVersion(db: Executor, scriptId: string, version: number): Promise<ScriptVersionRow | undefined> {
    return db
      .selectFrom('script_versions')
      .selectAll()
      .where('script_id', '=', scriptId)
      .where('version', '=', version)
      .executeTakeFirst();
  },
};
