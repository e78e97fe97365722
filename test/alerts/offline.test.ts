import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentToken, startAgent, untilOnline, type AgentProcess } from '../support/agents.js';
import { signup, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, HAND_DRIVEN, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import { stopProcess } from '../support/processes.js';
import { api, Receiver } from './support.js';

const MINUTE = 60_000;

/**
 * The end-to-end case: a real `fleetplane agent` process is stopped, the alert fires and
 * its channel is told; the agent comes back and the alert resolves. Time moves by the test clock;
 * the evaluator and the liveness sweep are driven by hand.
 */
describe.each(dialects)('alerts: a real agent going offline on %s', (dialect) => {
  let server: TestServer;
  let clock: TestClock;
  let owner: Session;
  let as: ReturnType<typeof api>;
  let agent: AgentProcess;
  let dir: string;
  const receiver = new Receiver();

  beforeAll(async () => {
    clock = new TestClock(new Date());
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-alerts-'));
    await receiver.start();
    server = await startTestServer(dialect, {
      clock,
      config: { ...HAND_DRIVEN, outboundAllow: ['loopback'], accessTokenTtlMs: 600 * MINUTE },
    });
    owner = await signup(server, 'offline');
    as = api(server, owner);
    const { secret } = await enrollmentToken(server, owner, { tags: ['edge'] });
    agent = await startAgent(server.url, { token: secret, stateDir: path.join(dir, 'edge') });
    await untilOnline(server, owner.token, agent.id);
  });
  afterAll(async () => {
    if (agent) await stopProcess(agent.proc);
    await server?.close();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const evaluate = () => server.app.services.alerting.evaluator.evaluate();
  const alertsOf = async (ruleId: string) =>
    (await as('GET', `/api/v1/alerts?rule_id=${ruleId}`, undefined, 200)).items as any[];

  it('alerts: agent_offline fires when the agent process stops, and resolves when it comes back', async () => {
    const channel = await as(
      'POST',
      '/api/v1/notification-channels',
      { name: 'edge hook', kind: 'webhook', config: { url: `${receiver.url}/edge` } },
      201,
    );
    const rule = await as(
      'POST',
      '/api/v1/alert-rules',
      {
        name: 'edge down',
        kind: 'agent_offline',
        params: { selector: { tags: ['edge'] }, minutes: 2 },
        channel_ids: [channel.id],
      },
      201,
    );
    await evaluate();
    expect(await alertsOf(rule.id)).toEqual([]);

    await stopProcess(agent.proc);
    await eventually(
      async () =>
        (await as('GET', `/api/v1/agents/${agent.id}`, undefined, 200)).connected ? undefined : true,
      {
        what: 'the agent to disconnect',
        intervalMs: 20,
      },
    );
    // Silent past offlineAfterMs: the sweep marks it offline; not yet for the rule's 2 minutes.
    clock.advance(HAND_DRIVEN.fleet.offlineAfterMs + 1000);
    await server.app.services.liveness.sweep();
    await evaluate();
    expect(await alertsOf(rule.id)).toEqual([]);
    clock.advance(MINUTE);
    await evaluate();
    const [alert] = await alertsOf(rule.id);
    expect(alert).toMatchObject({ subject: `agent:${agent.id}`, state: 'firing', severity: 'warning' });
    expect(receiver.at('/edge').map((r) => r.body.event)).toEqual(['alert.fired']);
    expect(receiver.at('/edge')[0]?.body).toMatchObject({ alert_id: alert.id, subject: `agent:${agent.id}` });

    // Started again on its state dir, it comes back as the same agent.
    agent = await startAgent(server.url, { stateDir: agent.stateDir, fingerprint: agent.fingerprint });
    await untilOnline(server, owner.token, agent.id);
    await evaluate();
    const [resolved] = await alertsOf(rule.id);
    expect(resolved).toMatchObject({
      id: alert.id,
      state: 'resolved',
      resolved_at: clock.now().toISOString(),
    });
    expect(receiver.at('/edge').map((r) => r.body.event)).toEqual(['alert.fired', 'alert.resolved']);
  });
});
