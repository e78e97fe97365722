import type { Executor } from '../../db/executor.js';
import { MASK, maskAll } from '../../lib/secrets.js';
import { mapSecretValues } from '../scripts/scripts.params.js';
import type { ParameterDefinition } from '../scripts/scripts.schemas.js';
import type { EntityUser, Usage } from '../../lib/usage.js';
import { schedulesRepo, type Schedule, type ScheduleWithScript } from './schedules.repo.js';
import type { ScheduleAction, ScheduleActionKind } from './schedules.schemas.js';

/** A schedule as the API shows it: its fields, with the action gathered and no org id. */
export interface ScheduleView extends Omit<
  Schedule,
  'org_id' | 'action_kind' | 'script_id' | 'profile_id' | 'parameters' | 'secret_env' | 'timeout_seconds'
> {
  action: ScheduleAction;
}

type ActionColumns = Pick<
  Schedule,
  'action_kind' | 'script_id' | 'profile_id' | 'parameters' | 'secret_env' | 'timeout_seconds'
>;

/** The action as stored: its kind, what it names, a script's parameter values, secret_env and timeout. */
export function actionOf(row: ActionColumns): ScheduleAction {
  const kind = row.action_kind as ScheduleActionKind;
  if (kind === 'profile') return { kind, profile_id: row.profile_id ?? '' };
  return {
    kind,
    script_id: row.script_id ?? '',
    parameters: row.parameters,
    secret_env: row.secret_env,
    ...(row.timeout_seconds === null ? {} : { timeout_seconds: row.timeout_seconds }),
  };
}

export function actionColumns(action: ScheduleAction): ActionColumns {
  return action.kind === 'profile'
    ? {
        action_kind: 'profile',
        script_id: null,
        profile_id: action.profile_id,
        parameters: {},
        secret_env: {},
        timeout_seconds: null,
      }
    : {
        action_kind: action.kind,
        script_id: action.script_id,
        profile_id: null,
        parameters: action.parameters ?? {},
        secret_env: action.secret_env ?? {},
        timeout_seconds: action.timeout_seconds ?? null,
      };
}

/**
 * Secret parameter values and secret_env values are never shown, here or in the audit log (which
 * records these views).
 */
function masked(action: ScheduleAction, definitions: readonly ParameterDefinition[] | null): ScheduleAction {
  if (action.kind === 'profile') return action;
  return {
    ...action,
    ...(action.parameters && {
      parameters: mapSecretValues(action.parameters, definitions, () => MASK),
    }),
    ...(action.secret_env && { secret_env: maskAll(action.secret_env) }),
  };
}

export function scheduleView(row: ScheduleWithScript): ScheduleView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    enabled: row.enabled,
    action: masked(actionOf(row), row.script_parameters),
    target: row.target,
    concurrency: row.concurrency,
    failure_threshold: row.failure_threshold,
    deadline_seconds: row.deadline_seconds,
    cron: row.cron,
    timezone: row.timezone,
    interval_seconds: row.interval_seconds,
    next_fire_at: row.next_fire_at,
    last_fired_at: row.last_fired_at,
    last_run_id: row.last_run_id,
    last_error: row.last_error,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** A script that a schedule runs cannot be deleted: the scripts service answers 409 naming it. */
export const scheduleScriptUsage: Usage = {
  async usersOf(db: Executor, orgId: string, scriptId: string): Promise<EntityUser[]> {
    const rows = await schedulesRepo.usersOf(db, orgId, 'script_id', scriptId);
    return rows.map((r) => ({ type: 'schedule', id: r.id, name: r.name }));
  },
};

/** Deleting a profile a schedule runs is refused (409) with the schedules. */
export const scheduleProfileUsage: Usage = {
  async usersOf(db: Executor, orgId: string, profileId: string): Promise<EntityUser[]> {
    const rows = await schedulesRepo.usersOf(db, orgId, 'profile_id', profileId);
    return rows.map((r) => ({ type: 'schedule', id: r.id, name: r.name }));
  },
};
