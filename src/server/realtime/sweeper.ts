import type { Logger } from '../lib/logger.js';
import { sweepTimer, type OutageHold } from '../lib/sweep-timer.js';
import type { Liveness } from '../modules/agents/liveness.js';
import type { JobsService } from '../modules/execution/jobs.service.js';
import type { RunsService } from '../modules/execution/runs.service.js';

/**
 * Periodic repairs that make lost work visible: expired job leases (re-queued or lost), pooled
 * jobs still waiting (their pools woken again) and run jobs whose agents never came online before
 * the deadline. At start, every live lease is
 * extended first: the agents could not renew them while no node ran. Every node sweeps; the
 * conditional updates underneath let only one node win each row.
 *
 * Leases are judged on written heartbeats: this node's are written first, and after the database
 * was unreachable (no lease could be renewed) none is judged until the other nodes wrote theirs.
 */
export class Sweeper {
  readonly #jobs: JobsService;
  readonly #runs: RunsService;
  readonly #liveness: Pick<Liveness, 'flush'>;
  readonly #intervalMs: number;
  readonly #hold: OutageHold;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(deps: {
    jobs: JobsService;
    runs: RunsService;
    liveness: Pick<Liveness, 'flush'>;
    hold: OutageHold;
    intervalMs: number;
    logger: Logger;
  }) {
    this.#jobs = deps.jobs;
    this.#runs = deps.runs;
    this.#liveness = deps.liveness;
    this.#intervalMs = deps.intervalMs;
    this.#hold = deps.hold;
    this.#logger = deps.logger;
  }

  start(): void {
    if (this.#timer) return;
    // before any lease is judged: the leases that lapsed while no node ran get their agents' time back
    this.#running = this.#running.then(() =>
      this.#jobs.extendLeasesAtStart().then(
        () => undefined,
        (error: unknown) => this.#logger.error({ err: error }, 'extending the job leases at start failed'),
      ),
    );
    this.#timer = sweepTimer(() => void this.sweep(), this.#intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  sweep(): Promise<void> {
    this.#running = this.#running.then(async () => {
      try {
        await this.#liveness.flush();
        if (await this.#hold.holding()) return;
        await this.#jobs.sweepLeases();
        await this.#jobs.sweepPools();
        await this.#runs.sweepDeadlines();
      } catch (error) {
        this.#hold.failed(error);
        this.#logger.error({ err: error }, 'sweep failed');
      }
    });
    return this.#running;
  }
}
