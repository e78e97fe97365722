import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { enroll } from './fleet.js';

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
});
