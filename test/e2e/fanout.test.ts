import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../support/agents.js';
import { expectStatus } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import {
  EventsClient,
  enrollmentToken,
  startAgent,
  startServer,
  tempDir,
  useLeakGuard,
  type E2EServer,
} from './support.js';

useLeakGuard();

const AGENTS = 50;
const CONCURRENCY = 5;
const STARTING_AT_ONCE = 8;

/**
 * Fifty agents share two cores with their server here, so a heartbeat can come late: leases and
 * the offline threshold get more room than the other files give them (a lapsed lease would
 * re-queue a job and blur what this test measures).
 */
const ROOMY_FLEET = {
  FLEETPLANE_HEARTBEAT_INTERVAL_MS: '1000',
  FLEETPLANE_OFFLINE_AFTER_MS: '10000',
  FLEETPLANE_JOB_LEASE_MS: '10000',
  FLEETPLANE_SWEEP_INTERVAL_MS: '250',
  FLEETPLANE_HEARTBEAT_FLUSH_MS: '200',
};

/** The most scripts running at once: at any instant, the starts so far less the ends so far. */
function peakRunning(starts: number[], ends: number[]): number {
  const edges = [...starts.map((at) => ({ at, delta: 1 })), ...ends.map((at) => ({ at, delta: -1 }))];
  // an end and a start at the same instant do not overlap
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let peak = 0;
  for (const edge of edges) {
    open += edge.delta;
    peak = Math.max(peak, open);
  }
  return peak;
}

describe('e2e fan-out on sqlite', () => {
  let server: E2EServer;
  const agents: AgentProcess[] = [];

  beforeAll(async () => {
    server = await startServer('sqlite', ROOMY_FLEET);
    const token = await enrollmentToken(server, 'fleet of fifty');
    // a few at a time, so fifty interpreters do not all compile at once on two cores
    const names = Array.from({ length: AGENTS }, (_, i) => `fan-${String(i).padStart(2, '0')}`);
    const starter = async () => {
      for (let name = names.shift(); name; name = names.shift())
        agents.push(await startAgent(server, { token, name }));
    };
    await Promise.all(Array.from({ length: STARTING_AT_ONCE }, starter));
    await eventually(
      async () => {
        const page = await expectStatus(server.api('GET', '/api/v1/agents?status=online&limit=200'), 200);
        return page.items.filter((a: any) => a.connected).length === AGENTS;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: `${AGENTS} agents online and connected` },
    );
    // Fifty agent processes take about two minutes to start on a quiet two-core machine, over
    // three when other work shares it: the hook's limit is a guard against a hang, not a figure.
  }, 360_000);

  it('e2e: a run over 50 agents never exceeds its concurrency limit', { timeout: 120_000 }, async () => {
    expect(new Set(agents.map((a) => a.id)).size).toBe(AGENTS);
    const log = path.join(tempDir('fanout'), 'intervals.log');
    const events = await EventsClient.open(server);

    const created = await expectStatus(
      server.api('POST', '/api/v1/runs', {
        body: {
          name: 'fan-out',
          target: { all: true },
          job: {
            interpreter: 'bash',
            // lines this short are appended whole, even by fifty writers
            command: 'echo "start $(date +%s%N)" >> "$LOG"; sleep 0.5; echo "end $(date +%s%N)" >> "$LOG"',
            env: { LOG: log },
          },
          concurrency: CONCURRENCY,
        },
      }),
      202,
    );
    expect(created.counts.total).toBe(AGENTS);
    await events.next(
      (e) => e.type === 'run.progress' && e.run_id === created.id && e.status !== 'running',
      100_000,
    );

    // replays the job states in the order the server published them
    const states = new Map<string, string>();
    let peak = 0;
    for (const event of events.events) {
      if (event.type !== 'job.state' || event.run_id !== created.id) continue;
      states.set(event.job_id, event.status);
      const leased = [...states.values()].filter((s) => s === 'dispatched' || s === 'running').length;
      peak = Math.max(peak, leased);
    }
    expect(peak).toBe(CONCURRENCY);
    expect(states.size).toBe(AGENTS);
    expect([...states.values()].every((s) => s === 'succeeded')).toBe(true);

    const run = await expectStatus(server.api('GET', `/api/v1/runs/${created.id}`), 200);
    expect(run.status).toBe('succeeded');
    expect(run.counts).toMatchObject({ total: AGENTS, succeeded: AGENTS, failed: 0, lost: 0 });
    const jobs = (await expectStatus(server.api('GET', `/api/v1/runs/${created.id}/jobs?limit=200`), 200))
      .items;
    expect(new Set(jobs.map((j: any) => j.agent_id)).size).toBe(AGENTS);
    expect(jobs.every((j: any) => j.attempt === 1)).toBe(true);

    // and on the machine: never more than the limit of scripts running at once
    const marks = readFileSync(log, 'utf8').trim().split('\n');
    const starts = marks.filter((m) => m.startsWith('start ')).map((m) => Number(m.slice(6)) / 1e6);
    const ends = marks.filter((m) => m.startsWith('end ')).map((m) => Number(m.slice(4)) / 1e6);
    expect(starts).toHaveLength(AGENTS);
    expect(ends).toHaveLength(AGENTS);
    expect(peakRunning(starts, ends)).toBeLessThanOrEqual(CONCURRENCY);
    events.close();
  });
});
