import WebSocket from 'ws';
import type { Simulators } from './fleet-agents.js';
import type { FleetResult } from './fleet-report.js';
import { api, log, sleep, type Fleetplane } from './support.js';

/**
 * One run over the whole fleet, started on a node with POST /api/v1/runs and followed on that
 * node's console stream; each job's arrival is taken at its agent by the simulators.
 */

const FINAL_RUN_STATUSES = new Set(['succeeded', 'failed', 'canceled']);

/** Run progress as the console stream reports it; events may arrive before POST /runs answers. */
class RunWatcher {
  readonly #ws: WebSocket;
  readonly latest = new Map<
    string,
    { status: string; counts: Record<string, number>; at: number; events: number }
  >();
  /** Every event the console stream delivered. */
  events = 0;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data: Buffer) => {
      this.events += 1;
      const event = JSON.parse(data.toString('utf8'));
      if (event.type !== 'run.progress') return;
      const events = (this.latest.get(event.run_id)?.events ?? 0) + 1;
      this.latest.set(event.run_id, { status: event.status, counts: event.counts, at: Date.now(), events });
    });
  }

  static open(url: string, token: string): Promise<RunWatcher> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/events/ws?access_token=${token}`);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RunWatcher(ws)));
      ws.once('error', reject);
    });
  }

  /** Resolves with the run's final event, or its latest one once `timeoutMs` has passed. */
  async final(runId: string, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    let lastLog = Date.now();
    for (;;) {
      const progress = this.latest.get(runId);
      if (progress && FINAL_RUN_STATUSES.has(progress.status)) return progress;
      if (Date.now() > deadline) return progress;
      if (Date.now() - lastLog >= 5000) {
        lastLog = Date.now();
        const c = progress?.counts;
        log(
          `    run: ${c ? `${c.succeeded} succeeded, ${c.running} running, ${c.dispatched} dispatched, ${c.queued} queued` : 'no progress yet'}`,
        );
      }
      await sleep(20);
    }
  }

  close(): void {
    this.#ws.close();
  }
}

export async function measureRun(
  node: Fleetplane,
  sims: Simulators,
  token: string,
  options: { agents: number; runTimeoutS: number },
): Promise<FleetResult['run']> {
  const watcher = await RunWatcher.open(node.url, token);
  try {
    const started = Date.now();
    const created = await api(node.url, 'POST', '/api/v1/runs', {
      token,
      body: {
        name: `bench ${options.agents}`,
        target: { all: true },
        job: { interpreter: 'sh', command: 'true' },
        concurrency: options.agents,
      },
      expect: 202,
    });
    const answered = Date.now();
    const runId = created.body.id as string;
    log(`    run ${runId} created in ${answered - started} ms`);
    const final = await watcher.final(runId, options.runTimeoutS * 1000);
    const [stats, arrivals] = await Promise.all([sims.stats(), sims.deliveries()]);
    const run = await api(node.url, 'GET', `/api/v1/runs/${runId}`, { token, expect: 200 });
    const after = (at: number | null | undefined) => (at === null || at === undefined ? NaN : at - answered);
    const finished = final && FINAL_RUN_STATUSES.has(final.status) ? final : undefined;
    return {
      status: finished ? finished.status : `unfinished (${run.body.status})`,
      succeeded: Number(run.body.counts.succeeded),
      total: Number(run.body.counts.total),
      delivered: stats.jobsReceived,
      createMs: answered - started,
      firstJobMs: after(arrivals[0]),
      medianJobMs: after(arrivals[Math.floor(arrivals.length / 2)]),
      lastJobMs: after(arrivals.at(-1)),
      lastResultMs: after(stats.lastResultAt),
      finalMs: after(finished?.at),
      progressEvents: final?.events ?? 0,
      consoleEvents: watcher.events,
    };
  } finally {
    watcher.close();
  }
}
