import { createHash } from 'node:crypto';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { InputValidator } from '../processes/processes.input.js';
import type { DeploymentEvents } from './deployments.events.js';
import { deploymentsRepo, FINAL_TARGET, type StepState } from './deployments.repo.js';
import { stepView, targetView, type StepView } from './deployments.views.js';
import type { DeploymentTokens } from './deployment-tokens.js';

/** How long a machine's deploy token still works after its script ended: a last report may trail the exit. */
export const DEPLOYMENT_TOKEN_GRACE_MS = 5 * 60_000;

/** The machine of a deployment whose token a request carried. */
export interface DeploymentCaller {
  orgId: string;
  deploymentId: string;
  serviceId: string;
  targetId: string;
  agentId: string;
  /** The deployment's planned step names: a planned step is created at its place when first reported. */
  plannedSteps: string[];
}

export interface StepReport {
  name: string;
  state: StepState;
  message?: string;
  error_message?: string;
  /** When given, must be the token's own deployment (403 otherwise). */
  deployment_id?: string;
}

export interface FinishReport {
  status?: 'success' | 'failure';
  message?: string;
  config?: Record<string, unknown>;
  deployment_id?: string;
}

/**
 * What deploy scripts report with their deployment token: steps by name, as they go, and the
 * end with the config the service publishes. A token is valid for its one machine of its one
 * deployment, while that machine's script runs and for a grace after.
 */
export class DeploymentReports {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #tokens: DeploymentTokens;
  readonly #events: DeploymentEvents;
  readonly #configs = new InputValidator();

  constructor(deps: { db: Executor; clock: Clock; tokens: DeploymentTokens; events: DeploymentEvents }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#tokens = deps.tokens;
    this.#events = deps.events;
  }

  async authenticate(token: string | null): Promise<DeploymentCaller> {
    if (!token)
      throw new AppError(
        'unauthorized',
        'a deployment token is required (FP_DEPLOYMENT_TOKEN as a bearer token)',
      );
    const targetId = this.#tokens.targetOf(token);
    const target = targetId === undefined ? undefined : await deploymentsRepo.caller(this.#db, targetId);
    if (!target) throw new AppError('unauthorized', 'the deployment token is not valid');
    const endedMs = target.finished_at === null ? null : Date.parse(target.finished_at);
    if (endedMs !== null && this.#clock.now().getTime() - endedMs > DEPLOYMENT_TOKEN_GRACE_MS)
      throw new AppError('unauthorized', 'the deployment token expired: its deployment finished');
    return {
      orgId: target.org_id,
      deploymentId: target.deployment_id,
      serviceId: target.service_id,
      targetId: target.id,
      agentId: target.agent_id,
      plannedSteps: JSON.parse(target.planned_steps) as string[],
    };
  }

  /** Updates the step of that name (an unknown name is appended), with its start and finish times: one statement. */
  async step(caller: DeploymentCaller, report: StepReport): Promise<StepView> {
    assertOwnDeployment(caller, report.deployment_id);
    const now = this.#clock.now().toISOString();
    const finished = report.state === 'success' || report.state === 'failure';
    const planned = caller.plannedSteps.indexOf(report.name);
    const step = await deploymentsRepo.upsertStep(
      this.#db,
      {
        id: newId(),
        deployment_id: caller.deploymentId,
        target_id: caller.targetId,
        position: planned,
        name: report.name,
        state: report.state,
        message: report.message ?? '',
        error_message: report.error_message ?? null,
        started_at: report.state === 'pending' ? null : now,
        finished_at: finished ? now : null,
        updated_at: now,
      },
      {
        plannedCount: caller.plannedSteps.length,
        planned: planned >= 0,
        keepMessage: report.message === undefined,
        // a failure reported without a reason keeps the one it had
        keepError: report.error_message === undefined && report.state === 'failure',
      },
    );
    this.#events.step(caller.serviceId, targetOfCaller(caller), step);
    return stepView(step);
  }

  /**
   * The script says it is done: with `failure` its machine fails even if the script then exits 0;
   * `config` (checked against the service's schema) is what the deployment publishes once it succeeds.
   */
  async finish(caller: DeploymentCaller, report: FinishReport) {
    assertOwnDeployment(caller, report.deployment_id);
    const now = this.#clock.now().toISOString();
    const deployment = await deploymentsRepo.byId(this.#db, caller.deploymentId);
    const schema = deployment?.spec.config_schema ?? null;
    if (report.config !== undefined && schema !== null) this.#checkConfig(schema, report.config);
    const status = report.status ?? 'success';
    const { target, steps } = await inTransaction(this.#db, async (trx) => {
      const target = await this.#target(trx, caller);
      // once its script has ended, a machine's outcome is settled: a late report may add config only
      if (FINAL_TARGET.includes(target.status) && (status === 'failure' || target.status !== 'succeeded'))
        throw new AppError('conflict', `this machine's deployment already ended ${target.status}`);
      const error = status === 'failure' ? (report.message ?? 'the deploy script reported a failure') : null;
      const changes = {
        reported_status: status,
        error,
        config: report.config === undefined ? undefined : JSON.stringify(report.config),
        updated_at: now,
      };
      await deploymentsRepo.updateTarget(trx, target.id, changes);
      if (report.config !== undefined && status === 'success')
        await deploymentsRepo.update(trx, caller.deploymentId, {
          config: JSON.stringify(report.config),
          updated_at: now,
        });
      const steps =
        status === 'failure'
          ? await deploymentsRepo.failRunningSteps(trx, target.id, error ?? status, now)
          : [];
      return {
        target: { ...target, reported_status: status, error, config: report.config ?? target.config },
        steps,
      };
    });
    for (const step of steps) this.#events.step(caller.serviceId, targetOfCaller(caller), step);
    return targetView(target);
  }

  /** The caller's machine (its token was checked: running, or ended within the grace). */
  async #target(trx: Executor, caller: DeploymentCaller) {
    const target = await deploymentsRepo.target(trx, caller.targetId);
    if (!target) throw new AppError('unauthorized', 'the deployment token is not valid');
    return target;
  }

  #checkConfig(schema: Record<string, unknown>, config: Record<string, unknown>): void {
    const key = createHash('sha256').update(JSON.stringify(schema)).digest('hex');
    try {
      this.#configs.check(key, schema, config, 'config');
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      throw new AppError('unprocessable', "config does not match the service's config_schema", {
        details: error.details,
      });
    }
  }
}

function targetOfCaller(caller: DeploymentCaller) {
  return {
    id: caller.targetId,
    org_id: caller.orgId,
    deployment_id: caller.deploymentId,
    agent_id: caller.agentId,
  };
}

function assertOwnDeployment(caller: DeploymentCaller, deploymentId: string | undefined): void {
  if (deploymentId !== undefined && deploymentId !== caller.deploymentId)
    throw new AppError('forbidden', 'the deployment token is for another deployment');
}
