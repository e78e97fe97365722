import { capsOf, type Executor } from '../../db/executor.js';
import type { SchedulesTable } from '../../db/schema.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import { unlessTaken } from '../../db/search.js';
import type { RoleGrant } from '../access/permissions.js';
import type { ParameterDefinition, ParameterValue } from '../scripts/scripts.schemas.js';
import type { ScheduleTarget } from './schedules.schemas.js';

type ScheduleRow = SchedulesTable;

export interface Schedule extends Omit<ScheduleRow, 'enabled' | 'parameters' | 'secret_env' | 'target'> {
  enabled: boolean;
  /** A script's parameter values, secret ones sealed. */
  parameters: Record<string, ParameterValue>;
  /** Sealed values. */
  secret_env: Record<string, string>;
  target: ScheduleTarget;
}

/** A schedule with the parameter definitions of the script it runs (none for a profile), to mask secret values. */
export interface ScheduleWithScript extends Schedule {
  script_parameters: ParameterDefinition[] | null;
}

export type ScheduleChanges = Partial<Omit<Schedule, 'id' | 'org_id' | 'created_by' | 'created_at'>>;

function decode(row: ScheduleRow): Schedule {
  return {
    ...row,
    enabled: row.enabled === 1,
    parameters: JSON.parse(row.parameters) as Record<string, ParameterValue>,
    secret_env: JSON.parse(row.secret_env) as Record<string, string>,
    target: JSON.parse(row.target) as ScheduleTarget,
  };
}

function decodeWithScript({
  script_parameters,
  ...row
}: ScheduleRow & { script_parameters: string | null }): ScheduleWithScript {
  return {
    ...decode(row),
    script_parameters:
      script_parameters === null ? null : (JSON.parse(script_parameters) as ParameterDefinition[]),
  };
}

function encode(schedule: Schedule): ScheduleRow {
  return {
    ...schedule,
    enabled: schedule.enabled ? 1 : 0,
    parameters: JSON.stringify(schedule.parameters),
    secret_env: JSON.stringify(schedule.secret_env),
    target: JSON.stringify(schedule.target),
  };
}

function encodeChanges({
  enabled,
  parameters,
  secret_env,
  target,
  ...rest
}: ScheduleChanges): Partial<ScheduleRow> {
  return {
    ...rest,
    ...(enabled === undefined ? {} : { enabled: enabled ? 1 : 0 }),
    ...(parameters === undefined ? {} : { parameters: JSON.stringify(parameters) }),
    ...(secret_env === undefined ? {} : { secret_env: JSON.stringify(secret_env) }),
    ...(target === undefined ? {} : { target: JSON.stringify(target) }),
  };
}

export interface ScheduleFilter {
  enabled?: boolean;
  kind?: string;
}

function withScript(db: Executor) {
  return db
    .selectFrom('schedules')
    .leftJoin('scripts', 'scripts.id', 'schedules.script_id')
    .selectAll('schedules')
    .select('scripts.parameters as script_parameters');
}

export const schedulesRepo = {
  /** False when the organisation already has a schedule of that name. */
  insert(db: Executor, schedule: Schedule): Promise<boolean> {
    return unlessTaken(db.insertInto('schedules').values(encode(schedule)).execute());
  },

  async get(db: Executor, orgId: string, id: string): Promise<ScheduleWithScript | undefined> {
    const row = await withScript(db)
      .where('schedules.org_id', '=', orgId)
      .where('schedules.id', '=', id)
      .executeTakeFirst();
    return row && decodeWithScript(row);
  },

  /** Reads a schedule for a change; with row locks (PostgreSQL) a concurrent edit waits, so none is lost. */
  async lock(db: Executor, orgId: string, id: string): Promise<Schedule | undefined> {
    let q = db.selectFrom('schedules').selectAll().where('org_id', '=', orgId).where('id', '=', id);
    if (capsOf(db).rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && decode(row);
  },

  async list(
    db: Executor,
    orgId: string,
    filter: ScheduleFilter,
    page: PageParams,
  ): Promise<Page<ScheduleWithScript>> {
    let q = withScript(db).where('schedules.org_id', '=', orgId);
    if (filter.enabled !== undefined) q = q.where('schedules.enabled', '=', filter.enabled ? 1 : 0);
    if (filter.kind) q = q.where('schedules.action_kind', '=', filter.kind);
    return mapPage(await paginate(q, 'schedules.id', page), decodeWithScript);
  },

  /** False when the new name is taken in the organisation. */
  update(db: Executor, orgId: string, id: string, changes: ScheduleChanges): Promise<boolean> {
    return unlessTaken(
      db
        .updateTable('schedules')
        .set(encodeChanges(changes))
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .execute(),
    );
  },

  remove(db: Executor, orgId: string, id: string): Promise<unknown> {
    return db.deleteFrom('schedules').where('org_id', '=', orgId).where('id', '=', id).execute();
  },

  /** The schedules that run the script or profile: it cannot be deleted while they exist. */
  usersOf(
    db: Executor,
    orgId: string,
    column: 'script_id' | 'profile_id',
    id: string,
  ): Promise<{ id: string; name: string }[]> {
    return db
      .selectFrom('schedules')
      .select(['id', 'name'])
      .where('org_id', '=', orgId)
      .where(column, '=', id)
      .orderBy('name')
      .execute();
  },

  /** Enabled schedules whose fire time has come, the longest due first; every organisation. */
  async due(db: Executor, now: string, limit: number): Promise<Schedule[]> {
    const rows = await db
      .selectFrom('schedules')
      .selectAll()
      .where('enabled', '=', 1)
      .where('next_fire_at', '<=', now)
      .orderBy('next_fire_at')
      .limit(limit)
      .execute();
    return rows.map(decode);
  },

  /**
   * Takes one fire of a schedule: moves `next_fire_at` on from the value this node read. When
   * several nodes read the same due schedule, only the first update still matches; the others
   * change nothing and answer false, so each fire time starts one run across all nodes.
   */
  async claim(
    db: Executor,
    claim: { id: string; dueAt: string; nextFireAt: string | null; firedAt: string },
  ): Promise<boolean> {
    const result = await db
      .updateTable('schedules')
      .set({
        next_fire_at: claim.nextFireAt,
        // A schedule that can never fire again stops, visibly.
        ...(claim.nextFireAt === null ? { enabled: 0 } : {}),
        last_fired_at: claim.firedAt,
        last_run_id: null,
        last_error: null,
      })
      .where('id', '=', claim.id)
      .where('enabled', '=', 1)
      .where('next_fire_at', '=', claim.dueAt)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** What the fire started, or why it started nothing. */
  recordOutcome(
    db: Executor,
    id: string,
    outcome: { last_run_id: string | null; last_error: string | null },
  ): Promise<unknown> {
    return db.updateTable('schedules').set(outcome).where('id', '=', id).execute();
  },

  /** The roles a member holds now, none once they left the organisation or were disabled. */
  async rolesOfActiveMember(db: Executor, orgId: string, userId: string): Promise<RoleGrant[]> {
    const rows = await db
      .selectFrom('member_roles')
      .innerJoin('roles', 'roles.id', 'member_roles.role_id')
      .innerJoin('users', 'users.id', 'member_roles.user_id')
      .select(['roles.name', 'roles.builtin', 'roles.permissions'])
      .where('member_roles.org_id', '=', orgId)
      .where('member_roles.user_id', '=', userId)
      .where('users.disabled_at', 'is', null)
      .execute();
    return rows.map((r) => ({
      name: r.name,
      builtin: r.builtin === 1,
      permissions: JSON.parse(r.permissions) as string[],
    }));
  },
};
