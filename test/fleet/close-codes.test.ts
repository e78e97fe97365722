import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentCloseCode } from '../../src/protocol/agent.js';
import {
  enroll,
  enrollmentToken,
  facts,
  register,
  startAgent,
  untilOnline,
  type AgentProcess,
} from '../support/agents.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { stopProcess } from '../support/processes.js';
import { SocketAgent } from '../support/socket-agent.js';

describe.each(dialects)('agent close codes on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let dir: string;
  const processes: AgentProcess[] = [];
  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'close-codes');
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-close-codes-'));
  });
  afterAll(async () => {
    for (const agent of processes) await stopProcess(agent.proc);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = (method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: owner.token, body });
  const deleteAgent = (id: string, reason: string) =>
    expectStatus(api('DELETE', `/api/v1/agents/${id}?reason=${encodeURIComponent(reason)}`), 204);
  /** Registers the same machine again with a new enrollment token: its agent token is replaced. */
  const registerAgain = async (fingerprint: string) => {
    const { secret } = await enrollmentToken(server, owner);
    return expectStatus(register(server, { enrollment_token: secret, facts: facts({ fingerprint }) }), 200);
  };
  const exitCode = (agent: AgentProcess) =>
    eventually(() => agent.proc.child.exitCode ?? undefined, { what: 'the agent process to exit' });
  const spawnAgent = async (name: string) => {
    const { secret } = await enrollmentToken(server, owner);
    const agent = await startAgent(server.url, { token: secret, stateDir: path.join(dir, name) });
    processes.push(agent);
    await untilOnline(server, owner.token, agent.id);
    return agent;
  };

  it('agent close codes: deleting an agent closes its open socket with 4410 and the reason; its uninstall counts as delivered', async () => {
    const agent = await enroll(server, owner);
    const socket = await SocketAgent.connect(server, agent.agentToken, { facts: agent.facts });
    await deleteAgent(agent.agentId, 'retired');
    expect(await socket.untilClosed()).toEqual({ code: AgentCloseCode.deleted, reason: 'retired' });
    const jobs = await expectStatus(api('GET', `/api/v1/jobs?agent_id=${agent.agentId}`), 200);
    expect(jobs.items).toMatchObject([
      { kind: 'agent_uninstall', status: 'succeeded', error: 'delivered as WebSocket close 4410' },
    ]);
  });

  it('agent close codes: registering the machine again closes the socket of the replaced token with 4401; the new token connects', async () => {
    const agent = await enroll(server, owner);
    const socket = await SocketAgent.connect(server, agent.agentToken, { facts: agent.facts });
    const again = await registerAgain(agent.facts.fingerprint);
    expect(again.agent_id).toBe(agent.agentId);
    expect(await socket.untilClosed()).toEqual({
      code: AgentCloseCode.unauthorized,
      reason: 'agent token replaced',
    });

    const renewed = await SocketAgent.connect(server, again.agent_token, { facts: agent.facts });
    try {
      const job = await expectStatus(
        api('POST', `/api/v1/agents/${agent.agentId}/jobs`, { interpreter: 'sh', command: 'true' }),
        202,
      );
      expect((await renewed.next('job')).job.job_id).toBe(job.id);
      expect(renewed.closed).toBeUndefined();
    } finally {
      renewed.close();
    }
  });

  it('agent close codes: a deletion heard late, after the agent was revived, leaves its new socket open', async () => {
    const agent = await enroll(server, owner);
    await deleteAgent(agent.agentId, 'by mistake');
    const revived = await registerAgain(agent.facts.fingerprint);
    const socket = await SocketAgent.connect(server, revived.agent_token, { facts: agent.facts });
    try {
      // as another node's notification arriving this late would be
      server.app.services.bus.publish({
        type: 'agent.deleted',
        org_id: owner.orgId,
        agent_id: agent.agentId,
        reason: 'by mistake',
      });
      const job = await expectStatus(
        api('POST', `/api/v1/agents/${agent.agentId}/jobs`, { interpreter: 'sh', command: 'true' }),
        202,
      );
      expect((await socket.next('job')).job.job_id).toBe(job.id);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(socket.closed).toBeUndefined();
    } finally {
      socket.close();
    }
  });

  it('agent close codes: an agent process whose agent is deleted hears 4410, removes its state and exits 0', async () => {
    const agent = await spawnAgent('deleted');
    await deleteAgent(agent.id, 'decommissioned');
    expect(await exitCode(agent)).toBe(0);
    expect(agent.proc.output.join('\n')).toMatch(/the server deleted this agent \(decommissioned\)/);
    expect(existsSync(agent.stateDir)).toBe(false);
  });

  it('agent close codes: an agent process whose token a new registration replaced hears 4401 and exits 1', async () => {
    const agent = await spawnAgent('replaced');
    await registerAgain(agent.fingerprint);
    expect(await exitCode(agent)).toBe(1);
    expect(agent.proc.output.join('\n')).toMatch(/rejected the agent token \(agent token replaced\)/);
    // its state stays, so an operator can see what it was
    expect(existsSync(path.join(agent.stateDir, 'agent.json'))).toBe(true);
  });
});
