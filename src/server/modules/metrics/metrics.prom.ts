import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { finalJobStatuses } from '../../../protocol/jobs.js';
import type { JobsService } from '../execution/jobs.service.js';
import type { MetricsService } from './metrics.service.js';

const AGENT_STATUSES = ['online', 'offline', 'pending'] as const;

/**
 * The fleet on `/metrics`: agents by status (the whole deployment, read at each scrape), and the
 * jobs this node settled by outcome with their durations (counted where every job settles:
 * JobsService's final listeners).
 */
export function registerFleetMetrics(
  registry: Registry,
  deps: { metrics: Pick<MetricsService, 'agentsByStatus'>; jobs: Pick<JobsService, 'onFinal'> },
): void {
  const { metrics, jobs } = deps;
  new Gauge({
    name: 'fleetplane_agents',
    help: 'Agents of every organisation by status (deleted ones left out)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const counts = await metrics.agentsByStatus();
      for (const status of AGENT_STATUSES) this.set({ status }, counts[status] ?? 0);
    },
  });
  const finished = new Counter({
    name: 'fleetplane_jobs_finished_total',
    help: 'Jobs this node settled, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  // Every outcome is present from the start, at 0, so a rate over it never starts from nothing.
  for (const outcome of finalJobStatuses) finished.inc({ outcome }, 0);
  const duration = new Histogram({
    name: 'fleetplane_job_duration_seconds',
    help: 'How long jobs ran (as their agent measured, else from start to end), by outcome; jobs that never started are left out',
    labelNames: ['outcome'],
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 14_400],
    registers: [registry],
  });
  jobs.onFinal((job) => {
    finished.inc({ outcome: job.status });
    const ms =
      job.duration_ms ??
      (job.started_at && job.finished_at ? Date.parse(job.finished_at) - Date.parse(job.started_at) : null);
    if (ms !== null && ms >= 0) duration.observe({ outcome: job.status }, ms / 1000);
    return Promise.resolve();
  });
}
