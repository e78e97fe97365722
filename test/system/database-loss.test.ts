import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { enroll } from '../support/agents.js';
import { call, expectNotReady, expectStatus, signup, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

type Frame = { type: string; [field: string]: any };

/** An agent's WebSocket session spoken by hand: every frame the server sent, in order. */
class SocketAgent {
  readonly frames: Frame[] = [];
  closed = false;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.frames.push(JSON.parse(data.toString('utf8')) as Frame));
    ws.on('close', () => {
      this.closed = true;
    });
  }

  static async connect(server: TestServer, token: string, facts: object): Promise<SocketAgent> {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/agent/ws`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const agent = new SocketAgent(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => {
        agent.send({ type: 'hello', facts, running_job_ids: [] });
        resolve();
      });
    });
    await agent.next((f) => f.type === 'welcome', 'the welcome');
    return agent;
  }

  send(frame: object): void {
    this.ws.send(JSON.stringify(frame));
  }

  next(match: (frame: Frame) => boolean, what: string): Promise<Frame> {
    return eventually(() => this.frames.find(match), { what });
  }

  close(): void {
    this.ws.close();
  }
}

async function startJob(server: TestServer, owner: Session, agentId: string, agent: SocketAgent) {
  const created = await expectStatus(
    call(server, 'POST', `/api/v1/agents/${agentId}/jobs`, {
      token: owner.token,
      body: { interpreter: 'sh', command: 'true' },
    }),
    202,
  );
  const pushed = await agent.next((f) => f.type === 'job' && f.job.job_id === created.id, 'the job');
  agent.send({ type: 'job_event', event: { type: 'ack', job_id: created.id, attempt: pushed.job.attempt } });
  return { id: created.id as string, attempt: pushed.job.attempt as number };
}

const resultOf = (job: { id: string; attempt: number }) => ({
  type: 'job_event',
  event: {
    type: 'result',
    job_id: job.id,
    attempt: job.attempt,
    status: 'succeeded',
    exit_code: 0,
    duration_ms: 3,
  },
});
const isAckOf = (job: { id: string }) => (f: Frame) =>
  f.type === 'event_ack' && f.job_id === job.id && f.event === 'result';

describe.each(dialects)('fleet: the agent gateway after a failed frame on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'frames');
  });
  afterAll(async () => {
    await server.close();
  });

  it('fleet: a frame the server refuses does not stop the frames the agent sends after it', async () => {
    const { agentId, agentToken, facts } = await enroll(server, owner);
    const agent = await SocketAgent.connect(server, agentToken, facts);
    const job = await startJob(server, owner, agentId, agent);
    agent.send({
      type: 'job_event',
      event: { type: 'output', job_id: randomUUID(), attempt: 1, seq: 0, stream: 'stdout', data: 'x' },
    });
    await agent.next((f) => f.type === 'event_ack' && f.outcome === 'impossible', 'the refusal');
    agent.send(resultOf(job));
    await agent.next(isAckOf(job), 'the result acknowledged');
    const stored = await expectStatus(
      call(server, 'GET', `/api/v1/jobs/${job.id}`, { token: owner.token }),
      200,
    );
    expect(stored).toMatchObject({ status: 'succeeded', exit_code: 0 });
    agent.close();
  });
});

/**
 * A TCP proxy in front of PostgreSQL that a test cuts: its connections drop and new ones are
 * refused until it is restored. Only the node behind it loses its database; the other test
 * files on the same PostgreSQL keep theirs.
 */
class CuttableProxy {
  readonly #sockets = new Set<net.Socket>();
  #server: net.Server | undefined;
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async listen(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => this.#sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    const address = server.address();
    if (address && typeof address === 'object') this.port = address.port;
    this.#server = server;
  }

  /** Drops every connection and refuses new ones (ECONNREFUSED), as a stopped PostgreSQL. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    const closed = new Promise((resolve) => server?.close(resolve));
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  restore(): Promise<void> {
    return this.listen();
  }

  close(): Promise<void> {
    return this.cut();
  }
}

const SQLITE_SKIP = 'a SQLite database is a file inside the process: it cannot go away while the node runs';
if (dialects.includes('sqlite')) {
  console.warn(`\n*** system: database outage tests SKIPPED on sqlite: ${SQLITE_SKIP} ***\n`);
  describe.skip(`system: a node losing its sqlite database (skipped: ${SQLITE_SKIP})`, () => {
    it('system: while the database is unreachable the node answers 503 and keeps its agents', () =>
      undefined);
  });
}

describe.each(dialects.filter((d) => d === 'postgres'))(
  'system: a node losing its %s database',
  (dialect) => {
    let proxy: CuttableProxy;
    let server: TestServer;
    let owner: Session;
    beforeAll(async () => {
      const target = new URL(process.env.FLEETPLANE_TEST_PG_URL ?? '');
      proxy = new CuttableProxy({ host: target.hostname, port: Number(target.port || 5432) });
      await proxy.listen();
      const through = new URL(target);
      through.hostname = '127.0.0.1';
      through.port = String(proxy.port);
      server = await startTestServer(dialect, { databaseUrl: through.toString() });
      owner = await signup(server, 'outage');
    });
    afterAll(async () => {
      await server?.close();
      await proxy?.close();
    });

    it(
      'system: while the database is unreachable the node answers 503 with Retry-After, keeps its agents, and writes their results once it is back',
      { timeout: 60_000 },
      async () => {
        const { agentId, agentToken, facts } = await enroll(server, owner);
        const agent = await SocketAgent.connect(server, agentToken, facts);
        const job = await startJob(server, owner, agentId, agent);
        await eventually(async () => {
          const current = await call(server, 'GET', `/api/v1/jobs/${job.id}`, { token: owner.token });
          return current.body.status === 'running';
        });
        const logsFrom = server.logs.length;

        await proxy.cut();
        expectNotReady(await call(server, 'GET', '/ready'));
        expectNotReady(await call(server, 'GET', '/api/v1/agents', { token: owner.token }));
        // sent while the database is away: held, tried again, and acknowledged only once written
        agent.send(resultOf(job));
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        expect(agent.frames.filter(isAckOf(job))).toEqual([]);
        expect(server.app.services.bus.listening).toBe(false);

        await proxy.restore();
        await eventually(async () => (await call(server, 'GET', '/ready')).status === 200, {
          what: 'the node to be ready again',
          timeoutMs: 20_000,
        });
        await agent.next(isAckOf(job), 'the result acknowledged after the outage');
        const stored = await expectStatus(
          call(server, 'GET', `/api/v1/jobs/${job.id}`, { token: owner.token }),
          200,
        );
        expect(stored).toMatchObject({ status: 'succeeded', attempt: 1, exit_code: 0 });
        expect(agent.closed).toBe(false);

        // LISTEN is back: a new job reaches the agent through it
        await startJob(server, owner, agentId, agent);

        const logged = server.logs.slice(logsFrom);
        expect(logged.filter((line) => (line.level as number) >= 50)).toEqual([]);
        expect(logged.filter((line) => String(line.msg).startsWith('database unreachable'))).toHaveLength(1);
        expect(logged.filter((line) => line.msg === 'database reachable again')).toHaveLength(1);
        agent.close();
      },
    );
  },
);
