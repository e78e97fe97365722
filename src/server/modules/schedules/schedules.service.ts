import { requireKnownTarget } from '../agents/agents.service.js';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import { permissionFor, type ScheduleLauncher } from './schedules.launcher.js';
import { schedulesRepo, type Schedule, type ScheduleChanges, type ScheduleFilter } from './schedules.repo.js';
import type { ScheduleAction, ScheduleCreateBody, ScheduleUpdateBody } from './schedules.schemas.js';
import { firstFireAfter, timingFields, timingOf, type TimingFields } from './schedules.timing.js';
import { actionColumns, actionOf, scheduleView, type ScheduleView } from './schedules.views.js';

function nameTaken(name: string): AppError {
  return new AppError('conflict', `a schedule named "${name}" exists`, {
    details: [{ field: 'name', message: 'already used in this organisation' }],
  });
}

/** The timing a change asks for: `cron` replaces an interval, `interval_seconds` a cron expression. */
function changedTiming(before: Schedule, input: ScheduleUpdateBody): TimingFields | undefined {
  if (input.cron === undefined && input.interval_seconds === undefined && input.timezone === undefined)
    return undefined;
  if (input.cron !== undefined || input.interval_seconds !== undefined)
    return {
      cron: input.cron ?? null,
      // A new expression keeps the zone it was read in, unless another is given.
      timezone: input.timezone ?? (input.cron !== undefined && before.cron !== null ? before.timezone : null),
      interval_seconds: input.interval_seconds ?? null,
    };
  return { cron: before.cron, timezone: input.timezone ?? null, interval_seconds: before.interval_seconds };
}

/**
 * Schedules: a script, saved command or profile to run on a target set at times given by a cron
 * expression (in a time zone) or an interval. A schedule runs as the member who created it (see
 * Scheduler), so saving one takes the permission to run its action by hand. `next_fire_at` is
 * counted from now whenever the timing changes or the schedule is enabled, and is null while it
 * is disabled: times passed while disabled are never caught up.
 */
export class SchedulesService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #launcher: ScheduleLauncher;
  readonly #defaultZone: (orgId: string) => Promise<string>;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    launcher: ScheduleLauncher;
    /** The zone a cron expression given without one is read in: the organisation's `general.timezone`. */
    defaultZone: (orgId: string) => Promise<string>;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#launcher = deps.launcher;
    this.#defaultZone = deps.defaultZone;
  }

  /** Checks timing fields, reading the organisation's zone only when a cron expression comes without one. */
  async #timingOf(orgId: string, fields: TimingFields, now: Date) {
    const zone = fields.cron !== null && fields.timezone === null ? await this.#defaultZone(orgId) : 'UTC';
    return timingOf(fields, now, zone);
  }

  async create(ctx: RequestContext, input: ScheduleCreateBody): Promise<ScheduleView> {
    const now = this.#clock.now();
    const timing = await this.#timingOf(
      ctx.orgId,
      {
        cron: input.cron ?? null,
        timezone: input.timezone ?? null,
        interval_seconds: input.interval_seconds ?? null,
      },
      now,
    );
    const action = await this.#runnable(ctx, input.action);
    await requireKnownTarget(this.#db, ctx.orgId, input.target);
    const enabled = input.enabled ?? true;
    const row: Schedule = {
      id: newId(),
      org_id: ctx.orgId,
      name: input.name,
      description: input.description ?? '',
      enabled,
      ...actionColumns(action),
      target: input.target,
      concurrency: input.concurrency ?? null,
      failure_threshold: input.failure_threshold ?? null,
      deadline_seconds: input.deadline_seconds ?? null,
      ...timingFields(timing),
      next_fire_at: enabled ? (firstFireAfter(timing, now)?.toISOString() ?? null) : null,
      last_fired_at: null,
      last_run_id: null,
      last_error: null,
      created_by: ctx.userId,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    };
    return inTransaction(this.#db, async (trx) => {
      if (!(await schedulesRepo.insert(trx, row))) throw nameTaken(row.name);
      const created = await this.#view(trx, ctx.orgId, row.id);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'schedule',
        entityId: row.id,
        after: created,
      });
      return created;
    });
  }

  async list(orgId: string, filter: ScheduleFilter, page: PageParams): Promise<Page<ScheduleView>> {
    return mapPage(await schedulesRepo.list(this.#db, orgId, filter, page), scheduleView);
  }

  get(orgId: string, id: string): Promise<ScheduleView> {
    return this.#view(this.#db, orgId, id);
  }

  async update(ctx: RequestContext, id: string, input: ScheduleUpdateBody): Promise<ScheduleView> {
    let action: ScheduleAction | undefined;
    if (input.action) {
      const stored = await schedulesRepo.get(this.#db, ctx.orgId, id);
      if (!stored) throw notFound('schedule');
      action = await this.#runnable(ctx, input.action, actionOf(stored));
    }
    if (input.target) await requireKnownTarget(this.#db, ctx.orgId, input.target);
    // read before the transaction: a new expression without a zone is read in the organisation's
    const zone =
      input.cron !== undefined && input.timezone === undefined ? await this.#defaultZone(ctx.orgId) : 'UTC';
    return inTransaction(this.#db, async (trx) => {
      const locked = await schedulesRepo.lock(trx, ctx.orgId, id);
      if (!locked) throw notFound('schedule');
      const before = await this.#view(trx, ctx.orgId, id);
      const now = this.#clock.now();
      const changes: ScheduleChanges = {
        name: input.name,
        description: input.description,
        ...(action ? actionColumns(action) : {}),
        target: input.target,
        concurrency: input.concurrency,
        failure_threshold: input.failure_threshold,
        deadline_seconds: input.deadline_seconds,
        updated_at: now.toISOString(),
      };
      const fields = changedTiming(locked, input);
      if (fields) {
        const timing = timingOf(fields, now, zone);
        Object.assign(changes, timingFields(timing));
        if (locked.enabled) changes.next_fire_at = firstFireAfter(timing, now)?.toISOString() ?? null;
      }
      if (!(await schedulesRepo.update(trx, ctx.orgId, id, changes)))
        throw nameTaken(input.name ?? locked.name);
      const after = await this.#view(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'schedule',
        entityId: id,
        before,
        after,
      });
      return after;
    });
  }

  async remove(ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      if (!(await schedulesRepo.lock(trx, ctx.orgId, id))) throw notFound('schedule');
      const before = await this.#view(trx, ctx.orgId, id);
      await schedulesRepo.remove(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, { action: 'deleted', entityType: 'schedule', entityId: id, before });
    });
  }

  /** Enables (the next fire counted from now) or disables a schedule; asking twice changes nothing. */
  async setEnabled(ctx: RequestContext, id: string, enabled: boolean): Promise<ScheduleView> {
    return inTransaction(this.#db, async (trx) => {
      const locked = await schedulesRepo.lock(trx, ctx.orgId, id);
      if (!locked) throw notFound('schedule');
      if (locked.enabled === enabled) return this.#view(trx, ctx.orgId, id);
      const now = this.#clock.now();
      const next = enabled ? (firstFireAfter(timingOf(locked, now), now)?.toISOString() ?? null) : null;
      await schedulesRepo.update(trx, ctx.orgId, id, {
        enabled,
        next_fire_at: next,
        updated_at: now.toISOString(),
      });
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'schedule',
        entityId: id,
        before: { enabled: !enabled, next_fire_at: locked.next_fire_at },
        after: { enabled, next_fire_at: next },
      });
      return this.#view(trx, ctx.orgId, id);
    });
  }

  /** Whoever schedules an action must be allowed to run it by hand (403), and it must be runnable (422). */
  /** The action as it is stored, once the caller may schedule it and it could run. */
  async #runnable(
    ctx: RequestContext,
    action: ScheduleAction,
    stored?: ScheduleAction,
  ): Promise<ScheduleAction> {
    const permission = permissionFor(action.kind);
    if (!ctx.permissions.has(permission))
      throw new AppError('forbidden', `scheduling a ${action.kind} takes the permission "${permission}"`);
    return this.#launcher.check(ctx, action, stored);
  }

  async #view(db: Executor, orgId: string, id: string): Promise<ScheduleView> {
    const row = await schedulesRepo.get(db, orgId, id);
    if (!row) throw notFound('schedule');
    return scheduleView(row);
  }
}
