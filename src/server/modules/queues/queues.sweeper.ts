import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { sweepTimer } from '../../lib/sweep-timer.js';
import { itemsRepo } from './items.repo.js';
import { queuesRepo } from './queues.repo.js';

/**
 * How a queue starts the process that works it: the processes module answers these (app.ts wires
 * them); without it, nothing is started. `startProcessJobs` is asked for at most `wanted` more
 * jobs; `activeJobs` counts the process's jobs still queued or running for the queue.
 */
export interface QueueTrigger {
  activeJobs(orgId: string, queueId: string, processId: string): Promise<number>;
  startProcessJobs(orgId: string, queueId: string, processId: string, wanted: number): Promise<void>;
}

export const noQueueTrigger: QueueTrigger = {
  activeJobs: () => Promise.resolve(0),
  startProcessJobs: () => Promise.resolve(),
};

/**
 * The queues' upkeep, each sweep: items in progress past their queue's item timeout become
 * `abandoned` (one conditional UPDATE, so several nodes sweeping at once take each item once),
 * then each active queue with a trigger process and waiting items gets up to trigger_max_jobs
 * jobs of it, counting those still active. Every node sweeps; the trigger's counting of active
 * jobs is what keeps their sum at the maximum, as closely as those counts are current.
 */
export class QueueSweeper {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #trigger: QueueTrigger;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(deps: {
    db: Executor;
    clock: Clock;
    trigger: QueueTrigger;
    intervalMs: number;
    logger: Logger;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#trigger = deps.trigger;
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
    this.#running = this.#running.then(async () => {
      try {
        await this.#abandonExpired();
        await this.#startTriggeredJobs();
      } catch (error) {
        this.#logger.error({ err: error }, 'queue sweep failed');
      }
    });
    return this.#running;
  }

  async #abandonExpired(): Promise<void> {
    const abandoned = await itemsRepo.abandonExpired(this.#db, this.#clock.now().toISOString());
    if (abandoned.length > 0) this.#logger.info({ count: abandoned.length }, 'queue items abandoned');
  }

  async #startTriggeredJobs(): Promise<void> {
    const queues = await queuesRepo.triggered(this.#db, this.#clock.now().toISOString());
    for (const queue of queues) {
      const { org_id: orgId, id: queueId, trigger_process_id: processId } = queue;
      try {
        const active = await this.#trigger.activeJobs(orgId, queueId, processId);
        const wanted = Math.min(queue.waiting, queue.trigger_max_jobs - active);
        if (wanted > 0) await this.#trigger.startProcessJobs(orgId, queueId, processId, wanted);
      } catch (error) {
        // One queue's process failing to start leaves the other queues theirs.
        this.#logger.error({ err: error, queueId, processId }, 'starting a queue trigger process failed');
      }
    }
  }
}
