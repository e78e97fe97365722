import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { enroll } from '../support/agents.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

/** An agent's WebSocket session to a node, open once the node has welcomed it. */
async function connectAgent(node: TestServer, token: string, facts: object): Promise<WebSocket> {
  const ws = new WebSocket(`${node.url.replace('http', 'ws')}/api/v1/agent/ws`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', facts, running_job_ids: [] })));
    ws.on('message', (data: Buffer) => {
      if ((JSON.parse(data.toString('utf8')) as { type: string }).type === 'welcome') resolve();
    });
  });
  return ws;
}

describe.each(dialects)('fleet: the agent gateway on %s', (dialect) => {
  let first: TestServer;
  let owner: Session;
  beforeAll(async () => {
    first = await startTestServer(dialect);
    owner = await signup(first, 'gateway');
  });
  afterAll(async () => {
    await first.close();
  });
  /** The stored connected flag of each agent, by id. */
  const connectedOf = async (ids: string[]) => {
    const rows = await first.database.db
      .selectFrom('agents')
      .select(['id', 'connected'])
      .where('id', 'in', ids)
      .execute();
    return Object.fromEntries(rows.map((row) => [row.id, row.connected]));
  };

  it('fleet: a node that stops marks the agents it held disconnected, and only those', async () => {
    const second = await startTestServer(dialect, { shareDatabaseWith: first });
    const onSecond = await Promise.all([enroll(first, owner), enroll(first, owner)]);
    const onFirst = await enroll(first, owner);
    const sockets = [
      ...(await Promise.all(onSecond.map((a) => connectAgent(second, a.agentToken, a.facts)))),
      await connectAgent(first, onFirst.agentToken, onFirst.facts),
    ];
    const closed = sockets
      .slice(0, 2)
      .map((ws) => new Promise<number>((resolve) => ws.once('close', resolve)));
    const [a, b] = onSecond.map((agent) => agent.agentId) as [string, string];
    const ids = [a, b, onFirst.agentId];
    expect(await connectedOf(ids)).toEqual({ [a]: 1, [b]: 1, [onFirst.agentId]: 1 });

    await second.close();
    expect(await Promise.all(closed)).toEqual([1001, 1001]);
    expect(await connectedOf(ids)).toEqual({ [a]: 0, [b]: 0, [onFirst.agentId]: 1 });
    sockets[2]!.close();
  });

  it('fleet: a console socket that never answers the close frame does not hold up a node stopping', async () => {
    const second = await startTestServer(dialect, { shareDatabaseWith: first });
    const url = `${second.url.replace('http', 'ws')}/api/v1/events/ws?access_token=${encodeURIComponent(owner.token)}`;
    const console = new WebSocket(url);
    await new Promise((resolve, reject) => console.once('open', resolve).once('error', reject));
    const cut = new Promise<number>((resolve) => console.once('close', resolve));
    // A client that stops reading never sees the close frame, so it never answers it.
    const socket = (console as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    socket.pause();

    const started = Date.now();
    await second.close();
    expect(Date.now() - started).toBeLessThan(10_000);
    socket.resume();
    expect(await cut).toBe(1001);
  });

  it("fleet: each node's /metrics counts the agent sockets that node holds", async () => {
    const second = await startTestServer(dialect, { shareDatabaseWith: first });
    /** Waits until `fleetplane_agent_sockets` in the node's /metrics reads `expected`; fails if it never does. */
    const expectHeld = (node: TestServer, expected: number) =>
      eventually(
        async () => {
          const metrics = await call<string>(node, 'GET', '/metrics');
          const value = Number(/^fleetplane_agent_sockets (\d+)$/m.exec(metrics.body)?.[1]);
          return value === expected ? value : undefined;
        },
        { what: `${node.url} to hold ${expected} agent sockets` },
      );
    try {
      await expectHeld(first, 0);
      const [a, b, c] = await Promise.all([enroll(first, owner), enroll(first, owner), enroll(first, owner)]);
      const onFirst = await connectAgent(first, a.agentToken, a.facts);
      const onSecond = [
        await connectAgent(second, b.agentToken, b.facts),
        await connectAgent(second, c.agentToken, c.facts),
      ];
      await expectHeld(first, 1);
      await expectHeld(second, 2);
      onSecond[0]!.close();
      await expectHeld(second, 1);
      await expectHeld(first, 1);
      onFirst.close();
      onSecond[1]!.close();
      await expectHeld(first, 0);
      await expectHeld(second, 0);
    } finally {
      await second.close();
    }
  });
});

describe.each(dialects)('fleet: the agent gateway refuses what an agent was not handed on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'gateway-refuse');
  });
  afterAll(async () => {
    await server.close();
  });

  it('fleet: a frame over the size limit closes the socket with 1009, logged as a warning', async () => {
    const agent = await enroll(server, owner);
    const ws = await connectAgent(server, agent.agentToken, agent.facts);
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    ws.send('x'.repeat(1024 * 1024 + 1));
    expect(await closed).toBe(1009);
    const lines = await eventually(() => {
      const found = server.logs.filter((line) => JSON.stringify(line).includes('Max payload size exceeded'));
      return found.length > 0 ? found : undefined;
    });
    expect(lines.every((line) => line.level === 40)).toBe(true);
    expect(lines.some((line) => JSON.stringify(line).includes('"stack"'))).toBe(false);
  });

  it('fleet: a result for a job never dispatched is refused as impossible and the job stays queued', async () => {
    const agent = await enroll(server, owner);
    const job = await expectStatus(
      call(server, 'POST', `/api/v1/agents/${agent.agentId}/jobs`, {
        token: owner.token,
        body: { interpreter: 'sh', command: 'true' },
      }),
      202,
    );
    const result = { type: 'result', job_id: job.id, status: 'succeeded', exit_code: 0, duration_ms: 1 };
    const refused = await expectStatus(
      call(server, 'POST', `/api/v1/agent/jobs/${job.id}/events`, {
        token: agent.agentToken,
        body: {
          events: [
            { ...result, attempt: 0 },
            { ...result, attempt: 1 },
          ],
        },
      }),
      200,
    );
    expect(refused.acks).toMatchObject([
      { attempt: 0, event: 'result', outcome: 'impossible' },
      { attempt: 1, event: 'result', outcome: 'impossible' },
    ]);
    const after = await expectStatus(
      call(server, 'GET', `/api/v1/jobs/${job.id}`, { token: owner.token }),
      200,
    );
    expect(after).toMatchObject({ status: 'queued', attempt: 0, exit_code: null });
  });
});
