import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { installGuard } from '../../src/server/http/guard.js';
import { consoleRoutes } from '../../src/server/realtime/console.routes.js';
import type { FleetEvent } from '../../src/server/realtime/events.js';
import { createAgent, enroll, enrollmentToken, ScriptedAgent } from '../support/agents.js';
import { eventually } from '../support/eventually.js';
import { addMember, call, expectStatus, signup, uniqueName, type Session } from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';

type Message = { type: string; [field: string]: unknown };

/** A client of /api/v1/events/ws: what it received, in order, and how its socket ended. */
class Console {
  readonly messages: Message[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly #waiters: { match: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as Message;
      this.messages.push(message);
      for (const waiter of [...this.#waiters])
        if (waiter.match(message)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
          waiter.resolve(message);
        }
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })),
    );
  }

  /** Opens the socket; `refused` is the HTTP status when the server answers the upgrade with one. */
  static async open(
    baseUrl: string,
    credential: { bearer?: string; query?: string } = {},
  ): Promise<{ console: Console; refused?: undefined } | { refused: number }> {
    const query = credential.query ? `?access_token=${encodeURIComponent(credential.query)}` : '';
    const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/v1/events/ws${query}`, {
      headers: credential.bearer ? { authorization: `Bearer ${credential.bearer}` } : {},
    });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve({ console: new Console(socket) }));
      socket.once('error', reject);
      socket.once('unexpected-response', (request, response) => {
        // the refused upgrade's connection is ours to end
        request.destroy();
        resolve({ refused: response.statusCode ?? 0 });
      });
    });
  }

  static async opened(
    baseUrl: string,
    credential: { bearer?: string; query?: string } = {},
  ): Promise<Console> {
    const opened = await Console.open(baseUrl, credential);
    if (opened.refused !== undefined) throw new Error(`events socket refused: HTTP ${opened.refused}`);
    return opened.console;
  }

  send(message: unknown): void {
    this.socket.send(JSON.stringify(message));
  }

  /** The first message (received or to come) that matches. */
  next(match: (m: Message) => boolean, timeoutMs = 10_000): Promise<Message> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching message in ${timeoutMs} ms: ${JSON.stringify(this.messages)}`)),
        timeoutMs,
      );
      this.#waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }

  async close(): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    await this.closed;
  }
}

describe.each(dialects)('events socket: authentication and visibility on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  const clock = new TestClock();
  beforeAll(async () => {
    server = await startTestServer(dialect, { clock });
    owner = await signup(server, 'events');
  });
  afterAll(async () => {
    await server.close();
  });

  const createJob = async (agentId: string) =>
    (
      await expectStatus(
        call(server, 'POST', `/api/v1/agents/${agentId}/jobs`, {
          token: owner.token,
          body: { interpreter: 'sh', command: 'true' },
        }),
        202,
      )
    ).id as string;

  /** A member holding only a new custom role with these permissions. */
  const memberWith = async (permissions: string[]): Promise<Session> => {
    const name = uniqueName('role');
    await expectStatus(
      call(server, 'POST', '/api/v1/access/roles', {
        token: owner.token,
        body: { name, description: '', permissions },
      }),
      201,
    );
    return addMember(server, owner, name);
  };

  /** A line of a job's output, as the jobs module publishes it. */
  const output = (jobId: string, data: string): FleetEvent => ({
    type: 'job.output',
    org_id: owner.orgId,
    job_id: jobId,
    attempt: 1,
    seq: 1,
    stream: 'stdout',
    data,
  });

  /** A deployment event of this organisation, published as the deployments module publishes it. */
  const deploymentState = (orgId: string): Extract<FleetEvent, { type: 'deployment.state' }> => ({
    type: 'deployment.state',
    org_id: orgId,
    deployment_id: uniqueName('deployment'),
    service_id: uniqueName('service'),
    status: 'running',
    current_batch: 1,
    counts: { total: 1 },
  });

  it('events socket: a token sent as the first message authenticates, and job states of jobs created afterwards arrive', async () => {
    const client = await Console.opened(server.url);
    client.send({ access_token: owner.token });
    expect(await client.next((m) => m.type === 'authentication')).toEqual({
      type: 'authentication',
      status: 'success',
    });
    const jobId = await createJob(await createAgent(server, owner));
    expect(await client.next((m) => m.type === 'job.state' && m.job_id === jobId)).toMatchObject({
      status: 'queued',
      org_id: owner.orgId,
    });
    // commands are answered as on a socket opened with a header
    client.send({ type: 'subscribe', job_id: jobId });
    expect(await client.next((m) => m.type === 'subscribed')).toEqual({ type: 'subscribed', job_id: jobId });
    await client.close();
  });

  it('events socket: a command sent right after the token waits for the authentication and is answered', async () => {
    const jobId = await createJob(await createAgent(server, owner));
    const client = await Console.opened(server.url);
    client.send({ access_token: owner.token });
    client.send({ type: 'subscribe', job_id: jobId });
    await client.next((m) => m.type === 'subscribed');
    // the job's own state event may arrive in between: only the answers' order matters
    const answers = client.messages.filter((m) => m.type === 'authentication' || m.type === 'subscribed');
    expect(answers).toEqual([
      { type: 'authentication', status: 'success' },
      { type: 'subscribed', job_id: jobId },
    ]);
    await client.close();
  });

  it('events socket: a bad token as first message gets a failure message and close 4401, and no events', async () => {
    const client = await Console.opened(server.url);
    client.send({ access_token: 'not-a-token' });
    expect(await client.next((m) => m.type === 'authentication')).toMatchObject({
      status: 'failure',
      message: expect.stringMatching(/not valid/),
    });
    expect((await client.closed).code).toBe(4401);
    expect(client.messages).toHaveLength(1);
  });

  it('events socket: a first message that is no {access_token} is a failure, close 4401', async () => {
    const client = await Console.opened(server.url);
    client.send({ type: 'subscribe', job_id: 'x' });
    expect(await client.next((m) => m.type === 'authentication')).toMatchObject({ status: 'failure' });
    expect(await client.closed).toMatchObject({ code: 4401, reason: expect.stringMatching(/access_token/) });
  });

  it('events socket: the header and the query still authenticate before the upgrade; a bad one is 401', async () => {
    for (const credential of [{ bearer: owner.token }, { query: owner.token }]) {
      const client = await Console.opened(server.url, credential);
      const jobId = await createJob(await createAgent(server, owner));
      await client.next((m) => m.type === 'job.state' && m.job_id === jobId);
      // no authentication message: it was authenticated before it opened
      expect(client.messages.some((m) => m.type === 'authentication')).toBe(false);
      await client.close();
    }
    expect(await Console.open(server.url, { bearer: 'not-a-token' })).toEqual({ refused: 401 });
    expect(await Console.open(server.url, { query: 'not-a-token' })).toEqual({ refused: 401 });
    // a plain HTTP request without credentials is no socket: still 401
    expect((await call(server, 'GET', '/api/v1/events/ws')).status).toBe(401);
  });

  it('events socket: deployments:read alone connects (header, API key or first message), sees deployments, no job events', async () => {
    const deployer = await memberWith(['deployments:read']);
    const role = (
      await expectStatus(call(server, 'GET', '/api/v1/access/roles?limit=200', { token: owner.token }), 200)
    ).items.find((r: { permissions: string[] }) => r.permissions.join() === 'deployments:read');
    const key = await expectStatus(
      call(server, 'POST', '/api/v1/api-keys', {
        token: owner.token,
        body: { name: 'deployments reader', role_id: role.id },
      }),
      201,
    );
    const byHeader = await Console.opened(server.url, { bearer: deployer.token });
    const byKey = await Console.opened(server.url, { bearer: key.secret });
    const byMessage = await Console.opened(server.url);
    byMessage.send({ access_token: deployer.token });
    await byMessage.next((m) => m.type === 'authentication' && m.status === 'success');
    const watcher = await Console.opened(server.url, { bearer: owner.token });

    const jobId = await createJob(await createAgent(server, owner));
    await watcher.next((m) => m.type === 'job.state' && m.job_id === jobId);
    const event = deploymentState(owner.orgId);
    server.app.services.bus.publish(deploymentState((await signup(server, 'elsewhere')).orgId));
    server.app.services.bus.publish(event);
    for (const client of [byHeader, byKey, byMessage, watcher]) {
      expect(await client.next((m) => m.type === 'deployment.state')).toEqual(event);
    }
    for (const client of [byHeader, byKey, byMessage]) {
      expect(client.messages.filter((m) => m.type !== 'authentication')).toEqual([event]);
    }
    // following a job needs jobs:read
    byHeader.send({ type: 'subscribe', job_id: jobId });
    expect(await byHeader.next((m) => m.type === 'error')).toMatchObject({
      code: 'forbidden',
      job_id: jobId,
    });
    await Promise.all([byHeader, byKey, byMessage, watcher].map((c) => c.close()));
  });

  it('events socket: without jobs:read and deployments:read it is 403 before the upgrade, or 4403 after the first message', async () => {
    const bystander = await memberWith(['audit:read', 'services:read']);
    expect(await Console.open(server.url, { bearer: bystander.token })).toEqual({ refused: 403 });
    expect(await Console.open(server.url, { query: bystander.token })).toEqual({ refused: 403 });
    const client = await Console.opened(server.url);
    client.send({ access_token: bystander.token });
    expect(await client.next((m) => m.type === 'authentication')).toMatchObject({
      status: 'failure',
      message: expect.stringMatching(/jobs:read.*deployments:read/),
    });
    expect((await client.closed).code).toBe(4403);
  });

  it("events socket: following a deployment shows its machines' output, a later batch's included, and nothing once unfollowed", async () => {
    const tag = uniqueName('web');
    const { secret } = await enrollmentToken(server, owner, { tags: [tag] });
    const machines: { agent: ScriptedAgent; token: string }[] = [];
    for (let i = 0; i < 2; i += 1) {
      const { agentId, agentToken } = await enroll(server, owner, { secret });
      machines.push({ agent: new ScriptedAgent(server, agentId, agentToken), token: agentToken });
    }
    const service = await expectStatus(
      call(server, 'POST', '/api/v1/services', {
        token: owner.token,
        body: {
          name: uniqueName('svc'),
          script: { interpreter: 'sh', content: 'echo deploying' },
          steps: [],
          runs_on: { type: 'selector', selector: { tags: [tag] } },
          rollout: { batch_size: 1 },
        },
      }),
      201,
    );
    const client = await Console.opened(server.url);
    client.send({ access_token: owner.token });
    await client.next((m) => m.type === 'authentication');
    const deployment = await expectStatus(
      call(server, 'POST', '/api/v1/deployments', { token: owner.token, body: { service_id: service.id } }),
      201,
    );
    client.send({ type: 'subscribe', deployment_id: deployment.id });
    client.send({ type: 'subscribe', deployment_id: '0190a000-0000-7000-8000-000000000000' });
    await client.next((m) => m.type === 'subscribed' && m.deployment_id === deployment.id);
    expect(await client.next((m) => m.type === 'error')).toMatchObject({ code: 'not_found' });

    /** The machine that holds a job of the deployment: it prints `line` and ends. */
    const runBatch = async (line: string) => {
      const held = await eventually(async () => {
        for (const machine of machines) {
          const [job] = await machine.agent.poll();
          if (job) return { machine, job };
        }
        return undefined;
      });
      await expectStatus(
        call(server, 'POST', `/api/v1/agent/jobs/${held.job.job_id}/events`, {
          token: held.machine.token,
          body: {
            events: [
              { type: 'ack', job_id: held.job.job_id, attempt: held.job.attempt },
              {
                type: 'output',
                job_id: held.job.job_id,
                attempt: held.job.attempt,
                seq: 0,
                stream: 'stdout',
                data: line,
              },
            ],
          },
        }),
        200,
      );
      const output = await client.next((m) => m.type === 'job.output' && m.data === line);
      expect(output.job_id).toBe(held.job.job_id);
      await held.machine.agent.finish(held.job, 'succeeded', 0);
      return held.job.job_id as string;
    };
    const first = await runBatch('batch one');
    const second = await runBatch('batch two');
    expect(second).not.toBe(first);
    // the client tells the machine by the job its deployment.target event named
    const targetOf = (jobId: string) =>
      client.messages.find((m) => m.type === 'deployment.target' && m.job_id === jobId);
    expect(targetOf(first)).toMatchObject({ deployment_id: deployment.id, agent_id: expect.any(String) });
    expect(targetOf(second)).toMatchObject({ deployment_id: deployment.id, agent_id: expect.any(String) });
    expect(targetOf(second)?.agent_id).not.toBe(targetOf(first)?.agent_id);
    expect(targetOf(second)?.batch).toBeGreaterThan(targetOf(first)?.batch as number);

    client.send({ type: 'unsubscribe', deployment_id: deployment.id });
    // answered after the unsubscribe, so the unsubscribe has taken effect
    client.send({ type: 'subscribe', job_id: '0190a000-0000-7000-8000-000000000000' });
    await client.next((m) => m.type === 'error' && m.job_id !== undefined);
    const event = deploymentState(owner.orgId);
    server.app.services.bus.publish({ ...output(second, 'after unfollowing') });
    server.app.services.bus.publish(event);
    await client.next((m) => m.type === 'deployment.state' && m.deployment_id === event.deployment_id);
    expect(client.messages.some((m) => m.data === 'after unfollowing')).toBe(false);
    await client.close();
  });

  it('events socket: an expired access token as first message is a failure, close 4401', async () => {
    const session = await signup(server, 'expiring');
    clock.advance(server.config.accessTokenTtlMs + 60_000);
    const client = await Console.opened(server.url);
    client.send({ access_token: session.token });
    expect(await client.next((m) => m.type === 'authentication')).toMatchObject({ status: 'failure' });
    expect((await client.closed).code).toBe(4401);
  });
});

/**
 * The console routes on an app of their own, over the test server's real bus, authenticator, jobs
 * and deployments, with a short wait for the first message.
 */
describe.each(dialects)('events socket: the first-message wait on %s', (dialect) => {
  let server: TestServer;
  let edge: FastifyInstance;
  let edgeUrl: string;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    const { services } = server.app;
    edge = Fastify();
    installGuard(edge, {
      users: services.authenticator,
      agents: services.agentAuth,
      robots: services.robots,
      deployments: services.deploymentReports,
      enrollment: services.enrollment,
    });
    await edge.register(websocket);
    await edge.register(
      consoleRoutes({
        bus: services.bus,
        jobs: services.jobs,
        deployments: services.deployments,
        auth: services.authenticator,
        authTimeoutMs: 300,
      }),
    );
    edgeUrl = await edge.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await edge.close();
    await server.close();
  });

  it('events socket: no first message within the wait closes the socket 4401 with a reason', async () => {
    const client = await Console.opened(edgeUrl);
    const started = Date.now();
    const closed = await client.closed;
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/access_token/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(client.messages).toEqual([]);
  });
});
