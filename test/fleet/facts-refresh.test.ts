import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  enrollmentToken,
  startAgent,
  untilOnline,
  type AgentProcess,
} from '../support/agents.js';
import { auditOf, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, HAND_DRIVEN, startTestServer, type TestServer } from '../support/harness.js';
import { fleetplane, stopProcess } from '../support/processes.js';

/** Heartbeats every 300 ms and an agent silent for 2 s is offline: an HTTP agent hears a request soon. */
const QUICK_FLEET = {
  ...HAND_DRIVEN.fleet,
  heartbeatIntervalMs: 300,
  heartbeatFlushMs: 100,
  offlineAfterMs: 2_000,
  sweepIntervalMs: 200,
};

describe.each(dialects)('agents: facts refreshed on request (%s)', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let dir: string;
  const agents: AgentProcess[] = [];

  /** An agent whose PATH starts with a directory of its own, where the test installs programs. */
  async function start(
    transport: 'ws' | 'http',
    name: string = transport,
  ): Promise<{ agent: AgentProcess; bin: string }> {
    const bin = path.join(dir, `${name}-bin`);
    mkdirSync(bin);
    const { secret } = await enrollmentToken(server, owner, { name });
    const agent = await startAgent(
      server.url,
      { token: secret, stateDir: path.join(dir, name), transport },
      (args, env) => fleetplane(args, { ...env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` }),
    );
    agents.push(agent);
    await untilOnline(server, owner.token, agent.id, { connected: transport === 'ws' });
    return { agent, bin };
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-facts-'));
    server = await startTestServer(dialect, { config: { fleet: QUICK_FLEET } });
    owner = await signup(server, 'facts');
  });

  afterAll(async () => {
    for (const agent of agents) await stopProcess(agent.proc);
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['ws', 'websocket'],
    ['http', 'next_heartbeat'],
  ] as const)(
    'agents: over %s, an interpreter installed after start arrives when facts are asked for',
    { timeout: 60_000 },
    async (transport, delivery) => {
      const { agent, bin } = await start(transport);
      const before = await expectStatus(
        call(server, 'GET', `/api/v1/agents/${agent.id}`, { token: owner.token }),
        200,
      );
      expect(before.interpreters).not.toContain('pwsh');

      // PowerShell "installed" since the agent started: only a new look at PATH finds it
      writeFileSync(path.join(bin, 'pwsh'), '#!/bin/sh\nexit 0\n');
      chmodSync(path.join(bin, 'pwsh'), 0o755);
      const asked = await expectStatus(
        call(server, 'POST', `/api/v1/agents/${agent.id}/facts/refresh`, { token: owner.token }),
        202,
      );
      expect(asked).toMatchObject({ agent_id: agent.id, delivery });

      const after = await eventually(
        async () => {
          const row = await expectStatus(
            call(server, 'GET', `/api/v1/agents/${agent.id}`, { token: owner.token }),
            200,
          );
          return row.interpreters.includes('pwsh') ? row : undefined;
        },
        { timeoutMs: 15_000, what: `agent ${agent.id} to report pwsh` },
      );
      expect(after.interpreters).toEqual(expect.arrayContaining(before.interpreters));
      expect(agent.proc.output.join('\n')).toContain('facts collected again');

      const audit = await auditOf(server, owner, 'agent', agent.id);
      expect(audit.at(-1)).toMatchObject({
        action: 'modified',
        after: { facts_requested_at: asked.requested_at },
      });
    },
  );

  it(
    'agents: asking for the facts of an agent that cannot hear it is a 409',
    { timeout: 30_000 },
    async () => {
      const pending = await createAgent(server, owner);
      expectError(
        await call(server, 'POST', `/api/v1/agents/${pending}/facts/refresh`, { token: owner.token }),
        409,
        'conflict',
      );

      const { agent } = await start('ws', 'stopped');
      await stopProcess(agent.proc);
      await eventually(
        async () => {
          const row = await expectStatus(
            call(server, 'GET', `/api/v1/agents/${agent.id}`, { token: owner.token }),
            200,
          );
          return row.status === 'offline' ? row : undefined;
        },
        { timeoutMs: 15_000, what: 'the stopped agent to be offline' },
      );
      const refused = await call(server, 'POST', `/api/v1/agents/${agent.id}/facts/refresh`, {
        token: owner.token,
      });
      expectError(refused, 409, 'conflict');
      expect(refused.body.error.message).toMatch(/not connected/);
    },
  );
});
