import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/crypto.js';
import { notFound, type ErrorDetail } from '../../lib/errors.js';
import { MASK, keepMasked } from '../../lib/secrets.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import { mapSecretValues, restoreMaskedSecrets, unprocessable } from '../scripts/scripts.params.js';
import type { Script } from '../scripts/scripts.repo.js';
import { findScript } from '../scripts/scripts.service.js';
import { profilesRepo, type Profile, type TaskWithDefinitions } from './profiles.repo.js';
import {
  MAX_TASKS,
  type ProfileKind,
  type TaskBulkItem,
  type TaskCreateBody,
  type TaskInput,
  type TaskUpdateBody,
} from './profiles.schemas.js';
import {
  checkTask,
  draftOf,
  draftOfTask,
  taskOf,
  taskView,
  withAction,
  type TaskDraft,
  type TaskView,
} from './profiles.tasks.js';

/** The scripts the drafts name, those of the organisation only: another's id is simply missing. */
async function scriptsOf(trx: Executor, orgId: string, drafts: readonly TaskDraft[]) {
  const scripts = new Map<string, Script>();
  for (const id of new Set(drafts.map((d) => d.script_id).filter((id) => id !== null))) {
    const script = await findScript(trx, orgId, id);
    if (script) scripts.set(id, script);
  }
  return scripts;
}

function tooMany(): Error {
  return unprocessable(`a profile holds at most ${MAX_TASKS} tasks`, [
    { field: 'tasks', message: `at most ${MAX_TASKS}` },
  ]);
}

/**
 * A profile's ordered tasks. Every change locks the profile row (PostgreSQL), so positions stay
 * 0…n-1 without gaps or twins under concurrent edits; SQLite serialises writers anyway.
 */
export class TasksService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #box: SecretBox;

  constructor(deps: { db: Executor; clock: Clock; audit: AuditLog; box: SecretBox }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#box = deps.box;
  }

  /** One draft checked (422) and as it is stored. */
  async #soundOne(trx: Executor, orgId: string, draft: TaskDraft): Promise<TaskDraft> {
    const [sound = draft] = await this.#sound(trx, orgId, [draft], () => '');
    return sound;
  }

  /**
   * Checks every draft and reports every problem at once (422), each under its own field; returns
   * the drafts as they are stored, their scripts' secret parameter values and their `secret_env`
   * values sealed.
   */
  async #sound(
    trx: Executor,
    orgId: string,
    drafts: readonly TaskDraft[],
    prefixOf: (i: number) => string,
  ): Promise<TaskDraft[]> {
    const scripts = await scriptsOf(trx, orgId, drafts);
    const scriptOf = (draft: TaskDraft) =>
      draft.script_id === null ? undefined : scripts.get(draft.script_id);
    const details: ErrorDetail[] = drafts.flatMap((draft, i) =>
      checkTask(draft, scriptOf(draft), prefixOf(i)),
    );
    if (details.length > 0) throw unprocessable('tasks are not valid', details);
    const seal = (value: string) => this.#box.sealOnce(value);
    return drafts.map((draft) => ({
      ...draft,
      parameters: mapSecretValues(draft.parameters, scriptOf(draft)?.parameters ?? null, seal),
      secret_env: Object.fromEntries(
        Object.entries(draft.secret_env).map(([name, value]) => [name, seal(value)]),
      ),
    }));
  }

  async list(orgId: string, kind: ProfileKind, profileId: string): Promise<TaskView[]> {
    await this.#profile(this.#db, orgId, kind, profileId, false);
    return (await profilesRepo.tasks(this.#db, profileId)).map(taskView);
  }

  async get(orgId: string, kind: ProfileKind, profileId: string, taskId: string): Promise<TaskView> {
    await this.#profile(this.#db, orgId, kind, profileId, false);
    return this.#task(this.#db, profileId, taskId);
  }

  async create(
    ctx: RequestContext,
    kind: ProfileKind,
    profileId: string,
    input: TaskCreateBody,
  ): Promise<TaskView> {
    return inTransaction(this.#db, async (trx) => {
      await this.#profile(trx, ctx.orgId, kind, profileId, true);
      const ids = (await profilesRepo.tasks(trx, profileId)).map((t) => t.id);
      if (ids.length >= MAX_TASKS) throw tooMany();
      const { position: wanted, ...fields } = input;
      const draft = await this.#soundOne(trx, ctx.orgId, draftOf(fields));
      const now = await this.#touch(trx, ctx.orgId, profileId);
      const position = Math.min(wanted ?? ids.length, ids.length);
      const row = taskOf(draft, profileId, position, now);
      await profilesRepo.insertTasks(trx, [row]);
      ids.splice(position, 0, row.id);
      await profilesRepo.setPositions(trx, profileId, ids, now);
      const created = await this.#task(trx, profileId, row.id);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: `${kind}_task`,
        entityId: row.id,
        after: created,
      });
      return created;
    });
  }

  async update(
    ctx: RequestContext,
    kind: ProfileKind,
    profileId: string,
    taskId: string,
    input: TaskUpdateBody,
  ): Promise<TaskView> {
    return inTransaction(this.#db, async (trx) => {
      await this.#profile(trx, ctx.orgId, kind, profileId, true);
      const row = await profilesRepo.task(trx, profileId, taskId);
      if (!row) throw notFound('task');
      const before = draftOfTask(row);
      let changed: TaskDraft = { ...before };
      for (const [key, value] of Object.entries(input))
        if (value !== undefined) Object.assign(changed, { [key]: value });
      if (changed.action !== before.action) changed = withAction(changed, new Set(Object.keys(input)));
      if (input.parameters && changed.script_id === before.script_id)
        changed.parameters = restoreMaskedSecrets(
          changed.parameters,
          before.parameters,
          row.script_parameters,
        );
      if (input.secret_env) changed.secret_env = keepMasked(input.secret_env, before.secret_env);
      const draft = await this.#soundOne(trx, ctx.orgId, changed);
      const now = await this.#touch(trx, ctx.orgId, profileId);
      const {
        id: _id,
        profile_id: _p,
        position: _pos,
        created_at: _c,
        ...changes
      } = taskOf(draft, profileId, row.position, now);
      await profilesRepo.updateTask(trx, profileId, taskId, changes);
      const after = await this.#task(trx, profileId, taskId);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: `${kind}_task`,
        entityId: taskId,
        before: taskView(row),
        after,
      });
      return after;
    });
  }

  async remove(ctx: RequestContext, kind: ProfileKind, profileId: string, taskId: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      await this.#profile(trx, ctx.orgId, kind, profileId, true);
      const before = await this.#task(trx, profileId, taskId);
      await profilesRepo.deleteTasks(trx, profileId, [taskId]);
      const now = await this.#touch(trx, ctx.orgId, profileId);
      const rest = (await profilesRepo.tasks(trx, profileId)).map((t) => t.id);
      await profilesRepo.setPositions(trx, profileId, rest, now);
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: `${kind}_task`,
        entityId: taskId,
        before,
      });
    });
  }

  /** Puts the tasks in the order given, which must list every task of the profile once (else 422). */
  async reorder(
    ctx: RequestContext,
    kind: ProfileKind,
    profileId: string,
    taskIds: readonly string[],
  ): Promise<TaskView[]> {
    return inTransaction(this.#db, async (trx) => {
      await this.#profile(trx, ctx.orgId, kind, profileId, true);
      const before = (await profilesRepo.tasks(trx, profileId)).map((t) => t.id);
      const given = new Set(taskIds);
      if (
        given.size !== taskIds.length ||
        given.size !== before.length ||
        before.some((id) => !given.has(id))
      )
        throw unprocessable('the order must list every task of the profile once', [
          { field: 'task_ids', message: `list each of the ${before.length} task ids once` },
        ]);
      const now = await this.#touch(trx, ctx.orgId, profileId);
      await profilesRepo.setPositions(trx, profileId, taskIds, now);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: kind,
        entityId: profileId,
        before: { task_ids: before },
        after: { task_ids: taskIds },
      });
      return (await profilesRepo.tasks(trx, profileId)).map(taskView);
    });
  }

  /**
   * Replaces every task in one transaction. All the new tasks are checked before anything is
   * written, and any failure rolls the whole change back: the old tasks stay as they were.
   */
  async replace(
    ctx: RequestContext,
    kind: ProfileKind,
    profileId: string,
    items: readonly TaskBulkItem[],
  ): Promise<TaskView[]> {
    return inTransaction(this.#db, async (trx) => {
      await this.#profile(trx, ctx.orgId, kind, profileId, true);
      const rows = await profilesRepo.tasks(trx, profileId);
      const inputs = withSecretsKept(items, rows);
      const before = rows.map(taskView);
      const now = await this.#touch(trx, ctx.orgId, profileId);
      await profilesRepo.deleteTasks(trx, profileId);
      const after = await this.writeAll(trx, ctx.orgId, profileId, inputs, now);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: kind,
        entityId: profileId,
        before: { tasks: before },
        after: { tasks: after },
      });
      return after;
    });
  }

  /** Checks and writes a profile's whole task list, in a transaction the caller holds. */
  async writeAll(
    trx: Executor,
    orgId: string,
    profileId: string,
    inputs: readonly TaskInput[],
    now: string,
  ): Promise<TaskView[]> {
    if (inputs.length > MAX_TASKS) throw tooMany();
    const drafts = await this.#sound(trx, orgId, inputs.map(draftOf), (i) => `tasks.${i}.`);
    await profilesRepo.insertTasks(
      trx,
      drafts.map((draft, position) => taskOf(draft, profileId, position, now)),
    );
    return (await profilesRepo.tasks(trx, profileId)).map(taskView);
  }

  async #profile(
    db: Executor,
    orgId: string,
    kind: ProfileKind,
    id: string,
    forChange: boolean,
  ): Promise<Profile> {
    const isTemplate = kind === 'template';
    const row = forChange
      ? await profilesRepo.lock(db, orgId, id, isTemplate)
      : await profilesRepo.get(db, orgId, id, isTemplate);
    if (!row) throw notFound(kind);
    return row;
  }

  async #task(db: Executor, profileId: string, taskId: string): Promise<TaskView> {
    const row = await profilesRepo.task(db, profileId, taskId);
    if (!row) throw notFound('task');
    return taskView(row);
  }

  /** A change to a task is a change to its profile. */
  async #touch(trx: Executor, orgId: string, profileId: string): Promise<string> {
    const now = this.#clock.now().toISOString();
    await profilesRepo.update(trx, orgId, profileId, { updated_at: now });
    return now;
  }
}

/**
 * A bulk list as read back from the API carries its secrets masked: each task naming the task it
 * replaces (`id`) keeps that task's values, and a mask left with nothing to keep is refused, so a
 * secret is never overwritten with asterisks.
 */
function withSecretsKept(items: readonly TaskBulkItem[], rows: readonly TaskWithDefinitions[]): TaskInput[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  const details: ErrorDetail[] = [];
  const inputs = items.map(({ id, ...input }, index) => {
    const row = id === undefined ? undefined : byId.get(id);
    const kept: TaskInput = { ...input };
    if (row && input.secret_env) kept.secret_env = keepMasked(input.secret_env, row.secret_env);
    if (row && input.parameters && input.script_id === row.script_id)
      kept.parameters = restoreMaskedSecrets(input.parameters, row.parameters, row.script_parameters);
    for (const [name, value] of [
      ...Object.entries(kept.secret_env ?? {}).map(([n, v]) => [`secret_env.${n}`, v] as const),
      ...Object.entries(kept.parameters ?? {}).map(([n, v]) => [`parameters.${n}`, v] as const),
    ])
      if (value === MASK)
        details.push({
          field: `tasks.${index}.${name}`,
          message: 'a masked secret can be kept only with the id of the task it comes from; give the value',
        });
    return kept;
  });
  if (details.length > 0) throw unprocessable('a secret was given back masked', details);
  return inputs;
}
