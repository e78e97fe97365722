import type { OsType } from '../../../protocol/jobs.js';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import { assertUnused, type EntityUser, type Usage } from '../../lib/usage.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import { profilesRepo, type Profile, type ProfileWithCount } from './profiles.repo.js';
import type {
  InstantiateBody,
  ProfileCreateBody,
  ProfileKind,
  ProfileUpdateBody,
} from './profiles.schemas.js';
import { taskView, type TaskView } from './profiles.tasks.js';
import type { TasksService } from './tasks.service.js';

export interface ProfileView {
  id: string;
  name: string;
  description: string;
  target_os_type: OsType | null;
  is_template: boolean;
  task_count: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface ProfileDetail extends ProfileView {
  tasks: TaskView[];
}

export function isTemplate(kind: ProfileKind): boolean {
  return kind === 'template';
}

function view(row: Profile, taskCount: number): ProfileView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    target_os_type: row.target_os_type as OsType | null,
    is_template: row.is_template,
    task_count: taskCount,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function listView(row: ProfileWithCount): ProfileView {
  return view(row, row.task_count);
}

function nameTaken(kind: ProfileKind, name: string): AppError {
  return new AppError('conflict', `a ${kind} named "${name}" exists`, {
    details: [{ field: 'name', message: 'already used in this organisation' }],
  });
}

/**
 * A profile id given in a body (an agent's profile, a group's auto profile) must name a profile of
 * the caller's organisation, not a template: else 422.
 */
export async function requireProfile(db: Executor, orgId: string, id: string, field: string): Promise<void> {
  if (!(await profilesRepo.get(db, orgId, id, false)))
    throw new AppError('unprocessable', 'profile not found', { details: [{ field, message: 'not found' }] });
}

/** Deleting a script a task runs is refused (409) with the profiles and templates that hold it. */
export const profileScriptUsage: Usage = {
  async usersOf(db, orgId, scriptId): Promise<EntityUser[]> {
    const rows = await profilesRepo.usersOfScript(db, orgId, scriptId);
    return rows.map((r) => ({ type: r.is_template ? 'template' : 'profile', id: r.id, name: r.name }));
  },
};

/**
 * Deployment profiles and templates: named, ordered task lists. A template is never applied; it
 * is copied into a new profile (`instantiate`), whose tasks are then its own.
 */
export class ProfilesService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #tasks: TasksService;

  readonly #usage: Usage;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    tasks: TasksService;
    /** Who runs a profile (schedules): such a profile cannot be deleted. */
    usage: Usage;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#tasks = deps.tasks;
    this.#usage = deps.usage;
  }

  async list(
    orgId: string,
    kind: ProfileKind,
    filter: { text?: string },
    page: PageParams,
  ): Promise<Page<ProfileView>> {
    const rows = await profilesRepo.list(
      this.#db,
      orgId,
      { isTemplate: isTemplate(kind), text: filter.text },
      page,
    );
    return mapPage(rows, listView);
  }

  async get(orgId: string, kind: ProfileKind, id: string): Promise<ProfileDetail> {
    const row = await profilesRepo.get(this.#db, orgId, id, isTemplate(kind));
    if (!row) throw notFound(kind);
    return this.#detail(this.#db, row);
  }

  async create(ctx: RequestContext, kind: ProfileKind, input: ProfileCreateBody): Promise<ProfileDetail> {
    const now = this.#clock.now().toISOString();
    const row: Profile = {
      id: newId(),
      org_id: ctx.orgId,
      name: input.name,
      description: input.description ?? '',
      target_os_type: input.target_os_type ?? null,
      is_template: isTemplate(kind),
      created_by: ctx.userId,
      created_at: now,
      updated_at: now,
    };
    return inTransaction(this.#db, async (trx) => {
      if (!(await profilesRepo.insert(trx, row))) throw nameTaken(kind, row.name);
      await this.#tasks.writeAll(trx, ctx.orgId, row.id, input.tasks ?? [], now);
      const created = await this.#detail(trx, row);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: kind,
        entityId: row.id,
        after: created,
      });
      return created;
    });
  }

  async update(
    ctx: RequestContext,
    kind: ProfileKind,
    id: string,
    input: ProfileUpdateBody,
  ): Promise<ProfileDetail> {
    return inTransaction(this.#db, async (trx) => {
      const before = await this.#locked(trx, ctx.orgId, kind, id);
      const next: Profile = {
        ...before,
        name: input.name ?? before.name,
        description: input.description ?? before.description,
        target_os_type: input.target_os_type === undefined ? before.target_os_type : input.target_os_type,
        updated_at: this.#clock.now().toISOString(),
      };
      const changes = {
        name: next.name,
        description: next.description,
        target_os_type: next.target_os_type,
        updated_at: next.updated_at,
      };
      if (!(await profilesRepo.update(trx, ctx.orgId, id, changes))) throw nameTaken(kind, next.name);
      const after = await this.#detail(trx, next);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: kind,
        entityId: id,
        before: view(before, after.task_count),
        after: view(next, after.task_count),
      });
      return after;
    });
  }

  /** Deletes a profile or template and its tasks; agents and groups that named it let go of it. */
  async remove(ctx: RequestContext, kind: ProfileKind, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const before = await this.#detail(trx, await this.#locked(trx, ctx.orgId, kind, id));
      await assertUnused(this.#usage, trx, ctx.orgId, kind, id);
      await profilesRepo.clearReferences(trx, ctx.orgId, id, this.#clock.now().toISOString());
      await profilesRepo.remove(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, { action: 'deleted', entityType: kind, entityId: id, before });
    });
  }

  /** Copies a template and its tasks into a new profile, named as given or as the template. */
  async instantiate(ctx: RequestContext, templateId: string, input: InstantiateBody): Promise<ProfileDetail> {
    return inTransaction(this.#db, async (trx) => {
      const template = await profilesRepo.get(trx, ctx.orgId, templateId, true);
      if (!template) throw notFound('template');
      const now = this.#clock.now().toISOString();
      const row: Profile = {
        ...template,
        id: newId(),
        name: input.name ?? template.name,
        description: input.description ?? template.description,
        is_template: false,
        created_by: ctx.userId,
        created_at: now,
        updated_at: now,
      };
      if (!(await profilesRepo.insert(trx, row))) throw nameTaken('profile', row.name);
      const tasks = await profilesRepo.tasks(trx, template.id);
      // Copied as stored (secrets included), under new ids: the copy shares nothing with the template.
      await profilesRepo.insertTasks(
        trx,
        tasks.map(({ script_parameters: _defs, ...task }) => ({
          ...task,
          id: newId(),
          profile_id: row.id,
          created_at: now,
          updated_at: now,
        })),
      );
      const created = await this.#detail(trx, row);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'profile',
        entityId: row.id,
        after: { ...created, from_template: template.id },
      });
      return created;
    });
  }

  async #locked(trx: Executor, orgId: string, kind: ProfileKind, id: string): Promise<Profile> {
    const row = await profilesRepo.lock(trx, orgId, id, isTemplate(kind));
    if (!row) throw notFound(kind);
    return row;
  }

  async #detail(db: Executor, row: Profile): Promise<ProfileDetail> {
    const tasks = (await profilesRepo.tasks(db, row.id)).map(taskView);
    return { ...view(row, tasks.length), tasks };
  }
}
