import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enroll } from '../support/agents.js';
import { call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { SocketAgent } from '../support/socket-agent.js';

describe.each(dialects)('agents: the connected filter (%s)', (dialect) => {
  let server: TestServer;
  let owner: Session;
  const sockets: SocketAgent[] = [];

  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'connected');
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await server.close();
  });

  /** Every id the list answers for this query, walking its pages `limit` at a time. */
  async function allIds(query: string, limit: number): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await expectStatus(
        call(server, 'GET', `/api/v1/agents?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, {
          token: owner.token,
        }),
        200,
      );
      expect(page.items.length).toBeLessThanOrEqual(limit);
      ids.push(...page.items.map((agent: { id: string }) => agent.id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return ids.sort();
  }

  it('agents: connected=true lists agents holding a socket, connected=false the others, paged', async () => {
    const connected: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { agentId, agentToken } = await enroll(server, owner);
      sockets.push(await SocketAgent.connect(server, agentToken));
      connected.push(agentId);
    }
    // one that held a socket and closed it, one enrolled that never opened one, one machine record
    const gone = await enroll(server, owner);
    const closing = await SocketAgent.connect(server, gone.agentToken);
    closing.close();
    const neverOpened = await enroll(server, owner);
    const pending = await createAgent(server, owner);
    const disconnected = [gone.agentId, neverOpened.agentId, pending].sort();
    await eventually(
      async () => {
        const row = await expectStatus(
          call(server, 'GET', `/api/v1/agents/${gone.agentId}`, { token: owner.token }),
          200,
        );
        return row.connected === false ? row : undefined;
      },
      { what: 'the closed socket to count as disconnected' },
    );

    expect(await allIds('connected=true', 2)).toEqual(connected.sort());
    expect(await allIds('connected=false', 1)).toEqual(disconnected);
    expect(await allIds('connected=false&status=pending', 1)).toEqual([pending]);
    const page = await expectStatus(
      call(server, 'GET', '/api/v1/agents?connected=true', { token: owner.token }),
      200,
    );
    expect(page.items.every((agent: { connected: boolean }) => agent.connected)).toBe(true);
  });

  it('agents: a connected filter that is not a boolean is a 400', async () => {
    expectError(
      await call(server, 'GET', '/api/v1/agents?connected=maybe', { token: owner.token }),
      400,
      'validation_failed',
    );
  });
});
