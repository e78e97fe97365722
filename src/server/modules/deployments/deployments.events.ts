import type { Executor } from '../../db/executor.js';
import type { Logger } from '../../lib/logger.js';
import type { EventBus } from '../../realtime/events.js';
import { deploymentsRepo, type StepRow, type TargetRow } from './deployments.repo.js';
import { tallyOf } from './rollout.js';

/** Deployment, machine and step events on the bus, for consoles and CI clients following along. */
export class DeploymentEvents {
  readonly #db: Executor;
  readonly #bus: EventBus;
  readonly #logger: Logger;

  constructor(deps: { db: Executor; bus: EventBus; logger: Logger }) {
    this.#db = deps.db;
    this.#bus = deps.bus;
    this.#logger = deps.logger;
  }

  /** The deployment as it stands now, read after the commit that changed it. */
  state(id: string): void {
    void (async () => {
      const deployment = await deploymentsRepo.byId(this.#db, id);
      if (!deployment) return;
      const tally = tallyOf(await deploymentsRepo.counts(this.#db, id), deployment.current_batch);
      this.#bus.publish({
        type: 'deployment.state',
        org_id: deployment.org_id,
        deployment_id: id,
        service_id: deployment.service_id,
        status: deployment.status,
        current_batch: deployment.current_batch,
        counts: tally.counts,
      });
    })().catch((error: unknown) => this.#lost(error, id));
  }

  target(serviceId: string, target: TargetRow): void {
    this.#bus.publish({
      type: 'deployment.target',
      org_id: target.org_id,
      deployment_id: target.deployment_id,
      service_id: serviceId,
      target_id: target.id,
      agent_id: target.agent_id,
      job_id: target.job_id,
      batch: target.batch,
      status: target.status,
    });
  }

  step(
    serviceId: string,
    target: Pick<TargetRow, 'id' | 'org_id' | 'deployment_id' | 'agent_id'>,
    step: StepRow,
  ): void {
    this.#bus.publish({
      type: 'deployment.step',
      org_id: target.org_id,
      deployment_id: target.deployment_id,
      service_id: serviceId,
      target_id: target.id,
      agent_id: target.agent_id,
      name: step.name,
      state: step.state,
      message: step.message,
      error_message: step.error_message,
    });
  }

  #lost(error: unknown, deploymentId: string): void {
    this.#logger.error({ err: error, deploymentId }, 'deployment event lost');
  }
}
