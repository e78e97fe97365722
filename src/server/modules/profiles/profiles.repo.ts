import { capsOf, type Executor } from '../../db/executor.js';
import type { ProfilesTable, ProfileTasksTable } from '../../db/schema.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import { containsText, unlessTaken } from '../../db/search.js';
import type { ParameterDefinition } from '../scripts/scripts.schemas.js';
import type { TaskParameterValues } from './profiles.schemas.js';

type ProfileRow = ProfilesTable;
type TaskRow = ProfileTasksTable;

export interface Profile extends Omit<ProfileRow, 'is_template'> {
  is_template: boolean;
}
export type ProfileWithCount = Profile & { task_count: number };

export interface Task extends Omit<TaskRow, 'parameters' | 'secret_env' | 'continue_on_error'> {
  parameters: TaskParameterValues;
  /** Sealed values. */
  secret_env: Record<string, string>;
  continue_on_error: boolean;
}
/** A task with its script's parameter definitions (none when the task runs no script), to mask secrets. */
export type TaskWithDefinitions = Task & { script_parameters: ParameterDefinition[] | null };

export type ProfileChanges = Partial<Pick<Profile, 'name' | 'description' | 'target_os_type' | 'updated_at'>>;
export type TaskChanges = Partial<Omit<Task, 'id' | 'profile_id' | 'created_at'>>;

/** Profiles and templates share the table; every query names which it wants. */
function flag(isTemplate: boolean): number {
  return isTemplate ? 1 : 0;
}

function decode(row: ProfileRow): Profile {
  return { ...row, is_template: row.is_template === 1 };
}

function decodeTask({
  script_parameters,
  ...row
}: TaskRow & { script_parameters: string | null }): TaskWithDefinitions {
  return {
    ...row,
    parameters: JSON.parse(row.parameters) as TaskParameterValues,
    secret_env: JSON.parse(row.secret_env) as Record<string, string>,
    continue_on_error: row.continue_on_error === 1,
    script_parameters:
      script_parameters === null ? null : (JSON.parse(script_parameters) as ParameterDefinition[]),
  };
}

function encodeTaskChanges({
  parameters,
  secret_env,
  continue_on_error,
  ...rest
}: TaskChanges): Partial<TaskRow> {
  return {
    ...rest,
    ...(parameters === undefined ? {} : { parameters: JSON.stringify(parameters) }),
    ...(secret_env === undefined ? {} : { secret_env: JSON.stringify(secret_env) }),
    ...(continue_on_error === undefined ? {} : { continue_on_error: continue_on_error ? 1 : 0 }),
  };
}

function encodeTask(task: Task): TaskRow {
  return {
    ...task,
    parameters: JSON.stringify(task.parameters),
    secret_env: JSON.stringify(task.secret_env),
    continue_on_error: task.continue_on_error ? 1 : 0,
  };
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
  insert(db: Executor, profile: Profile): Promise<boolean> {
    return unlessTaken(
      db
        .insertInto('profiles')
        .values({ ...profile, is_template: flag(profile.is_template) })
        .execute(),
    );
  },

  async get(db: Executor, orgId: string, id: string, isTemplate: boolean): Promise<Profile | undefined> {
    const row = await db
      .selectFrom('profiles')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('is_template', '=', flag(isTemplate))
      .executeTakeFirst();
    return row && decode(row);
  },

  /** Reads a profile for a change of it or its tasks; with row locks (PostgreSQL) other writers wait. */
  async lock(db: Executor, orgId: string, id: string, isTemplate: boolean): Promise<Profile | undefined> {
    let q = db
      .selectFrom('profiles')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('is_template', '=', flag(isTemplate));
    if (capsOf(db).rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && decode(row);
  },

  async list(
    db: Executor,
    orgId: string,
    filter: { isTemplate: boolean; text?: string },
    page: PageParams,
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
          capsOf(db).ilike,
        ),
      );
    return mapPage(await paginate(q, 'profiles.id', page), ({ task_count, ...row }) => ({
      ...decode(row),
      // A count comes back as a string or bigint from some drivers.
      task_count: Number(task_count ?? 0),
    }));
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
  async tasks(db: Executor, profileId: string): Promise<TaskWithDefinitions[]> {
    const rows = await tasksQuery(db)
      .where('profile_tasks.profile_id', '=', profileId)
      .orderBy('profile_tasks.position')
      .execute();
    return rows.map(decodeTask);
  },

  async task(db: Executor, profileId: string, taskId: string): Promise<TaskWithDefinitions | undefined> {
    const row = await tasksQuery(db)
      .where('profile_tasks.profile_id', '=', profileId)
      .where('profile_tasks.id', '=', taskId)
      .executeTakeFirst();
    return row && decodeTask(row);
  },

  async insertTasks(db: Executor, tasks: readonly Task[]): Promise<void> {
    if (tasks.length > 0) await db.insertInto('profile_tasks').values(tasks.map(encodeTask)).execute();
  },

  updateTask(db: Executor, profileId: string, taskId: string, changes: TaskChanges): Promise<unknown> {
    return db
      .updateTable('profile_tasks')
      .set(encodeTaskChanges(changes))
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
  async usersOfScript(
    db: Executor,
    orgId: string,
    scriptId: string,
  ): Promise<Pick<Profile, 'id' | 'name' | 'is_template'>[]> {
    const rows = await db
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
    return rows.map((r) => ({ ...r, is_template: r.is_template === 1 }));
  },
};
