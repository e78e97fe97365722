import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll, enrollmentToken, METRICS } from '../support/agents.js';
import { signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { SocketAgent } from '../support/socket-agent.js';

/** Agent sockets are pinged every two heartbeat intervals: here every 600 ms. */
const HEARTBEAT_MS = 300;

describe.each(dialects)('fleet: pings on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect, {
      config: {
        fleet: {
          heartbeatIntervalMs: HEARTBEAT_MS,
          offlineAfterMs: 60_000,
          heartbeatFlushMs: 1000,
          leaseMs: 90_000,
          sweepIntervalMs: 60_000,
        },
      },
    });
    owner = await signup(server, 'pings');
  });
  afterAll(async () => {
    await server.close();
  });

  it('fleet: a socket whose agent sends heartbeats is not pinged; a silent one is, and stays open answering', async () => {
    const { secret } = await enrollmentToken(server, owner);
    const [talking, silent] = await Promise.all(
      [0, 1].map(async () =>
        SocketAgent.connect(server, (await enroll(server, owner, { secret })).agentToken),
      ),
    );
    const pings = new Map([talking, silent].map((agent) => [agent!, 0]));
    for (const agent of pings.keys()) agent.ws.on('ping', () => pings.set(agent, pings.get(agent)! + 1));
    const beats = setInterval(() => talking!.send({ type: 'heartbeat', metrics: METRICS }), HEARTBEAT_MS / 2);
    await new Promise((resolve) => setTimeout(resolve, 10 * HEARTBEAT_MS));
    clearInterval(beats);
    expect(pings.get(talking!)).toBe(0);
    expect(pings.get(silent!)).toBeGreaterThanOrEqual(2);
    // the ws client answers each ping with a pong: the silent socket is alive, and kept
    expect(silent!.closed).toBeUndefined();
    for (const agent of pings.keys()) agent.close();
  });
});
