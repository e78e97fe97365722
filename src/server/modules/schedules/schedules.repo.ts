import type { Executor } from '../../db/executor.js';
import type { RolesTable, SchedulesTable } from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';
import { unlessTaken } from '../../db/search.js';

export type ScheduleRow = SchedulesTable;

/** A schedule with the parameter definitions of the script it runs, to mask secret values. */
export interface ScheduleWithScript extends ScheduleRow {
  script_parameters: string | null;
}

export type ScheduleChanges = Partial<Omit<ScheduleRow, 'id' | 'org_id' | 'created_by' | 'created_at'>>;

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
  insert(db: Executor, row: ScheduleRow): Promise<boolean> {
    return unlessTaken(db.insertInto('schedules').values(row).execute());
  },

  get(db: Executor, orgId: string, id: string): Promise<ScheduleWithScript | undefined> {
    return withScript(db)
      .where('schedules.org_id', '=', orgId)
      .where('schedules.id', '=', id)
      .executeTakeFirst();
  },

  /** Reads a schedule for a change; with row locks (PostgreSQL) a concurrent edit waits, so none is lost. */
  lock(db: Executor, orgId: string, id: string, rowLocks: boolean): Promise<ScheduleRow | undefined> {
    let q = db.selectFrom('schedules').selectAll().where('org_id', '=', orgId).where('id', '=', id);
    if (rowLocks) q = q.forUpdate();
    return q.executeTakeFirst();
  },

  list(
    db: Executor,
    orgId: string,
    filter: ScheduleFilter,
    page: PageParams,
  ): Promise<Page<ScheduleWithScript>> {
    let q = withScript(db).where('schedules.org_id', '=', orgId);
    if (filter.enabled !== undefined) q = q.where('schedules.enabled', '=', filter.enabled ? 1 : 0);
    if (filter.kind) q = q.where('schedules.action_kind', '=', filter.kind);
    return paginate(q, 'schedules.id', page);
  },

  /** False when the new name is taken in the organisation. */
  update(db: Executor, orgId: string, id: string, changes: ScheduleChanges): Promise<boolean> {
    return unlessTaken(
      db.updateTable('schedules').set(changes).where('org_id', '=', orgId).where('id', '=', id).execute(),
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
  due(db: Executor, now: string, limit: number): Promise<ScheduleRow[]> {
    return db
      .selectFrom('schedules')
      .selectAll()
      .where('enabled', '=', 1)
      .where('next_fire_at', '<=', now)
      .orderBy('next_fire_at')
      .limit(limit)
      .execute();
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
  rolesOfActiveMember(db: Executor, orgId: string, userId: string): Promise<RolesTable[]> {
    return db
      .selectFrom('member_roles')
      .innerJoin('roles', 'roles.id', 'member_roles.role_id')
      .innerJoin('users', 'users.id', 'member_roles.user_id')
      .selectAll('roles')
      .where('member_roles.org_id', '=', orgId)
      .where('member_roles.user_id', '=', userId)
      .where('users.disabled_at', 'is', null)
      .execute();
  },
};
