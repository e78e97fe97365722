import { capsOf, type Executor } from '../../db/executor.js';
import type { ServicesTable } from '../../db/schema.js';
import { containsText, unlessTaken } from '../../db/search.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import type { Rollout, ServiceRunsOn, ServiceSource } from './services.schemas.js';

/** A service as stored, its JSON columns decoded; env values under secret names and secret_env sealed. */
export interface Service extends Omit<
  ServicesTable,
  'steps' | 'runs_on' | 'rollout' | 'env' | 'secret_env' | 'config_schema' | 'source'
> {
  steps: string[];
  runs_on: ServiceRunsOn;
  rollout: Rollout;
  env: Record<string, string>;
  secret_env: Record<string, string>;
  config_schema: Record<string, unknown> | null;
  source: ServiceSource;
}

export interface ServiceFilter {
  search?: string;
  source?: ServiceSource;
}

/** Who holds a service name: a service made through the API, or a directory folder. */
export type NameHolder = Pick<Service, 'name' | 'source' | 'folder'>;

export type ServiceChanges = Omit<Service, 'id' | 'org_id' | 'created_by' | 'created_at'>;

function decode(row: ServicesTable): Service {
  return {
    ...row,
    steps: JSON.parse(row.steps) as string[],
    runs_on: JSON.parse(row.runs_on) as ServiceRunsOn,
    rollout: JSON.parse(row.rollout) as Rollout,
    env: JSON.parse(row.env) as Record<string, string>,
    secret_env: JSON.parse(row.secret_env) as Record<string, string>,
    config_schema:
      row.config_schema === null ? null : (JSON.parse(row.config_schema) as Record<string, unknown>),
    source: row.source as ServiceSource,
  };
}

function encode<T extends Partial<Service>>(service: T) {
  const { steps, runs_on, rollout, env, secret_env, config_schema, ...rest } = service;
  return {
    ...rest,
    ...(steps === undefined ? {} : { steps: JSON.stringify(steps) }),
    ...(runs_on === undefined ? {} : { runs_on: JSON.stringify(runs_on) }),
    ...(rollout === undefined ? {} : { rollout: JSON.stringify(rollout) }),
    ...(env === undefined ? {} : { env: JSON.stringify(env) }),
    ...(secret_env === undefined ? {} : { secret_env: JSON.stringify(secret_env) }),
    ...(config_schema === undefined
      ? {}
      : { config_schema: config_schema === null ? null : JSON.stringify(config_schema) }),
  };
}

export const servicesRepo = {
  /** False when the organisation already has a service of that name. */
  insert(db: Executor, service: Service): Promise<boolean> {
    return unlessTaken(
      db
        .insertInto('services')
        .values(encode(service) as ServicesTable)
        .execute(),
    );
  },

  async get(db: Executor, orgId: string, id: string): Promise<Service | undefined> {
    const row = await db
      .selectFrom('services')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row && decode(row);
  },

  async getByName(db: Executor, orgId: string, name: string): Promise<Service | undefined> {
    const row = await db
      .selectFrom('services')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row && decode(row);
  },

  /** Reads a service for a change; with row locks (PostgreSQL) a concurrent edit waits. */
  async lock(db: Executor, orgId: string, id: string): Promise<Service | undefined> {
    let q = db.selectFrom('services').selectAll().where('org_id', '=', orgId).where('id', '=', id);
    if (capsOf(db).rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && decode(row);
  },

  async list(db: Executor, orgId: string, filter: ServiceFilter, page: PageParams): Promise<Page<Service>> {
    let q = db.selectFrom('services').selectAll().where('org_id', '=', orgId);
    if (filter.source) q = q.where('source', '=', filter.source);
    const text = filter.search;
    if (text) q = q.where((eb) => containsText([eb.ref('name')], text, capsOf(db).ilike));
    return mapPage(await paginate(q, 'id', page), decode);
  },

  /** Every service name of the organisation, with where it came from, in one read. */
  async names(db: Executor, orgId: string): Promise<NameHolder[]> {
    const rows = await db
      .selectFrom('services')
      .select(['name', 'source', 'folder'])
      .where('org_id', '=', orgId)
      .execute();
    return rows.map((r) => ({ ...r, source: r.source as NameHolder['source'] }));
  },

  /** The services synced from the directory, by folder, for a sync. */
  async fromDirectory(db: Executor, orgId: string): Promise<Service[]> {
    const rows = await db
      .selectFrom('services')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('source', '=', 'directory')
      .orderBy('folder')
      .execute();
    return rows.map(decode);
  },

  /** False when a rename takes a name the organisation already uses. */
  update(db: Executor, orgId: string, id: string, changes: ServiceChanges): Promise<boolean> {
    return unlessTaken(
      db
        .updateTable('services')
        .set(encode(changes))
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .execute(),
    );
  },

  /** Deletes the service; its deploy tokens and deployments go with it (on delete cascade). */
  remove(db: Executor, orgId: string, id: string): Promise<unknown> {
    return db.deleteFrom('services').where('org_id', '=', orgId).where('id', '=', id).execute();
  },
};
