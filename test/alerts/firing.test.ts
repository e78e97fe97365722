import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll, ScriptedAgent } from '../support/agents.js';
import { call, expectError, signup, type Session } from '../support/client.js';
import { dialects, HAND_DRIVEN, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import { eventually } from '../support/eventually.js';
import { api, Receiver } from './support.js';

const START = new Date('2030-03-01T10:00:00.000Z');
const MINUTE = 60_000;

describe.each(dialects)('alerts: firing, notifying and silencing on %s', (dialect) => {
  let server: TestServer;
  let clock: TestClock;
  let owner: Session;
  let as: ReturnType<typeof api>;
  const receiver = new Receiver();

  beforeAll(async () => {
    clock = new TestClock(new Date(START));
    await receiver.start();
    server = await startTestServer(dialect, {
      clock,
      config: { ...HAND_DRIVEN, outboundAllow: ['loopback'], accessTokenTtlMs: 100 * 60 * MINUTE },
    });
    owner = await signup(server, 'firing');
    as = api(server, owner);
  });
  afterAll(async () => {
    await server?.close();
    await receiver.close();
  });

  const evaluate = () => server.app.services.alerting.evaluator.evaluate();
  const channel = async (path: string, kind = 'webhook') =>
    (
      await as(
        'POST',
        '/api/v1/notification-channels',
        { name: path, kind, config: { url: `${receiver.url}${path}` } },
        201,
      )
    ).id;
  const alertsOf = async (ruleId: string) =>
    (await as('GET', `/api/v1/alerts?rule_id=${ruleId}`, undefined, 200)).items as any[];
  const historyOf = async (alertId: string) =>
    ((await as('GET', `/api/v1/alerts/${alertId}`, undefined, 200)).history as any[]).map((e) => e.kind);

  it('alerts: a metric above its threshold fires once after holding for its minutes, and resolves when it drops', async () => {
    const { agentId, agentToken } = await enroll(server, owner);
    const beat = async (cpu: number) => {
      await call(server, 'POST', '/api/v1/agent/heartbeat', {
        token: agentToken,
        body: {
          metrics: { cpu_percent: cpu, memory_percent: 20, disk_percent: 30, uptime_seconds: 60 },
          running_job_ids: [],
        },
      });
      await server.app.services.liveness.flush();
    };
    const rule = await as(
      'POST',
      '/api/v1/alert-rules',
      {
        name: 'hot cpu',
        kind: 'metric_above',
        params: { selector: { agent_ids: [agentId] }, metric: 'cpu_percent', threshold: 90, minutes: 5 },
        severity: 'critical',
        channel_ids: [await channel('/hot', 'slack')],
      },
      201,
    );
    await beat(95);
    await evaluate();
    clock.advance(3 * MINUTE);
    await beat(96);
    await evaluate();
    expect(await alertsOf(rule.id)).toEqual([]);

    clock.advance(2 * MINUTE);
    await beat(97);
    // Two passes at once, then more: one alert for the rule and its agent.
    await Promise.all([evaluate(), evaluate()]);
    await evaluate();
    const [alert, ...more] = await alertsOf(rule.id);
    expect(more).toEqual([]);
    expect(alert).toMatchObject({
      rule_name: 'hot cpu',
      subject: `agent:${agentId}`,
      state: 'firing',
      severity: 'critical',
      fired_at: clock.now().toISOString(),
    });
    expect(alert.summary).toContain('cpu_percent at 97');
    expect(receiver.at('/hot')).toHaveLength(1);
    expect(receiver.at('/hot')[0]?.body.text).toContain('[FIRING] hot cpu');

    await beat(40);
    await evaluate();
    expect((await alertsOf(rule.id)).map((a) => a.state)).toEqual(['resolved']);
    expect(receiver.at('/hot').map((r) => r.body.text.split(' ')[0])).toEqual(['[FIRING]', '[RESOLVED]']);
    expect(await historyOf(alert.id)).toEqual(['fired', 'notified', 'resolved', 'notified']);

    // Hot again: a new alert, the resolved one stays as it was.
    await beat(99);
    await evaluate();
    clock.advance(5 * MINUTE);
    await evaluate();
    expect((await alertsOf(rule.id)).map((a) => a.state)).toEqual(['firing', 'resolved']);
  });

  it('alerts: a silence records the alert but holds its notification until it ends; acknowledging stops them', async () => {
    const queue = await as('POST', '/api/v1/queues', { name: 'orders' }, 201);
    for (let i = 0; i < 3; i += 1)
      await as('POST', `/api/v1/queues/${queue.id}/items`, { content: { i } }, 201);
    const rule = await as(
      'POST',
      '/api/v1/alert-rules',
      {
        name: 'orders pile up',
        kind: 'queue_backlog',
        params: { queue_id: queue.id, items: 2 },
        channel_ids: [await channel('/silenced')],
      },
      201,
    );
    const silence = await as(
      'POST',
      '/api/v1/silences',
      {
        rule_id: rule.id,
        reason: 'migration',
        ends_at: new Date(clock.now().getTime() + 10 * MINUTE).toISOString(),
      },
      201,
    );
    await evaluate();
    await evaluate();
    const [alert] = await alertsOf(rule.id);
    expect(alert).toMatchObject({ state: 'firing', subject_label: 'orders', notified_at: null });
    expect(alert.summary).toContain('3 items wait');
    expect(await historyOf(alert.id)).toEqual(['fired', 'silenced']);
    expect(receiver.at('/silenced')).toEqual([]);

    // The silence over, the alert still firing is told once.
    clock.advance(10 * MINUTE);
    await evaluate();
    await evaluate();
    expect(receiver.at('/silenced')).toHaveLength(1);
    expect(receiver.at('/silenced')[0]?.body).toMatchObject({
      event: 'alert.fired',
      alert_id: alert.id,
      rule: { id: rule.id, name: 'orders pile up', kind: 'queue_backlog' },
    });
    expect((await as('GET', `/api/v1/silences/${silence.id}`, undefined, 200)).state).toBe('expired');

    const acknowledged = await as('POST', `/api/v1/alerts/${alert.id}/acknowledge`, undefined, 200);
    expect(acknowledged).toMatchObject({ state: 'acknowledged', acknowledged_by: owner.email });
    expect(acknowledged.history.at(-1)).toMatchObject({ kind: 'acknowledged', actor: owner.email });
    await as('POST', `/api/v1/alerts/${alert.id}/acknowledge`, undefined, 200);
    const listed = await as('GET', '/api/v1/alerts?state=acknowledged', undefined, 200);
    expect(listed.items.map((a: any) => a.id)).toEqual([alert.id]);

    // Two items taken off: the backlog clears and the alert resolves by itself.
    await as('POST', `/api/v1/queues/${queue.id}/items/claim`, undefined, 200);
    await evaluate();
    const [resolved] = await alertsOf(rule.id);
    expect(resolved).toMatchObject({ state: 'resolved', acknowledged_by: owner.email });
    expectError(
      await call(server, 'POST', `/api/v1/alerts/${alert.id}/acknowledge`, { token: owner.token }),
      409,
      'conflict',
    );
    const stranger = await signup(server, 'stranger');
    expectError(
      await call(server, 'GET', `/api/v1/alerts/${alert.id}`, { token: stranger.token }),
      404,
      'not_found',
    );
  });

  it("alerts: job_failed follows a script's latest job, and a disabled rule's alert resolves", async () => {
    const agent = await ScriptedAgent.enroll(server, owner);
    const script = await as(
      'POST',
      '/api/v1/scripts',
      { name: 'backup', language: 'sh', content: 'echo' },
      201,
    );
    const runOnce = async (status: string) => {
      await as('POST', `/api/v1/scripts/${script.id}/run`, { agent_id: agent.id }, 202);
      await agent.finish(await agent.next(), status, status === 'succeeded' ? 0 : 1);
    };
    const rule = await as(
      'POST',
      '/api/v1/alert-rules',
      { name: 'backup failed', kind: 'job_failed', params: { script_id: script.id } },
      201,
    );
    await runOnce('succeeded');
    await evaluate();
    expect(await alertsOf(rule.id)).toEqual([]);
    await runOnce('failed');
    await evaluate();
    expect(await alertsOf(rule.id)).toEqual([
      expect.objectContaining({ subject: `script:${script.id}`, subject_label: 'backup', state: 'firing' }),
    ]);
    await runOnce('succeeded');
    await evaluate();
    expect((await alertsOf(rule.id)).map((a) => a.state)).toEqual(['resolved']);

    await runOnce('failed');
    await evaluate();
    await as('PATCH', `/api/v1/alert-rules/${rule.id}`, { enabled: false }, 200);
    await evaluate();
    const [latest] = await alertsOf(rule.id);
    expect(latest.state).toBe('resolved');
    const detail = await as('GET', `/api/v1/alerts/${latest.id}`, undefined, 200);
    expect(detail.history.at(-1)).toMatchObject({ kind: 'resolved', detail: { reason: 'rule disabled' } });
  });

  it('alerts: run_failure_rate fires at its share of the last runs and resolves; a maintenance window holds only what happens inside it', async () => {
    // an organisation of its own: its runs are the only ones the rule counts
    const tenant = await signup(server, 'rates');
    const asTenant = api(server, tenant);
    const agent = await ScriptedAgent.enroll(server, tenant);
    const runEnding = async (status: 'succeeded' | 'failed') => {
      const run = await asTenant(
        'POST',
        '/api/v1/runs',
        { target: { agent_ids: [agent.id] }, job: { interpreter: 'sh', command: 'true' } },
        202,
      );
      await agent.finish(await agent.next(), status, status === 'succeeded' ? 0 : 1);
      // a run is closed after its last job, a moment later
      await eventually(
        async () => (await asTenant('GET', `/api/v1/runs/${run.id}`, undefined, 200)).status === status,
        { what: `run ${run.id} ${status}`, intervalMs: 20 },
      );
    };
    const rateChannel = (
      await asTenant(
        'POST',
        '/api/v1/notification-channels',
        { name: 'rates', kind: 'webhook', config: { url: `${receiver.url}/rate` } },
        201,
      )
    ).id;
    const rule = await asTenant(
      'POST',
      '/api/v1/alert-rules',
      {
        name: 'runs failing',
        kind: 'run_failure_rate',
        params: { percent: 50, last_runs: 4 },
        channel_ids: [rateChannel],
      },
      201,
    );
    const alertsOfTenant = async () =>
      (await asTenant('GET', `/api/v1/alerts?rule_id=${rule.id}`, undefined, 200)).items as any[];
    const window = await asTenant(
      'POST',
      '/api/v1/silences',
      {
        rule_id: rule.id,
        reason: 'patch night',
        starts_at: new Date(clock.now().getTime() + 10 * MINUTE).toISOString(),
        ends_at: new Date(clock.now().getTime() + 30 * MINUTE).toISOString(),
      },
      201,
    );
    expect(window.state).toBe('pending');

    await runEnding('succeeded');
    await runEnding('succeeded');
    await runEnding('failed');
    await evaluate();
    expect(await alertsOfTenant()).toEqual([]); // 1 of 3 failed: under half

    // 2 of 4: at the threshold, before the window starts: told at once
    await runEnding('failed');
    await evaluate();
    const [first] = await alertsOfTenant();
    expect(first).toMatchObject({ state: 'firing', subject: 'runs' });
    expect(first.summary).toBe('2 of the last 4 runs failed (50%)');
    expect(receiver.at('/rate').map((r) => r.body.event)).toEqual(['alert.fired']);

    for (let i = 0; i < 3; i += 1) await runEnding('succeeded');
    await evaluate();
    expect((await alertsOfTenant()).map((a) => a.state)).toEqual(['resolved']); // 1 of the last 4

    // inside the window: a new alert is kept, its notification held
    clock.advance(10 * MINUTE);
    await runEnding('failed');
    await runEnding('failed');
    await evaluate();
    const [second] = await alertsOfTenant();
    expect(second).toMatchObject({ state: 'firing', notified_at: null });
    expect(
      ((await asTenant('GET', `/api/v1/alerts/${second.id}`, undefined, 200)).history as any[]).map(
        (e) => e.kind,
      ),
    ).toEqual(['fired', 'silenced']);
    expect(receiver.at('/rate').map((r) => r.body.event)).toEqual(['alert.fired', 'alert.resolved']);

    // the window over, the alert still firing is told once
    clock.advance(20 * MINUTE);
    await evaluate();
    await evaluate();
    expect(receiver.at('/rate').map((r) => r.body.event)).toEqual([
      'alert.fired',
      'alert.resolved',
      'alert.fired',
    ]);
    expect(receiver.at('/rate').at(-1)?.body.alert_id).toBe(second.id);
  });

  it("alerts: deployment_failed fires on a service's failed deployment and resolves when the next one succeeds", async () => {
    const tenant = await signup(server, 'deploys');
    const asTenant = api(server, tenant);
    const agent = await ScriptedAgent.enroll(server, tenant);
    const svc = await asTenant(
      'POST',
      '/api/v1/services',
      {
        name: 'shop',
        script: { interpreter: 'bash', content: 'echo deploying' },
        steps: ['build'],
        runs_on: { type: 'agent', agent_id: agent.id },
      },
      201,
    );
    const deploy = async (status: 'succeeded' | 'failed') => {
      const started = await asTenant('POST', '/api/v1/deployments', { service_id: svc.id }, 201);
      await agent.finish(await agent.next(), status, status === 'succeeded' ? 0 : 1);
      await eventually(
        async () =>
          (await asTenant('GET', `/api/v1/deployments/${started.id}`, undefined, 200)).status === status,
        { what: `deployment ${started.id} ${status}`, intervalMs: 20 },
      );
      return started.id as string;
    };
    const rule = await asTenant(
      'POST',
      '/api/v1/alert-rules',
      { name: 'shop deploys', kind: 'deployment_failed', params: { service_id: svc.id } },
      201,
    );
    const alertsOfTenant = async () =>
      (await asTenant('GET', `/api/v1/alerts?rule_id=${rule.id}`, undefined, 200)).items as any[];

    await deploy('succeeded');
    await evaluate();
    expect(await alertsOfTenant()).toEqual([]);
    const failedId = await deploy('failed');
    await evaluate();
    expect(await alertsOfTenant()).toEqual([
      expect.objectContaining({ state: 'firing', subject: `service:${svc.id}`, subject_label: 'shop' }),
    ]);
    expect((await alertsOfTenant())[0].summary).toContain(failedId);
    await deploy('succeeded');
    await evaluate();
    expect((await alertsOfTenant()).map((a) => a.state)).toEqual(['resolved']);
  });

  it('alerts: a failed notification is tried again and each attempt kept in the history', async () => {
    const queue = await as('POST', '/api/v1/queues', { name: 'retries' }, 201);
    await as('POST', `/api/v1/queues/${queue.id}/items`, { content: {} }, 201);
    const rule = await as(
      'POST',
      '/api/v1/alert-rules',
      {
        name: 'retry me',
        kind: 'queue_backlog',
        params: { queue_id: queue.id, items: 0 },
        channel_ids: [await channel('/flaky')],
      },
      201,
    );
    receiver.status = 503;
    const failing = setTimeout(() => {
      receiver.status = 200;
    }, 300);
    await evaluate();
    clearTimeout(failing);
    receiver.status = 200;
    const [alert] = await alertsOf(rule.id);
    const detail = await as('GET', `/api/v1/alerts/${alert.id}`, undefined, 200);
    const attempts = detail.history.filter((e: any) => e.kind.startsWith('notif'));
    expect(attempts.map((e: any) => [e.kind, e.detail.attempt, e.detail.status])).toEqual([
      ['notify_failed', 1, 503],
      ['notified', 2, 200],
    ]);
    expect(detail.notified_at).not.toBeNull();
  });

  it('alerts: test-webhook answers what the receiver said, 502 when it cannot be reached, 422 for a private address', async () => {
    const sent = await as(
      'POST',
      '/api/v1/alerts/test-webhook',
      { url: `${receiver.url}/probe`, kind: 'teams' },
      200,
    );
    expect(sent).toEqual({ ok: true, status: 200, body: 'answered 200', duration_ms: expect.any(Number) });
    expect(receiver.at('/probe')[0]?.body).toMatchObject({
      '@type': 'MessageCard',
      title: expect.stringContaining('[TEST]'),
    });
    receiver.status = 418;
    const refused = await as('POST', '/api/v1/alerts/test-webhook', { url: `${receiver.url}/probe` }, 200);
    receiver.status = 200;
    expect(refused).toMatchObject({ ok: false, status: 418, body: 'answered 418' });
    expect(receiver.at('/probe')[1]?.body).toMatchObject({ event: 'alert.test', severity: 'info' });

    const closed = new Receiver();
    await closed.start();
    await closed.close();
    const unreachable = await call(server, 'POST', '/api/v1/alerts/test-webhook', {
      token: owner.token,
      body: { url: closed.url },
    });
    expectError(unreachable, 502, 'bad_gateway');
    expect(unreachable.body.error.message).toMatch(/could not be reached/);
    const lan = await call(server, 'POST', '/api/v1/alerts/test-webhook', {
      token: owner.token,
      body: { url: 'http://192.168.1.10/hook' },
    });
    expectError(lan, 422, 'unprocessable');
    expect(lan.body.error.details[0]).toMatchObject({ field: 'url' });

    const slack = await channel('/channel-test', 'slack');
    const tested = await as('POST', `/api/v1/notification-channels/${slack}/test`, undefined, 200);
    expect(tested).toMatchObject({ ok: true, status: 200 });
    expect(receiver.at('/channel-test')[0]?.body.text).toContain('[TEST]');
    // Email goes through the Mailer (without SMTP settings, to the server log).
    const mail = await as(
      'POST',
      '/api/v1/notification-channels',
      { name: 'mail', kind: 'email', config: { to: ['oncall@example.test'] } },
      201,
    );
    const mailed = await as('POST', `/api/v1/notification-channels/${mail.id}/test`, undefined, 200);
    expect(mailed).toMatchObject({
      ok: true,
      status: null,
      body: expect.stringContaining('oncall@example.test'),
    });
    expect(server.logs.some((line) => JSON.stringify(line).includes('[TEST] Test of mail'))).toBe(true);
  });
});
