import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS, untilOnline } from '../support/agents.js';
import { call, expectError, expectStatus } from '../support/client.js';
import { dialects } from '../support/harness.js';
import { stopProcess } from '../support/processes.js';
import {
  agentRecord,
  agentState,
  enrollmentToken,
  exitOf,
  startAgent,
  startServer,
  useLeakGuard,
  type E2EServer,
} from './support.js';

useLeakGuard();

describe.each(dialects)('e2e enrollment on %s', (dialect) => {
  let server: E2EServer;
  beforeAll(async () => {
    server = await startServer(dialect);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('e2e: an agent enrolled with a token comes online and connected', async () => {
    const agent = await startAgent(server, { token: await enrollmentToken(server), name: 'token-01' });
    const record = await untilOnline(server, server.token, agent.id);
    expect(record).toMatchObject({
      id: agent.id,
      hostname: 'token-01',
      status: 'online',
      connected: true,
      enrolled_via: 'enrollment_token',
    });
    expect(agentState(agent)).toMatchObject({ agent_id: agent.id, fingerprint: agent.fingerprint });
  });

  it('e2e: an agent enrolled with a machine key takes over its machine record', async () => {
    const created = await expectStatus(
      server.api('POST', '/api/v1/agents', { body: { name: 'keyed-01' } }),
      201,
    );
    expect(created.agent).toMatchObject({ status: 'pending', connected: false, enrolled_via: null });

    const agent = await startAgent(server, { key: created.machine_key });
    expect(agent.id).toBe(created.agent.id);
    const record = await untilOnline(server, server.token, agent.id);
    expect(record).toMatchObject({ name: 'keyed-01', enrolled_via: 'machine_key', connected: true });
  });

  it('e2e: a deleted agent uninstalls itself and a new enrollment revives the same agent', async () => {
    const token = await enrollmentToken(server);
    const first = await startAgent(server, { token });
    await untilOnline(server, server.token, first.id);
    const before = (await expectStatus(server.api('GET', '/api/v1/agents?limit=200'), 200)).items.length;

    await expectStatus(server.api('DELETE', `/api/v1/agents/${first.id}`), 204);
    // its socket is closed with 4410, the uninstall order: it removes its state and exits cleanly
    expect(await exitOf(first.proc, 20_000)).toBe(0);
    expect(first.proc.output.join('\n')).toMatch(/the server deleted this agent \(deleted by an operator\)/);
    expect(existsSync(first.stateDir)).toBe(false);
    expect((await server.api('GET', `/api/v1/agents/${first.id}`)).status).toBe(404);
    const uninstall = (await expectStatus(server.api('GET', `/api/v1/jobs?agent_id=${first.id}`), 200)).items;
    expect(uninstall).toMatchObject([{ kind: 'agent_uninstall', status: 'succeeded' }]);

    // the same machine enrolls again from scratch
    const second = await startAgent(server, { token, fingerprint: first.fingerprint });
    expect(second.id).toBe(first.id);
    await untilOnline(server, server.token, second.id);
    const after = (await expectStatus(server.api('GET', '/api/v1/agents?limit=200'), 200)).items;
    expect(after).toHaveLength(before);
    expect(after.filter((a: any) => a.id === first.id)).toHaveLength(1);
  });

  // the answer comes from the same rows on either database: once is enough
  it.runIf(dialect === 'sqlite')('e2e: the old token of a deleted agent is answered 410 gone', async () => {
    const agent = await startAgent(server, { token: await enrollmentToken(server) });
    await untilOnline(server, server.token, agent.id);
    expect(await stopProcess(agent.proc)).toBe(0);
    const saved = agentState(agent);
    expect(saved.agent_token).toMatch(/^fpa_/);

    await expectStatus(server.api('DELETE', `/api/v1/agents/${agent.id}`), 204);
    const heartbeat = await call(server, 'POST', '/api/v1/agent/heartbeat', {
      token: saved.agent_token,
      body: { metrics: METRICS, running_job_ids: [] },
    });
    expectError(heartbeat, 410, 'gone');
    // the 410 is the uninstall order: the queued uninstall job counts as delivered
    const jobs = (await expectStatus(server.api('GET', `/api/v1/jobs?agent_id=${agent.id}`), 200)).items;
    expect(jobs).toMatchObject([{ kind: 'agent_uninstall', status: 'succeeded' }]);
    expect((await agentRecord(server, agent.id).catch((e: Error) => e.message)) as string).toMatch(/404/);
  });
});
