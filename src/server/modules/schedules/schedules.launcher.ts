import type { SecretBox } from '../../lib/crypto.js';
import { AppError, assertNever, type ErrorDetail } from '../../lib/errors.js';
import { keepMasked } from '../../lib/secrets.js';
import type { RequestContext } from '../access/context.js';
import type { Permission } from '../access/permissions.js';
import type { ProfileApplier } from '../profiles/profiles.apply.js';
import type { ProfilesService } from '../profiles/profiles.service.js';
import type { RunView } from '../execution/runs.service.js';
import { mapSecretValues, restoreMaskedSecrets, unprocessable } from '../scripts/scripts.params.js';
import type { Script } from '../scripts/scripts.repo.js';
import { jobInputOf, type ScriptRunner } from '../scripts/scripts.runner.js';
import type { ScriptsService } from '../scripts/scripts.service.js';
import type { ScheduleAction, ScheduleTarget } from './schedules.schemas.js';

/** One fire of a schedule: what to run, where, and the run's limits. */
export interface Launch {
  name: string;
  action: ScheduleAction;
  target: ScheduleTarget;
  concurrency: number | undefined;
  failure_threshold: number | undefined;
  deadline_seconds: number | undefined;
}

/**
 * The narrow edge between schedules and what they run: the schedules service checks an action
 * when it is saved, the scheduler launches it at each fire. Both act as the schedule's member.
 */
export interface ScheduleLauncher {
  /**
   * Refuses (422) an action that could not run: a missing script or profile, wrong parameters.
   * Returns the action as it is stored, its secret parameter and secret_env values sealed; a
   * secret given back masked keeps its value in `stored`, the action as it was before an edit.
   */
  check(ctx: RequestContext, action: ScheduleAction, stored?: ScheduleAction): Promise<ScheduleAction>;
  /** Starts one run; its source is `script`, `command` or `profile`, like a run started by hand. */
  launch(ctx: RequestContext, launch: Launch): Promise<RunView>;
}

/** The permission that running the action by hand takes: whoever schedules it must hold it. */
export function permissionFor(kind: ScheduleAction['kind']): Permission {
  return kind === 'profile' ? 'profiles:execute' : 'scripts:execute';
}

/** The details of a 422 from elsewhere, named as fields of the schedule's `action`. */
function underAction(error: unknown): never {
  if (error instanceof AppError && error.code === 'unprocessable') {
    const details: ErrorDetail[] = error.details.map((d) => ({ ...d, field: `action.${d.field ?? ''}` }));
    throw unprocessable(error.message, details);
  }
  throw error;
}

/** A reference in a body to something absent is the body's fault (422), not a missing route (404). */
async function referenced<T>(lookup: Promise<T>, field: string, entity: string): Promise<T> {
  try {
    return await lookup;
  } catch (error) {
    if (error instanceof AppError && error.code === 'not_found')
      throw unprocessable(`${entity} not found`, [{ field, message: 'not found in this organisation' }]);
    throw error;
  }
}

/** Scripts and saved commands through the script runner, profiles through the profile applier. */
export class LibraryLauncher implements ScheduleLauncher {
  readonly #scripts: Pick<ScriptsService, 'row'>;
  readonly #runner: Pick<ScriptRunner, 'execute'>;
  readonly #profiles: Pick<ProfilesService, 'get'>;
  readonly #applier: Pick<ProfileApplier, 'apply'>;
  readonly #box: SecretBox;

  constructor(deps: {
    scripts: Pick<ScriptsService, 'row'>;
    runner: Pick<ScriptRunner, 'execute'>;
    profiles: Pick<ProfilesService, 'get'>;
    applier: Pick<ProfileApplier, 'apply'>;
    box: SecretBox;
  }) {
    this.#scripts = deps.scripts;
    this.#runner = deps.runner;
    this.#profiles = deps.profiles;
    this.#applier = deps.applier;
    this.#box = deps.box;
  }

  async check(ctx: RequestContext, action: ScheduleAction, stored?: ScheduleAction): Promise<ScheduleAction> {
    switch (action.kind) {
      case 'script':
      case 'command': {
        const script: Script = await referenced(
          this.#scripts.row(ctx.orgId, action.script_id),
          'action.script_id',
          'script',
        );
        if (script.kind !== action.kind)
          throw unprocessable(`the script is a ${script.kind}, not a ${action.kind}`, [
            { field: 'action.kind', message: `use "${script.kind}" for this script` },
          ]);
        const given = action.parameters ?? {};
        const parameters =
          stored?.kind === action.kind && stored.script_id === action.script_id
            ? restoreMaskedSecrets(given, stored.parameters ?? {}, script.parameters)
            : given;
        // secret_env does not depend on the script: a value sent back masked keeps the stored one.
        const secretEnv = keepMasked(
          action.secret_env ?? {},
          stored && stored.kind !== 'profile' ? (stored.secret_env ?? {}) : {},
        );
        try {
          jobInputOf(script, { ...action, parameters, secret_env: secretEnv });
        } catch (error) {
          underAction(error);
        }
        const seal = (value: string) => this.#box.sealOnce(value);
        return {
          ...action,
          parameters: mapSecretValues(parameters, script.parameters, seal),
          secret_env: Object.fromEntries(
            Object.entries(secretEnv).map(([name, value]) => [name, seal(value)]),
          ),
        };
      }
      case 'profile':
        await referenced(
          this.#profiles.get(ctx.orgId, 'profile', action.profile_id),
          'action.profile_id',
          'profile',
        );
        return action;
      default:
        return assertNever(action);
    }
  }

  launch(ctx: RequestContext, launch: Launch): Promise<RunView> {
    const { action, ...options } = launch;
    switch (action.kind) {
      case 'script':
      case 'command':
        return this.#runner.execute(ctx, action.script_id, {
          ...options,
          parameters: action.parameters,
          secret_env: action.secret_env,
          timeout_seconds: action.timeout_seconds,
        });
      case 'profile':
        return this.#applier.apply(ctx, action.profile_id, options);
      default:
        return assertNever(action);
    }
  }
}
