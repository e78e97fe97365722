import type { Logger } from '../../lib/logger.js';
import { sweepTimer } from '../../lib/sweep-timer.js';
import type { DeploymentsService } from './deployments.service.js';

/** Starts the next batch of rollouts whose pause between batches is over, at each sweep. */
export class DeploymentPacer {
  readonly #deployments: DeploymentsService;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(deps: { deployments: DeploymentsService; intervalMs: number; logger: Logger }) {
    this.#deployments = deps.deployments;
    this.#intervalMs = deps.intervalMs;
    this.#logger = deps.logger;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = sweepTimer(() => void this.sweep(), this.#intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One sweep, after any under way; failures are logged, never thrown. */
  sweep(): Promise<void> {
    this.#running = this.#running.then(() =>
      this.#deployments.resumeDue().catch((error: unknown) => {
        this.#logger.error({ err: error }, 'deployment pacing failed');
      }),
    );
    return this.#running;
  }
}
