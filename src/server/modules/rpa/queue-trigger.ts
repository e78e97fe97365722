import type { JobsService } from '../execution/jobs.service.js';
import type { QueueTrigger } from '../queues/queues.sweeper.js';
import type { ProcessJobsService } from './process-jobs.service.js';
import { systemContext } from './system-context.js';

/** Jobs of one process counted at most: a trigger never wants more than 100 at once. */
const MAX_COUNTED = 1000;

/**
 * A queue's trigger as process jobs: while items wait, jobs of the trigger process are started
 * (pooled on its robot pool, the queue named in `FP_QUEUE_ID`) up to the queue's maximum, counting the
 * process's jobs not yet ended. They are created by the system, in the queue's name.
 */
export function processQueueTrigger(deps: {
  jobs: JobsService;
  processJobs: ProcessJobsService;
}): QueueTrigger {
  return {
    async activeJobs(orgId, _queueId, processId) {
      return (await deps.jobs.liveProcessJobs(orgId, processId, MAX_COUNTED)).length;
    },
    async startProcessJobs(orgId, queueId, processId, wanted) {
      const ctx = systemContext(orgId, 'queue trigger', queueId);
      for (let i = 0; i < wanted; i += 1) await deps.processJobs.startForQueue(ctx, processId, queueId);
    },
  };
}
