import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound, type ErrorDetail } from '../../lib/errors.js';
import type { Logger } from '../../lib/logger.js';
import type { RequestContext, RequestMeta } from '../access/context.js';
import type { Agent, TargetAgent, TargetSelector } from '../agents/agents.repo.js';
import { assignProfile } from '../agents/agents.service.js';
import { findGroup } from '../agents/groups.service.js';
import type { AuditLog, AuditScope } from '../audit/audit.service.js';
import { osMatches } from '../execution/jobs.rules.js';
import type { RunsService, RunView } from '../execution/runs.service.js';
import { unprocessable } from '../scripts/scripts.params.js';
import { findScript } from '../scripts/scripts.service.js';
import { stepOf, type ProfilePlan, type TaskStep } from './profiles.actions.js';
import { profilesRepo, type Profile } from './profiles.repo.js';
import type { ApplyBody } from './profiles.schemas.js';

/** Problems reported per agent at most: a run over ten thousand agents must not answer a megabyte. */
const MAX_DETAILS = 50;

type RunOptions = Pick<ApplyBody, 'name' | 'concurrency' | 'failure_threshold' | 'deadline_seconds'>;

/** The apply body, or the same from a caller holding a selector of its own (a schedule). */
export type ApplyInput = RunOptions & { agent_ids?: string[]; target?: TargetSelector };

function selectorOf(input: ApplyInput): TargetSelector {
  if ((input.agent_ids === undefined) === (input.target === undefined))
    throw unprocessable('give agent_ids or target, one of them', [
      { field: 'target', message: 'give agent_ids or target, one of them' },
    ]);
  return input.target ?? { agent_ids: input.agent_ids };
}

/**
 * Applies a profile: one run (source `profile`) over the target set, in which each agent works
 * through the tasks in order (see ProfileSequencer). Everything that can be checked is checked
 * before anything is queued (422): the profile's OS against every agent, each script task's
 * parameters, and each task's interpreter against each kind of agent.
 */
export class ProfileApplier {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #runs: RunsService;
  readonly #logger: Logger;

  constructor(deps: { db: Executor; clock: Clock; audit: AuditLog; runs: RunsService; logger: Logger }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#runs = deps.runs;
    this.#logger = deps.logger;
  }

  async apply(ctx: RequestContext, profileId: string, input: ApplyInput): Promise<RunView> {
    const profile = await profilesRepo.get(this.#db, ctx.orgId, profileId, false);
    if (!profile) throw notFound('profile');
    const runId = await this.#start(ctx, ctx.userId, profile, selectorOf(input), input);
    return this.#runs.get(ctx.orgId, runId);
  }

  /**
   * A new agent enrolled into a group with an auto profile: the profile runs on it, and becomes
   * its assigned profile unless it has one. Called after registration; a failure (the profile
   * does not suit the agent, say) is logged and never fails the registration.
   */
  async applyOnEnroll(agent: Agent, meta: RequestMeta): Promise<void> {
    if (agent.group_id === null) return;
    try {
      const group = await findGroup(this.#db, agent.org_id, agent.group_id);
      if (!group?.auto_profile_id) return;
      const profile = await profilesRepo.get(this.#db, agent.org_id, group.auto_profile_id, false);
      if (!profile) return;
      const scope: AuditScope = {
        orgId: agent.org_id,
        actor: { type: 'system', id: null, label: `auto profile of group "${group.name}"` },
        meta,
      };
      const runId = await this.#start(scope, null, profile, { agent_ids: [agent.id] }, {}, agent);
      this.#logger.info(
        { agentId: agent.id, profileId: profile.id, runId },
        'auto profile applied on enrollment',
      );
    } catch (error) {
      this.#logger.error({ err: error, agentId: agent.id }, 'auto profile on enrollment failed');
    }
  }

  #start(
    scope: AuditScope,
    createdBy: string | null,
    profile: Profile,
    target: TargetSelector,
    options: RunOptions,
    assignTo?: Agent,
  ): Promise<string> {
    return this.#plan(profile).then((plan) =>
      this.#runs.launch({
        orgId: profile.org_id,
        scope,
        createdBy,
        source: 'profile',
        name: options.name ?? profile.name,
        target,
        spec: plan,
        options,
        audit: { profile_id: profile.id, tasks: plan.tasks.map((t) => t.name) },
        assertAgents: (agents) => this.#assertOs(profile, agents),
        alsoInTransaction: async (trx) => {
          if (assignTo && assignTo.profile_id === null) await this.#assign(trx, scope, assignTo, profile.id);
        },
      }),
    );
  }

  /** The tasks as steps, with script parameters rendered from the scripts as they are now. */
  async #plan(profile: Profile): Promise<ProfilePlan> {
    const tasks = await profilesRepo.tasks(this.#db, profile.id);
    if (tasks.length === 0)
      throw unprocessable('the profile has no tasks', [{ field: 'tasks', message: 'add a task first' }]);
    const details: ErrorDetail[] = [];
    const steps: TaskStep[] = [];
    for (const [i, task] of tasks.entries()) {
      const script = task.script_id ? await findScript(this.#db, profile.org_id, task.script_id) : undefined;
      if (task.action === 'script' && !script) {
        details.push({ field: `tasks.${i}.script_id`, message: 'the script no longer exists' });
        continue;
      }
      try {
        const step = stepOf(task, i, profile.target_os_type, script);
        // The plan is stored in the run's spec: secret values in it stay sealed.
        steps.push(step);
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        details.push(
          ...error.details.map((d) => ({ ...d, field: `tasks.${i}.${d.field ?? ''}`, task: task.name })),
        );
      }
    }
    if (details.length > 0) throw unprocessable('the profile cannot run as it is', details);
    return { profile_id: profile.id, profile_name: profile.name, tasks: steps };
  }

  /** The profile's OS is every agent's: one agent of another OS refuses the whole apply. */
  #assertOs(profile: Profile, agents: readonly TargetAgent[]): void {
    const os = profile.target_os_type;
    if (os === null) return;
    const wrong = agents.filter((a) => !osMatches(os, a.os_type));
    if (wrong.length > 0)
      throw unprocessable(`this profile targets ${os}; ${wrong.length} agent(s) run another OS`, [
        ...wrong.slice(0, MAX_DETAILS).map((a) => ({
          field: 'target_os_type',
          message: `agent runs ${a.os_type}`,
          agent_id: a.id,
        })),
      ]);
  }

  async #assign(trx: Executor, scope: AuditScope, agent: Agent, profileId: string): Promise<void> {
    const now = this.#clock.now().toISOString();
    await assignProfile(trx, this.#audit, { scope, agent, profileId, now });
  }
}
