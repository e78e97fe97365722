import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentMetrics } from '../../src/protocol/agent.js';
import { createAgent, enroll, ScriptedAgent } from '../support/agents.js';
import { call, expectError, expectStatus, roleId, signup, type Session } from '../support/client.js';
import { dialects, HAND_DRIVEN, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import { StatementCounter } from '../support/statements.js';

/** An hour boundary, so minutes and hours of the fixture are easy to name. */
const START = '2030-01-07T10:00:00.000Z';
const at = (time: string) => `2030-01-07T${time}.000Z`;

const metrics = (cpu: number, memory = cpu + 1, disk = cpu + 2, uptime = 1000): AgentMetrics => ({
  cpu_percent: cpu,
  memory_percent: memory,
  disk_percent: disk,
  uptime_seconds: uptime,
});

/** The value of one Prometheus sample, by its name and labels as written. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? NaN : Number(line.slice(series.length + 1));
}

describe.each(dialects)('metrics history on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let stranger: Session;
  let key: string;
  let strangerKey: string;
  let clock: TestClock;
  const counter = new StatementCounter();
  let agentA: ScriptedAgent;
  let agentB: string;
  let strangerAgent: string;
  let promBefore: string;

  const get = (route: string, apiKey = key) => call(server, 'GET', route, { apiKey });
  const setTime = (time: string) => {
    clock.advance(Date.parse(at(time)) - clock.now().getTime());
  };
  /** A heartbeat heard now, written by the next flush. */
  const beat = (agentId: string, time: string, values: AgentMetrics) => {
    setTime(time);
    server.app.services.liveness.record(agentId, values);
  };
  const flush = () => server.app.services.liveness.flush();
  const rollup = () => server.app.services.metricsRollup.run();

  beforeAll(async () => {
    clock = new TestClock(new Date(START));
    server = await startTestServer(dialect, { clock, config: HAND_DRIVEN, plugins: [counter] });
    owner = await signup(server);
    stranger = await signup(server, 'stranger');
    // Access tokens expire as the test clock moves hours on: API keys do not.
    const apiKey = async (session: Session) =>
      (
        await expectStatus(
          call(server, 'POST', '/api/v1/api-keys', {
            token: session.token,
            body: { name: 'metrics', role_id: await roleId(server, session.token, 'admin') },
          }),
          201,
        )
      ).secret as string;
    [key, strangerKey] = await Promise.all([apiKey(owner), apiKey(stranger)]);
    promBefore = (await call(server, 'GET', '/metrics')).body;
    agentA = await ScriptedAgent.enroll(server, owner);
    agentB = (await enroll(server, owner, { facts: { os_type: 'windows' } })).agentId;
    await createAgent(server, owner);
    strangerAgent = await createAgent(server, stranger);
  });
  afterAll(async () => {
    await server.close();
  });

  it('metrics: jobs settle into the Prometheus counters and duration histogram', async () => {
    const run = async (command: string) =>
      (
        await expectStatus(
          call(server, 'POST', `/api/v1/agents/${agentA.id}/jobs`, {
            apiKey: key,
            body: { interpreter: 'bash', command },
          }),
          202,
        )
      ).id as string;
    await run('true');
    await agentA.finish(await agentA.next(), 'succeeded', 0);
    await run('false');
    await agentA.finish(await agentA.next(), 'failed', 1);
    const queued = await run('sleep 1');
    await expectStatus(call(server, 'POST', `/api/v1/jobs/${queued}/cancel`, { apiKey: key }), 202);

    const text: string = (await call(server, 'GET', '/metrics')).body;
    for (const outcome of ['succeeded', 'failed', 'canceled'])
      expect(sample(text, `fleetplane_jobs_finished_total{outcome="${outcome}"}`)).toBe(
        sample(promBefore, `fleetplane_jobs_finished_total{outcome="${outcome}"}`) + 1,
      );
    expect(sample(text, 'fleetplane_jobs_finished_total{outcome="lost"}')).toBe(0);
    // the agent measured 5 ms: the first bucket; a job canceled before it started is not timed
    expect(sample(text, 'fleetplane_job_duration_seconds_bucket{le="0.1",outcome="succeeded"}')).toBe(1);
    expect(sample(text, 'fleetplane_job_duration_seconds_count{outcome="failed"}')).toBe(1);
    expect(sample(text, 'fleetplane_job_duration_seconds_count{outcome="canceled"}')).toBeNaN();
  });

  it('metrics: a flush writes the raw points of its heartbeats in one statement', async () => {
    beat(agentA.id, '10:00:05', { ...metrics(10), gpu_percent: 7 } as AgentMetrics);
    beat(agentB, '10:00:30', metrics(50));
    const { statements } = await counter.during(flush);
    expect(statements.filter((s) => s.includes('metric_points'))).toEqual(['Insert metric_points']);
    const rows = await server.database.db
      .selectFrom('metric_points')
      .select(['agent_id', 'at', 'cpu', 'memory', 'disk', 'uptime', 'extra'])
      .orderBy('at')
      .execute();
    expect(rows).toEqual([
      {
        agent_id: agentA.id,
        at: at('10:00:05'),
        cpu: 10,
        memory: 11,
        disk: 12,
        uptime: 1000,
        extra: '{"gpu_percent":7}',
      },
      { agent_id: agentB, at: at('10:00:30'), cpu: 50, memory: 51, disk: 52, uptime: 1000, extra: null },
    ]);
    const text: string = (await call(server, 'GET', '/metrics')).body;
    expect(sample(text, 'fleetplane_agents{status="online"}')).toBe(2);
    expect(sample(text, 'fleetplane_agents{status="pending"}')).toBe(2);
  });

  it('metrics: closed minutes and hours roll up with exact averages and maxima', async () => {
    for (const [time, cpu] of [
      ['10:00:20', 20],
      ['10:00:50', 60],
      ['10:01:10', 40],
    ] as const) {
      beat(agentA.id, time, metrics(cpu, 100 - cpu, 5, 2000 + cpu));
      await flush();
    }
    // 10:01 is not closed for 20 s after it ends: nothing of it yet
    setTime('10:02:10');
    // the first run begins history at the first point's minute
    expect(await rollup()).toMatchObject({
      minutes: { from: at('10:00:00'), to: at('10:01:00') },
      hours: null,
    });
    const minutes = await get(
      `/api/v1/agents/${agentA.id}/metrics?from=${at('10:00:00')}&to=${at('10:05:00')}&step=1m`,
    );
    expect(minutes.status).toBe(200);
    expect(minutes.body.points.map((p: any) => p.at)).toEqual([at('10:00:00')]);

    setTime('11:00:30');
    // a timer tick folds at most half an hour of raw minutes; the next goes on from there
    const tick = await server.app.services.metricsRollup.run({ maxSpanMs: 30 * 60_000 });
    expect(tick.minutes).toEqual({ from: at('10:01:00'), to: at('10:31:00') });
    const report = await rollup();
    // the first run (at 10:02:10) began history at the first point's minute, 10:00, and rolled that minute
    expect(report).toMatchObject({ minutes: { from: at('10:31:00'), to: at('11:00:00') } });
    expect(report.hours).toEqual({ from: at('10:00:00'), to: at('11:00:00') });
    const range = `from=${at('10:00:00')}&to=${at('11:00:00')}`;
    const byMinute = await expectStatus(get(`/api/v1/agents/${agentA.id}/metrics?${range}&step=1m`), 200);
    expect(byMinute.step).toBe('1m');
    expect(byMinute.points).toEqual(
      [
        {
          at: at('10:00:00'),
          samples: 3,
          cpu_percent: 30,
          cpu_percent_max: 60,
          memory_percent: 131 / 3, // 11, 80, 40
          memory_percent_max: 80,
          disk_percent: 22 / 3, // 12, 5, 5
          disk_percent_max: 12,
          uptime_seconds: 2060,
        },
        {
          at: at('10:01:00'),
          samples: 1,
          cpu_percent: 40,
          cpu_percent_max: 40,
          memory_percent: 60,
          memory_percent_max: 60,
          disk_percent: 5,
          disk_percent_max: 5,
          uptime_seconds: 2040,
        },
      ].map((p) => ({
        ...p,
        memory_percent: round3(p.memory_percent),
        disk_percent: round3(p.disk_percent),
      })),
    );
    const byHour = await expectStatus(get(`/api/v1/agents/${agentA.id}/metrics?${range}&step=1h`), 200);
    expect(byHour.points).toMatchObject([
      { at: at('10:00:00'), samples: 4, cpu_percent: 32.5, cpu_percent_max: 60, uptime_seconds: 2060 },
    ]);
    const raw = await expectStatus(get(`/api/v1/agents/${agentA.id}/metrics?${range}`), 200);
    expect(raw.step).toBe('raw');
    expect(raw.points.map((p: any) => p.cpu_percent)).toEqual([10, 20, 60, 40]);
    expect(raw.points[0].extra).toEqual({ gpu_percent: 7 });

    const fleet = await server.database.db
      .selectFrom('fleet_metrics_1m')
      .select(['bucket', 'agent_minutes', 'samples', 'cpu_sum', 'cpu_max'])
      .where('org_id', '=', owner.orgId)
      .orderBy('bucket')
      .execute();
    expect(
      fleet.map((row) => ({
        ...row,
        agent_minutes: Number(row.agent_minutes),
        samples: Number(row.samples),
      })),
    ).toEqual([
      { bucket: at('10:00:00'), agent_minutes: 2, samples: 4, cpu_sum: 140, cpu_max: 60 },
      { bucket: at('10:01:00'), agent_minutes: 1, samples: 1, cpu_sum: 40, cpu_max: 40 },
    ]);
    // a second run with nothing closed since does nothing
    expect(await rollup()).toEqual({ minutes: null, hours: null, purged: {} });
  });

  it('metrics: the overview counts agents, usage, uptime, jobs, runs, backlogs and deployments', async () => {
    const queue = await expectStatus(
      call(server, 'POST', '/api/v1/queues', { apiKey: key, body: { name: 'invoices' } }),
      201,
    );
    for (const n of [1, 2])
      await expectStatus(
        call(server, 'POST', `/api/v1/queues/${queue.id}/items`, { apiKey: key, body: { content: { n } } }),
        201,
      );
    const day = await expectStatus(get('/api/v1/metrics/overview?window=24h'), 200);
    expect(day.agents).toMatchObject({ total: 3, online: 2, pending: 1 });
    expect(day.agents.by_os.map((os: any) => os.os_type).sort()).toEqual(['ubuntu', 'windows']);
    expect(day.usage).toMatchObject({
      cpu_percent: { avg: 36, peak: 60 }, // 10, 50, 20, 60, 40
      samples: 5,
      // 3 agent-minutes heard of 2 agents × 60 minutes of history (10:00, when it began, to 11:00)
      uptime_percent: 2.5,
    });
    expect(day.usage.series.map((p: any) => p.at)).toEqual([at('10:00:00')]);
    expect(day.jobs).toEqual({
      by_outcome: { succeeded: 1, failed: 1, canceled: 1 },
      total: 3,
      success_rate: 50,
    });
    expect(day.runs).toMatchObject({ total: 0, success_rate: null, in_progress: 0 });
    expect(day.queues).toEqual({
      waiting: 2,
      backlogs: [{ queue_id: queue.id, name: 'invoices', waiting: 2 }],
    });
    expect(day.deployments).toEqual({ by_status: {}, total: 0 });

    // the last hour, from 10:00:30: only the minute 10:01
    const hour = await expectStatus(get('/api/v1/metrics/overview?window=1h'), 200);
    expect(hour.usage).toMatchObject({ cpu_percent: { avg: 40, peak: 40 }, samples: 1 });
    expect(hour.usage.series).toMatchObject([{ at: at('10:01:00'), cpu_percent: 40, agents: 1 }]);

    const other = await expectStatus(get('/api/v1/metrics/overview', strangerKey), 200);
    expect(other.usage).toMatchObject({ samples: 0, cpu_percent: { avg: null, peak: null } });
    expect(other.jobs.total).toBe(0);
    expectError(await get('/api/v1/metrics/overview?window=2d'), 400, 'validation_failed');
  });

  it("metrics: an agent's metrics answer 404 across organisations and 422 on bad ranges", async () => {
    expectError(await get(`/api/v1/agents/${strangerAgent}/metrics`), 404, 'not_found');
    expectError(await get(`/api/v1/agents/${agentA.id}/metrics`, strangerKey), 404, 'not_found');
    const backwards = await get(
      `/api/v1/agents/${agentA.id}/metrics?from=${at('10:05:00')}&to=${at('10:00:00')}`,
    );
    expectError(backwards, 422, 'unprocessable');
    expect(backwards.body.error.details).toEqual([{ field: 'from', message: expect.any(String) }]);
    const tooLong = await get(
      `/api/v1/agents/${agentA.id}/metrics?from=2030-01-01T00:00:00.000Z&to=${at('10:00:00')}&step=raw`,
    );
    expectError(tooLong, 422, 'unprocessable');
    expectError(await get(`/api/v1/agents/${agentA.id}/metrics?step=5m`), 400, 'validation_failed');
    // auto: a week is too long for minutes
    const week = await expectStatus(
      get(`/api/v1/agents/${agentA.id}/metrics?from=2030-01-01T00:00:00.000Z&to=${at('11:00:00')}`),
      200,
    );
    expect(week).toMatchObject({ step: '1h', points: [{ at: at('10:00:00'), samples: 4 }] });
  });

  it('metrics: points, minutes and hours are purged past their retention, never before they are rolled up', async () => {
    const retention = (body: Record<string, number>) =>
      expectStatus(call(server, 'PUT', '/api/v1/settings/metrics', { apiKey: key, body }), 200);
    const count = async (
      table: 'metric_points' | 'agent_metrics_1m' | 'agent_metrics_1h' | 'fleet_metrics_1h',
    ) =>
      Number(
        (await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(server.database.db))
          .rows[0]!.n,
      );
    await retention({ raw_retention_hours: 1, minute_retention_days: 1, hour_retention_days: 2 });
    setTime('11:30:30');
    expect(await count('metric_points')).toBe(5);
    await rollup();
    // raw points before 10:30 are gone; their minutes and hours stay
    expect(await count('metric_points')).toBe(0);
    expect(await count('agent_metrics_1m')).toBe(3);

    clock.advance(25 * 3_600_000);
    await rollup();
    expect(await count('agent_metrics_1m')).toBe(0);
    expect(await count('agent_metrics_1h')).toBe(2);
    const hours = await expectStatus(
      get(`/api/v1/agents/${agentA.id}/metrics?from=${at('10:00:00')}&to=${at('11:00:00')}&step=1h`),
      200,
    );
    expect(hours.points).toHaveLength(1);

    clock.advance(24 * 3_600_000);
    await rollup();
    expect(await count('agent_metrics_1h')).toBe(0);
    expect(await count('fleet_metrics_1h')).toBe(0);
  });

  it("metrics: system info tells the server host's CPU, memory and disk", async () => {
    const info = await expectStatus(get('/api/v1/system/info'), 200);
    expect(info.host.cpu.cores).toBeGreaterThan(0);
    expect(info.host.cpu.load).toHaveLength(3);
    expect(info.host.cpu.percent).toBeGreaterThanOrEqual(0);
    expect(info.host.memory.total_bytes).toBeGreaterThan(info.host.memory.free_bytes);
    expect(info.host.memory.used_percent).toBeGreaterThan(0);
    expect(info.host.disk.total_bytes).toBeGreaterThan(0);
    expect(info.host.disk.free_bytes).toBeLessThanOrEqual(info.host.disk.total_bytes);
  });
});

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}
