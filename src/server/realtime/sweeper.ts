import type { Logger } from '../lib/logger.js';
import { sweepTimer } from '../lib/sweep-timer.js';
import type { JobsService } from '../modules/jobs/jobs.service.js';
import type { RunsService } from '../modules/runs/runs.service.js';

/**
 * Periodic repairs that make lost work visible: expired job leases (re-queued or lost) and
 * run jobs whose agents never came online before the deadline. Every node sweeps; the
 * conditional updates underneath let only one node win each row.
 */
export class Sweeper {
  readonly #jobs: JobsService;
  readonly #runs: RunsService;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(deps: { jobs: JobsService; runs: RunsService; intervalMs: number; logger: Logger }) {
    this.#jobs = deps.jobs;
    this.#runs = deps.runs;
    this.#intervalMs = deps.intervalMs;
    this.#logger = deps.logger;
  }

  start(): void {
    this.#timer ??= sweepTimer(() => void this.sweep(), this.#intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  sweep(): Promise<void> {
    this.#running = this.#running.then(async () => {
      try {
        await this.#jobs.sweepLeases();
        await this.#runs.sweepDeadlines();
      } catch (error) {
        this.#logger.error({ err: error }, 'sweep failed');
      }
    });
    return this.#running;
  }
}
