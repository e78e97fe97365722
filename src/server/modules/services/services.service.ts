import { inTransaction, type Executor } from '../../db/executor.js';
import { jsonValidator } from '../../http/validation.js';
import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/crypto.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import { isSecretKey } from '../../lib/secrets.js';
import { assertUnused, type Usage } from '../../lib/usage.js';
import type { RequestContext } from '../access/context.js';
import { requireKnownTarget } from '../agents/agents.service.js';
import { findGroup } from '../agents/groups.service.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { EventBus } from '../../realtime/events.js';
import { readServicesDirectory, schemaErrors, type FolderEntry } from './services.directory.js';
import { servicesRepo, type Service, type ServiceChanges, type ServiceFilter } from './services.repo.js';
import {
  applyChanges,
  assertNameFree,
  definitionOf,
  nameTaken,
  notValid,
  oneLine,
  ownProblems,
  serviceView,
  type Definition,
  type ServiceFolderView,
  type ServiceView,
} from './services.rules.js';
import { ServiceCreateBody, type ServiceUpdateBody, type SyncReport } from './services.schemas.js';

/**
 * Services: named deployment recipes (a deploy script, its planned steps, where it runs, its
 * rollout and the schema of the config it publishes), defined through the API or synced from the
 * services directory. Environment values under secret-looking names, and every secret_env value,
 * are stored sealed; views mask them; only the deployments module opens them.
 */
export class ServicesService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #bus: EventBus;
  readonly #box: SecretBox;
  readonly #usage: Usage;
  readonly #dir: string;
  readonly #validateBody = jsonValidator<ServiceCreateBody>(ServiceCreateBody);

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    bus: EventBus;
    box: SecretBox;
    /** What holds on to a service (deployments running): deleting it is refused (409) while any does. */
    usage: Usage;
    /** The services directory. */
    dir: string;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#bus = deps.bus;
    this.#box = deps.box;
    this.#usage = deps.usage;
    this.#dir = deps.dir;
  }

  async create(ctx: RequestContext, input: ServiceCreateBody): Promise<ServiceView> {
    const def = definitionOf(input);
    await this.#assertValid(this.#db, ctx.orgId, def);
    const view = await inTransaction(this.#db, async (trx) => {
      const row = this.#newRow(ctx, def, { source: 'api', folder: null, content_hash: null });
      if (!(await servicesRepo.insert(trx, row))) throw nameTaken(row.name);
      const created = serviceView(row);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'service',
        entityId: row.id,
        after: created,
      });
      return created;
    });
    this.#changed(ctx.orgId, view.id, 'created');
    return view;
  }

  async list(orgId: string, filter: ServiceFilter, page: PageParams): Promise<Page<ServiceView>> {
    return mapPage(await servicesRepo.list(this.#db, orgId, filter, page), serviceView);
  }

  async get(orgId: string, id: string): Promise<ServiceView> {
    return serviceView(await this.resolveForDeployment(orgId, id));
  }

  /**
   * The stored service for the deployments module: env values under secret names and every
   * secret_env value STILL SEALED (the deployments module opens them). 404 when it is not the org's.
   */
  async resolveForDeployment(orgId: string, id: string): Promise<Service> {
    const row = await servicesRepo.get(this.#db, orgId, id);
    if (!row) throw notFound('service');
    return row;
  }

  /** The stored service of that name (secrets sealed), or undefined. */
  getByName(orgId: string, name: string): Promise<Service | undefined> {
    return servicesRepo.getByName(this.#db, orgId, name);
  }

  /**
   * Changes a service. A directory service changed here keeps its folder but forgets its hash, so
   * the next sync brings the folder's definition back: the directory stays its source.
   */
  async update(ctx: RequestContext, id: string, input: ServiceUpdateBody): Promise<ServiceView> {
    const current = await this.resolveForDeployment(ctx.orgId, id);
    await this.#assertValid(this.#db, ctx.orgId, applyChanges(current, input));
    const view = await inTransaction(this.#db, async (trx) => {
      const before = await servicesRepo.lock(trx, ctx.orgId, id);
      if (!before) throw notFound('service');
      // Re-applied on the locked row, so a concurrent edit of other fields is not lost.
      const def = this.#sealed(applyChanges(before, input));
      const changes: ServiceChanges = {
        ...def,
        source: before.source,
        folder: before.folder,
        content_hash: null,
        updated_at: this.#clock.now().toISOString(),
      };
      if (!(await servicesRepo.update(trx, ctx.orgId, id, changes))) throw nameTaken(def.name);
      const after = serviceView({ ...before, ...changes });
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'service',
        entityId: id,
        before: serviceView(before),
        after,
      });
      return after;
    });
    this.#changed(ctx.orgId, id, 'updated');
    return view;
  }

  /** Deletes a service; refused (409, naming them) while its deployments run. */
  async remove(ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.#db, (trx) => this.#remove(trx, ctx, id));
    this.#changed(ctx.orgId, id, 'deleted');
  }

  /** The folders of the services directory, each checked as a sync would. */
  async folders(orgId: string): Promise<ServiceFolderView[]> {
    const views: ServiceFolderView[] = [];
    // One read for every folder's name check; agent and group ids are checked by the sync.
    const holders = new Map((await servicesRepo.names(this.#db, orgId)).map((h) => [h.name, h]));
    for (const entry of await readServicesDirectory(this.#dir)) {
      if (!entry.ok) {
        views.push({ folder: entry.folder, name: entry.folder, valid: false, error: entry.error });
        continue;
      }
      try {
        const def = this.#folderDefinition(entry);
        const problems = ownProblems(def);
        if (problems.length > 0) throw notValid(problems);
        assertNameFree(holders.get(def.name), entry.folder, def.name);
        views.push({ folder: entry.folder, name: entry.name, valid: true, error: null });
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        views.push({ folder: entry.folder, name: entry.name, valid: false, error: oneLine(error) });
      }
    }
    return views;
  }

  /**
   * Brings the services directory into the organisation: a transaction per folder, so one bad
   * folder never stops the rest. A folder whose files hash as last synced is left alone; a
   * directory service whose folder is gone is deleted, unless its deployments run.
   */
  async sync(ctx: RequestContext): Promise<SyncReport> {
    const report: SyncReport = { created: [], updated: [], unchanged: [], removed: [], invalid: [] };
    const entries = await readServicesDirectory(this.#dir);
    const synced = new Map(
      (await servicesRepo.fromDirectory(this.#db, ctx.orgId)).map((s) => [s.folder ?? '', s]),
    );
    const changed: { id: string; action: 'created' | 'updated' | 'deleted' }[] = [];
    for (const entry of entries) {
      if (!entry.ok) {
        report.invalid.push({ folder: entry.folder, error: entry.error });
        continue;
      }
      const existing = synced.get(entry.folder);
      if (existing && existing.content_hash === entry.hash) {
        report.unchanged.push(entry.folder);
        continue;
      }
      try {
        const id = await inTransaction(this.#db, (trx) => this.#syncFolder(trx, ctx, entry, existing));
        (existing ? report.updated : report.created).push(entry.folder);
        changed.push({ id, action: existing ? 'updated' : 'created' });
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        report.invalid.push({ folder: entry.folder, error: oneLine(error) });
      }
    }
    const present = new Set(entries.map((e) => e.folder));
    for (const [folder, service] of synced) {
      if (present.has(folder)) continue;
      try {
        await inTransaction(this.#db, (trx) => this.#remove(trx, ctx, service.id));
        report.removed.push(folder);
        changed.push({ id: service.id, action: 'deleted' });
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        report.invalid.push({
          folder,
          error: `the folder is gone, but the service is kept: ${oneLine(error)}`,
        });
      }
    }
    await inTransaction(this.#db, (trx) =>
      this.#audit.record(trx, ctx, {
        action: 'synced',
        entityType: 'service_directory',
        entityId: ctx.orgId,
        after: report,
      }),
    );
    for (const { id, action } of changed) this.#changed(ctx.orgId, id, action);
    return report;
  }

  async #syncFolder(
    trx: Executor,
    ctx: RequestContext,
    entry: Extract<FolderEntry, { ok: true }>,
    existing: Service | undefined,
  ): Promise<string> {
    const def = this.#folderDefinition(entry);
    await this.#assertValid(trx, ctx.orgId, def);
    assertNameFree(await servicesRepo.getByName(trx, ctx.orgId, def.name), entry.folder, def.name);
    const origin = { source: 'directory' as const, folder: entry.folder, content_hash: entry.hash };
    if (!existing) {
      const row = this.#newRow(ctx, def, origin);
      if (!(await servicesRepo.insert(trx, row))) throw nameTaken(row.name);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'service',
        entityId: row.id,
        after: serviceView(row),
      });
      return row.id;
    }
    const before = await servicesRepo.lock(trx, ctx.orgId, existing.id);
    if (!before) throw notFound('service');
    const changes: ServiceChanges = {
      ...this.#sealed(def),
      ...origin,
      updated_at: this.#clock.now().toISOString(),
    };
    if (!(await servicesRepo.update(trx, ctx.orgId, before.id, changes))) throw nameTaken(def.name);
    await this.#audit.record(trx, ctx, {
      action: 'modified',
      entityType: 'service',
      entityId: before.id,
      before: serviceView(before),
      after: serviceView({ ...before, ...changes }),
    });
    return before.id;
  }

  /** A folder's body, checked by the API body's schema. */
  #folderDefinition(entry: Extract<FolderEntry, { ok: true }>): Definition {
    const body = entry.body;
    if (!this.#validateBody(body))
      throw new AppError('unprocessable', 'the service definition is not valid', {
        details: [{ message: schemaErrors(this.#validateBody.errors) }],
      });
    return definitionOf(body);
  }

  async #remove(trx: Executor, ctx: RequestContext, id: string): Promise<void> {
    const before = await servicesRepo.lock(trx, ctx.orgId, id);
    if (!before) throw notFound('service');
    await assertUnused(this.#usage, trx, ctx.orgId, 'service', id);
    await servicesRepo.remove(trx, ctx.orgId, id);
    await this.#audit.record(trx, ctx, {
      action: 'deleted',
      entityType: 'service',
      entityId: id,
      before: serviceView(before),
    });
  }

  /** The service's own rules, beyond its schema: every problem found, as one 422. */
  async #assertValid(db: Executor, orgId: string, def: Definition): Promise<void> {
    const details = ownProblems(def);
    const runsOn = def.runs_on;
    if (runsOn.type === 'agent' && !(await this.#agentKnown(db, orgId, runsOn.agent_id)))
      details.push({ field: 'runs_on.agent_id', message: 'agent not found' });
    const groupId = runsOn.type === 'selector' ? runsOn.selector.group_id : undefined;
    if (groupId !== undefined && !(await findGroup(db, orgId, groupId)))
      details.push({ field: 'runs_on.selector.group_id', message: 'agent group not found' });
    if (details.length > 0) throw notValid(details);
  }

  async #agentKnown(db: Executor, orgId: string, agentId: string): Promise<boolean> {
    try {
      await requireKnownTarget(db, orgId, { agent_ids: [agentId] });
      return true;
    } catch (error) {
      if (error instanceof AppError && error.code === 'unprocessable') return false;
      throw error;
    }
  }

  /** Env values under secret-looking names, and every secret_env value, sealed as jobs store them. */
  #sealed(def: Definition): Definition {
    const seal = (value: string) => this.#box.sealOnce(value);
    return {
      ...def,
      env: Object.fromEntries(
        Object.entries(def.env).map(([key, value]) => [key, isSecretKey(key) ? seal(value) : value]),
      ),
      secret_env: Object.fromEntries(
        Object.entries(def.secret_env).map(([key, value]) => [key, seal(value)]),
      ),
    };
  }

  #newRow(
    ctx: RequestContext,
    def: Definition,
    origin: Pick<Service, 'source' | 'folder' | 'content_hash'>,
  ): Service {
    const now = this.#clock.now().toISOString();
    return {
      id: newId(),
      org_id: ctx.orgId,
      ...this.#sealed(def),
      ...origin,
      created_by: ctx.userId,
      created_at: now,
      updated_at: now,
    };
  }

  /** Published after the commit, so a listener that reads the service finds it changed. */
  #changed(orgId: string, serviceId: string, action: 'created' | 'updated' | 'deleted'): void {
    this.#bus.publish({ type: 'service.changed', org_id: orgId, service_id: serviceId, action });
  }
}
