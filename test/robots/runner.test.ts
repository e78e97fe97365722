import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll } from '../support/agents.js';
import {
  auditOf,
  call,
  expectError,
  expectStatus,
  signup,
  uniqueName,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';

const SECOND = 1000;

describe.each(dialects)('robots: runner identity on %s', (dialect) => {
  let server: TestServer;
  const clock = new TestClock();
  beforeAll(async () => {
    server = await startTestServer(dialect, { clock });
  });
  afterAll(async () => {
    await server.close();
  });

  const api = (session: Session, method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: session.token, ...(body === undefined ? {} : { body }) });
  const register = (name: string, machineKey: string) =>
    call(server, 'POST', '/api/v1/runner/register', { body: { name, machine_key: machineKey } });
  /** The runner's own calls, with its token as X-Robot-Token or as a bearer token. */
  const asRobot = (token: string, form: 'header' | 'bearer', method: string, route: string, body?: unknown) =>
    call(server, method, route, {
      ...(form === 'header' ? { headers: { 'x-robot-token': token } } : { token }),
      ...(body === undefined ? {} : { body }),
    });
  /** A runner robot, registered: its id, name and token. */
  const registeredRunner = async (owner: Session) => {
    const name = uniqueName('runner');
    const created = await expectStatus(api(owner, 'POST', '/api/v1/robots', { name, kind: 'runner' }), 201);
    const registered = await expectStatus(register(name, created.machine_key), 200);
    return {
      id: created.robot.id as string,
      name,
      token: registered.robot_token as string,
      machineKey: created.machine_key,
    };
  };

  it('robots: a runner registers once with its machine key; a second use, a wrong name or a made-up key is 401', async () => {
    const owner = await signup(server);
    const name = uniqueName('runner');
    const created = await expectStatus(api(owner, 'POST', '/api/v1/robots', { name, kind: 'runner' }), 201);
    const key = created.machine_key as string;
    const wrongName = await register(`${name}-not`, key);
    expectError(wrongName, 401, 'unauthorized');
    const unknown = await register(name, `fprm_${'x'.repeat(43)}`);
    expectError(unknown, 401, 'unauthorized');
    // One generic message: nothing tells a wrong name from a wrong key.
    expect(wrongName.body.error.message).toBe(unknown.body.error.message);

    const registered = await expectStatus(register(name, key), 200);
    expect(registered).toMatchObject({ robot_id: created.robot.id, heartbeat_interval_seconds: 60 });
    expect(registered.robot_token).toMatch(/^fpr_/);
    const again = await register(name, key);
    expectError(again, 401, 'unauthorized');
    expect(again.body.error.message).toBe(unknown.body.error.message);

    const shown = await expectStatus(api(owner, 'GET', `/api/v1/robots/${created.robot.id}`), 200);
    expect(shown).toMatchObject({
      has_token: true,
      status: 'online',
      last_heartbeat_at: clock.now().toISOString(),
    });
    expect(registered.robot_token.startsWith(shown.token_prefix)).toBe(true);
    expect(shown.token_prefix.length).toBeLessThan(registered.robot_token.length - 20);

    // Registration is audited with the robot as its actor, and no secret in it.
    const events = await auditOf(server, owner, 'robot', created.robot.id);
    const event = events.find((e) => e.action === 'status_changed');
    expect(event).toMatchObject({ actor_type: 'robot', actor_id: created.robot.id, actor_label: name });
    const tokenHash = createHash('sha256').update(registered.robot_token).digest('hex');
    for (const secret of [key, registered.robot_token, tokenHash])
      expect(JSON.stringify(events)).not.toContain(secret);
    const logs = JSON.stringify(server.logs);
    for (const secret of [key, registered.robot_token]) expect(logs).not.toContain(secret);
  });

  it('robots: a new machine key replaces the unused one, and registering again replaces the token', async () => {
    const owner = await signup(server);
    const runner = await registeredRunner(owner);
    const issued = await expectStatus(api(owner, 'POST', `/api/v1/robots/${runner.id}/machine-key`), 200);
    expect(issued.machine_key).toMatch(/^fprm_/);
    expect(issued.robot.id).toBe(runner.id);
    const second = await expectStatus(api(owner, 'POST', `/api/v1/robots/${runner.id}/machine-key`), 200);
    expectError(await register(runner.name, issued.machine_key), 401, 'unauthorized');
    const again = await expectStatus(register(runner.name, second.machine_key), 200);
    expect(again.robot_token).not.toBe(runner.token);
    expectError(await asRobot(runner.token, 'bearer', 'GET', '/api/v1/runner/me'), 401, 'unauthorized');
    await expectStatus(asRobot(again.robot_token, 'bearer', 'GET', '/api/v1/runner/me'), 200);
    const events = await auditOf(server, owner, 'robot', runner.id);
    expect(events.map((e) => e.action)).toEqual([
      'created',
      'status_changed',
      'modified',
      'modified',
      'status_changed',
    ]);
    expect(JSON.stringify(events)).not.toContain(issued.machine_key);
  });

  it('robots: an agent robot takes no machine key (422)', async () => {
    const owner = await signup(server);
    const agent = await enroll(server, owner);
    const robot = await expectStatus(
      api(owner, 'POST', '/api/v1/robots', {
        name: uniqueName('bot'),
        kind: 'agent',
        agent_id: agent.agentId,
      }),
      201,
    );
    expectError(
      await api(owner, 'POST', `/api/v1/robots/${robot.robot.id}/machine-key`),
      422,
      'unprocessable',
    );
  });

  for (const form of ['header', 'bearer'] as const)
    it(`robots: the token (as ${form === 'header' ? 'X-Robot-Token' : 'a bearer token'}) reads /runner/me and sends heartbeats`, async () => {
      const owner = await signup(server);
      const runner = await registeredRunner(owner);
      const me = await expectStatus(asRobot(runner.token, form, 'GET', '/api/v1/runner/me'), 200);
      expect(me).toMatchObject({ id: runner.id, name: runner.name, kind: 'runner', status: 'online' });
      expect(JSON.stringify(me)).not.toContain(runner.token);

      clock.advance(30 * SECOND);
      const beat = await expectStatus(
        asRobot(runner.token, form, 'POST', '/api/v1/runner/heartbeat', { status: 'busy' }),
        200,
      );
      expect(beat).toEqual({ robot_id: runner.id, heartbeat_interval_seconds: 60 });
      const busy = await expectStatus(api(owner, 'GET', `/api/v1/robots/${runner.id}`), 200);
      expect(busy).toMatchObject({ status: 'busy', last_heartbeat_at: clock.now().toISOString() });
      await expectStatus(asRobot(runner.token, form, 'POST', '/api/v1/runner/heartbeat', {}), 200);
      expect((await expectStatus(api(owner, 'GET', `/api/v1/robots/${runner.id}`), 200)).status).toBe(
        'online',
      );
      await expectStatus(
        asRobot(runner.token, form, 'POST', '/api/v1/runner/heartbeat', { status: 'idle' }),
        200,
      );
      expect((await expectStatus(asRobot(runner.token, form, 'GET', '/api/v1/runner/me'), 200)).status).toBe(
        'online',
      );
    });

  it('robots: a runner silent for three heartbeat intervals reads offline, and online again at its next heartbeat', async () => {
    const owner = await signup(server);
    const runner = await registeredRunner(owner);
    const status = async () =>
      (await expectStatus(api(owner, 'GET', `/api/v1/robots/${runner.id}`), 200)).status;
    const listedOffline = async () => {
      const list = await expectStatus(api(owner, 'GET', '/api/v1/robots?status=offline'), 200);
      return list.items.map((r: { id: string }) => r.id);
    };
    expect(await status()).toBe('online');
    clock.advance(180 * SECOND);
    // Exactly three intervals: still online; a moment later, offline.
    expect(await status()).toBe('online');
    clock.advance(1);
    expect(await status()).toBe('offline');
    expect(await listedOffline()).toEqual([runner.id]);
    await expectStatus(
      asRobot(runner.token, 'header', 'POST', '/api/v1/runner/heartbeat', { status: 'busy' }),
      200,
    );
    expect(await status()).toBe('busy');
    expect(await listedOffline()).toEqual([]);
    // A busy runner that falls silent is offline too: it can no longer be working for us.
    clock.advance(181 * SECOND);
    expect(await status()).toBe('offline');
  });

  it('robots: a revoked token is refused at once (401); the revocation is audited', async () => {
    const owner = await signup(server);
    const runner = await registeredRunner(owner);
    await expectStatus(asRobot(runner.token, 'header', 'GET', '/api/v1/runner/me'), 200);
    const revoked = await expectStatus(api(owner, 'POST', `/api/v1/robots/${runner.id}/revoke-token`), 200);
    expect(revoked).toMatchObject({ has_token: false, token_prefix: null });
    for (const form of ['header', 'bearer'] as const) {
      expectError(await asRobot(runner.token, form, 'GET', '/api/v1/runner/me'), 401, 'unauthorized');
      expectError(
        await asRobot(runner.token, form, 'POST', '/api/v1/runner/heartbeat', {}),
        401,
        'unauthorized',
      );
    }
    const events = await auditOf(server, owner, 'robot', runner.id);
    expect(events.at(-1)).toMatchObject({
      action: 'status_changed',
      actor_type: 'user',
      actor_id: owner.userId,
    });
    expect(JSON.stringify(events)).not.toContain(runner.token);
  });

  it('robots: a robot token is no user credential (401 on user routes, even its own robot); a user token is no robot token', async () => {
    const a = await signup(server);
    const b = await signup(server);
    const runner = await registeredRunner(a);
    const other = await expectStatus(
      api(b, 'POST', '/api/v1/robots', { name: uniqueName('b'), kind: 'runner' }),
      201,
    );
    for (const form of ['header', 'bearer'] as const) {
      for (const id of [other.robot.id, runner.id])
        expectError(await asRobot(runner.token, form, 'GET', `/api/v1/robots/${id}`), 401, 'unauthorized');
      expectError(await asRobot(runner.token, form, 'GET', '/api/v1/robots'), 401, 'unauthorized');
    }
    expectError(await call(server, 'GET', '/api/v1/runner/me', { token: a.token }), 401, 'unauthorized');
    expectError(await call(server, 'GET', '/api/v1/runner/me'), 401, 'unauthorized');
    expectError(
      await call(server, 'GET', '/api/v1/runner/me', {
        headers: { 'x-robot-token': `fpr_${'y'.repeat(43)}` },
      }),
      401,
      'unauthorized',
    );
  });

  it('robots: registration is rate-limited like sign-in (429)', async () => {
    const limited = await startTestServer(dialect, {
      clock,
      config: { authRateLimit: { max: 3, windowMs: 60_000 } },
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const reply = await call(limited, 'POST', '/api/v1/runner/register', {
          body: { name: 'guess', machine_key: `fprm_guess${i}` },
        });
        statuses.push(reply.status);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await limited.close();
    }
  });
});
