import type { Executor } from '../../db/executor.js';
import type { ProfilesTable, ProfileTasksTable } from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';
import { containsText, unlessTaken } from '../../db/search.js';

export type ProfileRow = ProfilesTable;
export type TaskRow = ProfileTasksTable;
export type ProfileWithCount = ProfileRow & { task_count: number | string | bigint | null };
/** A task with its script's parameter definitions (JSON), to mask the values of secrets. */
export type TaskWithDefinitions = TaskRow & { script_parameters: string | null };

export type ProfileChanges = Partial<
  Pick<ProfileRow, 'name' | 'description' | 'target_os_type' | 'updated_at'>
>;
export type TaskChanges = Partial<Omit<TaskRow, 'id' | 'profile_id' | 'created_at'>>;

/** Profiles and templates share the table; every query names which it wants. */
function flag(isTemplate: boolean): number {
  return isTemplate ? 1 : 0;
}

function tasksQuery(db: Executor) {
  return db
    .selectFrom('profile_tasks')
    .leftJoin('scripts', 'scripts.id', 'profile_tasks.script_id')
    .selectAll('profile_tasks')
    .select('scripts.parameters as script_parameters');
}

export const profilesRepo = {
  /** False when the organisation already has a profile (or template) of that name. */
  insert(db: Executor, row: ProfileRow): Promise<boolean> {
    return unlessTaken(db.insertInto('profiles').values(row).execute());
  },

  get(db: Executor, orgId: string, id: string, isTemplate: boolean): Promise<ProfileRow | undefined> {
    return db
      .selectFrom('profiles')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('is_template', '=', flag(isTemplate))
      .executeTakeFirst();
  },

  /** Reads a profile for a change of it or its tasks; with row locks (PostgreSQL) other writers wait. */
  lock(
    db: Executor,
    orgId: string,
    id: string,
    isTemplate: boolean,
    rowLocks: boolean,
  ): Promise<ProfileRow | undefined> {
    let q = db
      .selectFrom('profiles')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('is_template', '=', flag(isTemplate));
    if (rowLocks) q = q.forUpdate();
    return q.executeTakeFirst();
  },

  list(
    db: Executor,
    orgId: string,
    filter: { isTemplate: boolean; text?: string },
    page: PageParams,
    like: 'like' | 'ilike',
  ): Promise<Page<ProfileWithCount>> {
    let q = db
      .selectFrom('profiles')
      .selectAll('profiles')
      .select((eb) =>
        eb
          .selectFrom('profile_tasks')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('profile_tasks.profile_id', '=', 'profiles.id')
          .as('task_count'),
      )
      .where('profiles.org_id', '=', orgId)
      .where('profiles.is_template', '=', flag(filter.isTemplate));
    const text = filter.text;
    if (text)
      q = q.where((eb) =>
        containsText(
          (['profiles.name', 'profiles.description'] as const).map((c) => eb.ref(c)),
          text,
          like,
        ),
      );
    return paginate(q, 'profiles.id', page);
  },

  /** False when a rename takes a name already used. */
  update(db: Executor, orgId: string, id: string, changes: ProfileChanges): Promise<boolean> {
    return unlessTaken(
      db.updateTable('profiles').set(changes).where('org_id', '=', orgId).where('id', '=', id).execute(),
    );
  },

  /** Deletes the profile; its tasks go with it (on delete cascade). */
  remove(db: Executor, orgId: string, id: string): Promise<unknown> {
    return db.deleteFrom('profiles').where('org_id', '=', orgId).where('id', '=', id).execute();
  },

  /** Agents assigned the profile, and groups applying it, let go of it. */
  async clearReferences(db: Executor, orgId: string, profileId: string, now: string): Promise<void> {
    await db
      .updateTable('agents')
      .set({ profile_id: null, updated_at: now })
      .where('org_id', '=', orgId)
      .where('profile_id', '=', profileId)
      .execute();
    await db
      .updateTable('agent_groups')
      .set({ auto_profile_id: null, updated_at: now })
      .where('org_id', '=', orgId)
      .where('auto_profile_id', '=', profileId)
      .execute();
  },

  /** A profile's tasks in order; the caller has checked the profile's organisation. */
  tasks(db: Executor, profileId: string): Promise<TaskWithDefinitions[]> {
    return tasksQuery(db)
      .where('profile_tasks.profile_id', '=', profileId)
      .orderBy('profile_tasks.position')
      .execute();
  },

  task(db: Executor, profileId: string, taskId: string): Promise<TaskWithDefinitions | undefined> {
    return tasksQuery(db)
      .where('profile_tasks.profile_id', '=', profileId)
      .where('profile_tasks.id', '=', taskId)
      .executeTakeFirst();
  },

  async insertTasks(db: Executor, rows: TaskRow[]): Promise<void> {
    if (rows.length > 0) await db.insertInto('profile_tasks').values(rows).execute();
  },

  updateTask(db: Executor, profileId: string, taskId: string, changes: TaskChanges): Promise<unknown> {
    return db
      .updateTable('profile_tasks')
      .set(changes)
      .where('profile_id', '=', profileId)
      .where('id', '=', taskId)
      .execute();
  },

  deleteTasks(db: Executor, profileId: string, taskIds?: readonly string[]): Promise<unknown> {
    let q = db.deleteFrom('profile_tasks').where('profile_id', '=', profileId);
    if (taskIds) q = q.where('id', 'in', taskIds);
    return q.execute();
  },

  /** Numbers the tasks 0, 1, … in the order given. */
  async setPositions(
    db: Executor,
    profileId: string,
    taskIds: readonly string[],
    now: string,
  ): Promise<void> {
    for (const [position, id] of taskIds.entries())
      await db
        .updateTable('profile_tasks')
        .set({ position, updated_at: now })
        .where('profile_id', '=', profileId)
        .where('id', '=', id)
        .execute();
  },

  /** Profiles and templates whose tasks run the script. */
  usersOfScript(
    db: Executor,
    orgId: string,
    scriptId: string,
  ): Promise<Pick<ProfileRow, 'id' | 'name' | 'is_template'>[]> {
    return db
      .selectFrom('profiles')
      .select(['profiles.id', 'profiles.name', 'profiles.is_template'])
      .where('profiles.org_id', '=', orgId)
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom('profile_tasks')
            .select('profile_tasks.id')
            .whereRef('profile_tasks.profile_id', '=', 'profiles.id')
            .where('profile_tasks.script_id', '=', scriptId),
        ),
      )
      .orderBy('profiles.name')
      .execute();
  },
};
