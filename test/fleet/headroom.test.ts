import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ChannelContext, ChannelHost } from '../../src/agent/channel.js';
import { Connection } from '../../src/agent/connection.js';
import { WsChannel } from '../../src/agent/ws-channel.js';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import { agentSocketsUnder, parseOpenFilesLimit } from '../../src/server/lib/open-files.js';
import { enroll } from '../support/agents.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { SocketAgent } from '../support/socket-agent.js';

const CAP = 3;

interface Refusal {
  status: number;
  retryAfter: string | undefined;
  body: { error: { code: string } };
}

/** Asks for an agent socket that the node must refuse: answers the HTTP reply to the upgrade. */
function refusedUpgrade(server: TestServer, token: string): Promise<Refusal> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/v1/agent/ws`, {
      headers: { authorization: `Bearer ${token}` },
    });
    ws.on('error', reject);
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('the node accepted the socket'));
    });
    ws.on('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        ws.off('error', reject).on('error', () => undefined);
        ws.terminate();
        resolve({
          status: response.statusCode ?? 0,
          retryAfter: response.headers['retry-after'],
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Refusal['body'],
        });
      });
    });
  });
}

/** An agent that holds no jobs: what a channel needs to say hello and heartbeat. */
function idleHost(onConnected: () => void = () => undefined): ChannelHost {
  const facts = () => ({
    hostname: 'headroom',
    fingerprint: 'headroom-fingerprint',
    os_type: 'ubuntu' as const,
    os_version: '24.04',
    arch: 'x86_64',
    agent_version: '0.1.0',
    interpreters: ['sh' as const],
  });
  return {
    facts,
    refreshFacts: facts,
    heldJobIds: () => [],
    metrics: () => Promise.resolve({ cpu_percent: 1, memory_percent: 1, disk_percent: 1, uptime_seconds: 1 }),
    onConnected,
    onJob: () => undefined,
    onCancel: () => undefined,
    onAck: () => undefined,
    onUpdateKey: () => undefined,
    onUpdate: () => undefined,
  };
}

describe('fleet: the agent socket cap', () => {
  const limits = (soft: string, hard: string) =>
    [
      'Limit                     Soft Limit           Hard Limit           Units     ',
      'Max processes             96362                96362                processes ',
      `Max open files            ${soft.padEnd(20)} ${hard.padEnd(20)} files     `,
    ].join('\n');

  it('fleet: the open-files limit is the soft one of /proc/self/limits; unlimited or absent is none', () => {
    expect(parseOpenFilesLimit(limits('20000', '40000'))).toBe(20_000);
    expect(parseOpenFilesLimit(limits('unlimited', 'unlimited'))).toBeNull();
    expect(parseOpenFilesLimit('Max processes 10 10 processes')).toBeNull();
  });

  it('fleet: by default a node keeps 5% of its open files, at least 256 and at most half, from agents', () => {
    expect(agentSocketsUnder(20_000)).toBe(19_000);
    expect(agentSocketsUnder(1024)).toBe(768);
    expect(agentSocketsUnder(400)).toBe(200);
    expect(agentSocketsUnder(null)).toBe(Number.POSITIVE_INFINITY);
    expect(loadConfig({}, {}, 20_000).maxAgentSockets).toBe(19_000);
    expect(loadConfig({}, {}, null).maxAgentSockets).toBe(Number.POSITIVE_INFINITY);
  });

  it('fleet: FLEETPLANE_MAX_AGENT_SOCKETS sets the cap, at least 1 and below the open-files limit', () => {
    expect(loadConfig({ FLEETPLANE_MAX_AGENT_SOCKETS: '19500' }, {}, 20_000).maxAgentSockets).toBe(19_500);
    expect(loadConfig({ FLEETPLANE_MAX_AGENT_SOCKETS: '50000' }, {}, null).maxAgentSockets).toBe(50_000);
    expect(() => loadConfig({ FLEETPLANE_MAX_AGENT_SOCKETS: '20000' }, {}, 20_000)).toThrow(
      /must be below the open-files limit \(20000\)/,
    );
    expect(() => loadConfig({ FLEETPLANE_MAX_AGENT_SOCKETS: '0' }, {}, 20_000)).toThrow(ConfigError);
    expect(() => loadConfig({ FLEETPLANE_MAX_AGENT_SOCKETS: 'many' }, {}, 20_000)).toThrow(ConfigError);
  });
});

describe.each(dialects)('fleet: a node at its agent socket cap on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect, { config: { maxAgentSockets: CAP } });
    owner = await signup(server, 'headroom');
  });
  afterAll(async () => {
    await server.close();
  });

  /** A figure of the node's /metrics once it reads `expected`; fails if it never does. */
  const metricReads = (name: string, expected: number) =>
    eventually(
      async () => {
        const metrics = await call<string>(server, 'GET', '/metrics');
        const value = Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics.body)?.[1]);
        return value === expected ? value : undefined;
      },
      { what: `${name} to read ${expected}` },
    );

  it('fleet: past the cap a new agent socket is refused 503 node_full with Retry-After, the API still answers, and the refused agent gets in once a socket is freed', async () => {
    const agents = await Promise.all(Array.from({ length: CAP + 1 }, () => enroll(server, owner)));
    const held = await Promise.all(
      agents
        .slice(0, CAP)
        .map((agent) => SocketAgent.connect(server, agent.agentToken, { facts: agent.facts })),
    );
    const late = agents[CAP]!;
    try {
      await metricReads('fleetplane_agent_sockets', CAP);
      await metricReads('fleetplane_agent_sockets_max', CAP);
      await metricReads('fleetplane_agent_sockets_refused_total', 0);

      const refusal = await refusedUpgrade(server, late.agentToken);
      expect(refusal).toMatchObject({ status: 503, retryAfter: '5', body: { error: { code: 'node_full' } } });
      const listed = await expectStatus(call(server, 'GET', '/api/v1/agents', { token: owner.token }), 200);
      expect(listed.items).toHaveLength(CAP + 1);
      await metricReads('fleetplane_agent_sockets_refused_total', 1);
      await metricReads('fleetplane_agent_sockets', CAP);
      expect(server.logs.filter((line) => String(line.msg).startsWith('node full'))).toMatchObject([
        { level: 40, held: CAP, max: CAP, refused: 1 },
      ]);

      // an agent held here that reconnects replaces its own socket: no more are held
      const again = await SocketAgent.connect(server, agents[0]!.agentToken, { facts: agents[0]!.facts });
      expect(await held[0]!.untilClosed()).toMatchObject({ code: 4000 });
      held[0] = again;
      await metricReads('fleetplane_agent_sockets', CAP);

      held[1]!.close();
      await metricReads('fleetplane_agent_sockets', CAP - 1);
      held[1] = await SocketAgent.connect(server, late.agentToken, { facts: late.facts });
      await metricReads('fleetplane_agent_sockets', CAP);
      await metricReads('fleetplane_agent_sockets_refused_total', 1);
    } finally {
      for (const socket of held) socket.close();
      await metricReads('fleetplane_agent_sockets', 0);
    }
  });

  it('fleet: the agent takes a full node for busy: its channel ends for a retry after Retry-After, and its connection waits and gets in, never polling nor ending', async () => {
    const agents = await Promise.all(Array.from({ length: CAP + 1 }, () => enroll(server, owner)));
    const held = await Promise.all(
      agents
        .slice(0, CAP)
        .map((agent) => SocketAgent.connect(server, agent.agentToken, { facts: agent.facts })),
    );
    const late = agents[CAP]!;
    const logs: string[] = [];
    const log = (line: string) => logs.push(line);
    const stop = new AbortController();
    try {
      const context: ChannelContext = {
        token: late.agentToken,
        host: idleHost(),
        log,
        signal: stop.signal,
        timing: { heartbeatIntervalMs: 1000 },
      };
      const wsUrl = `${server.url.replace(/^http/, 'ws')}/api/v1/agent/ws`;
      expect(await new WsChannel(wsUrl, context).run()).toEqual({
        kind: 'closed',
        opened: false,
        openMs: 0,
        retryAfterMs: 5000,
      });
      expect(logs).toEqual(['WebSocket upgrade refused with HTTP 503']);

      let connected = false;
      const connection = new Connection({
        server: server.url,
        token: late.agentToken,
        transport: 'ws',
        host: idleHost(() => {
          connected = true;
        }),
        log,
        heartbeatIntervalMs: 1000,
        random: () => 0,
      });
      const ended = connection.run();
      await eventually(() => logs.includes('server busy; trying the WebSocket again in 5.0s'), {
        what: 'the connection to be refused and wait',
      });
      held[0]!.close();
      await eventually(() => connected, { what: 'the refused agent to get in' });
      expect(logs.some((line) => line.includes('polling over HTTP'))).toBe(false);
      connection.stop();
      expect(await ended).toEqual({ kind: 'stopped' });
    } finally {
      stop.abort();
      for (const socket of held) socket.close();
      await metricReads('fleetplane_agent_sockets', 0);
    }
  });
});
