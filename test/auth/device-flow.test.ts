import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  call,
  expectError,
  expectStatus,
  roleId,
  signup,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;

/** SDK sign-in by device code (RFC 8628), over HTTP, with the server's clock in the test's hands. */
describe.each(dialects)('sdk device sign-in on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  const clock = new TestClock();

  beforeAll(async () => {
    server = await startTestServer(dialect, { clock });
    owner = await signup(server, 'sdk');
  });
  afterAll(async () => {
    await server?.close();
  });

  const start = async () =>
    expectStatus(
      call(server, 'POST', '/api/v1/sdk/device/start', { body: { client_name: 'pytest runner' } }),
      200,
    );
  const poll = (deviceCode: string) =>
    expectStatus(
      call(server, 'POST', '/api/v1/sdk/device/token', { body: { device_code: deviceCode } }),
      200,
    );
  const confirm = (as: Session, userCode: string, approve = true, extra: object = {}) =>
    call(server, 'POST', '/api/v1/sdk/device/confirm', {
      token: as.token,
      body: { user_code: userCode, approve, ...extra },
    });
  /** Starts a sign-in, lets `as` approve it, and collects the token. */
  const signIn = async (as: Session) => {
    const started = await start();
    await expectStatus(confirm(as, started.user_code), 200);
    clock.advance(5_000);
    const answer = await poll(started.device_code);
    expect(answer.status).toBe('confirmed');
    return answer.access_token as string;
  };

  it('sdk: pending, slow_down when polled too fast, confirmed once with a scoped token, then expired', async () => {
    const started = await start();
    expect(started).toEqual({
      device_code: expect.any(String),
      user_code: expect.stringMatching(USER_CODE),
      verification_uri: `${server.url}/device`,
      verification_uri_complete: `${server.url}/device?user_code=${started.user_code}`,
      expires_in: 300,
      interval: 5,
    });
    // The device code is kept only as its hash.
    const device = await server.database.db
      .selectFrom('sdk_devices')
      .selectAll()
      .where('user_code', '=', started.user_code.replace('-', ''))
      .executeTakeFirstOrThrow();
    expect(device.device_code_hash).toBe(sha256(started.device_code));
    expect(JSON.stringify(device)).not.toContain(started.device_code);

    expect(await poll(started.device_code)).toEqual({ status: 'pending' });
    clock.advance(2_000);
    expect(await poll(started.device_code)).toEqual({ status: 'slow_down', interval: 10 });
    clock.advance(6_000);
    // Still sooner than the grown interval.
    expect(await poll(started.device_code)).toEqual({ status: 'slow_down', interval: 15 });
    clock.advance(15_000);
    expect(await poll(started.device_code)).toEqual({ status: 'pending' });

    // A typed code may be lower case and without its dash.
    const typed = started.user_code.replace('-', '').toLowerCase();
    const confirmed = await expectStatus(confirm(owner, typed), 200);
    expect(confirmed).toMatchObject({
      user_code: started.user_code,
      client_name: 'pytest runner',
      status: 'confirmed',
    });
    // Decided once.
    expectError(await confirm(owner, started.user_code, false), 409, 'conflict');

    clock.advance(15_000);
    const issued = await poll(started.device_code);
    expect(issued).toEqual({
      status: 'confirmed',
      access_token: expect.stringMatching(/^fps_/),
      token_type: 'bearer',
      expires_at: new Date(clock.now().getTime() + 30 * 24 * 3_600_000).toISOString(),
      scope: expect.stringContaining('assets:read'),
    });
    expect(issued.scope.split(' ')).not.toContain('api_keys:create');
    const token = issued.access_token as string;

    // In scope: it acts as its user in its organisation.
    await expectStatus(call(server, 'GET', '/api/v1/assets', { token }), 200);
    const me = await expectStatus(call(server, 'GET', '/api/v1/auth/me', { token }), 200);
    expect(JSON.stringify(me)).toContain(owner.orgId);
    // Out of scope, though its user (the owner) holds these.
    const keyRole = await roleId(server, owner.token, 'viewer');
    expectError(
      await call(server, 'POST', '/api/v1/api-keys', { token, body: { name: 'from sdk', role_id: keyRole } }),
      403,
      'forbidden',
    );
    expectError(await call(server, 'GET', '/api/v1/agents', { token }), 403, 'forbidden');
    // Nor may it approve another sign-in (which would mint tokens without a person).
    const other = await start();
    expectError(
      await call(server, 'POST', '/api/v1/sdk/device/confirm', {
        token,
        body: { user_code: other.user_code, approve: true },
      }),
      403,
      'forbidden',
    );

    // Issued once: polling again gets no second token.
    clock.advance(5_000);
    expect(await poll(started.device_code)).toEqual({ status: 'expired' });

    // Stored hashed, listed masked.
    const stored = await server.database.db
      .selectFrom('sdk_tokens')
      .selectAll()
      .where('token_hash', '=', sha256(token))
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(stored)).not.toContain(token);
    const list = await expectStatus(call(server, 'GET', '/api/v1/sdk/tokens', { token: owner.token }), 200);
    expect(list.items).toEqual([
      expect.objectContaining({
        id: stored.id,
        client_name: 'pytest runner',
        prefix: token.slice(0, 12),
        revoked_at: null,
      }),
    ]);
    expect(JSON.stringify(list)).not.toContain(token);

    const audit = await expectStatus(
      call(server, 'GET', '/api/v1/audit?limit=200', { token: owner.token }),
      200,
    );
    expect(audit.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: 'status_changed',
          entity_type: 'sdk_device',
          actor_id: owner.userId,
        }),
        expect.objectContaining({ action: 'created', entity_type: 'sdk_token', entity_id: stored.id }),
      ]),
    );
    expect(JSON.stringify(audit)).not.toContain(token);
    expect(JSON.stringify(audit)).not.toContain(started.device_code);
  });

  it('sdk: a denied sign-in answers denied and issues nothing', async () => {
    const started = await start();
    const denied = await expectStatus(confirm(owner, started.user_code, false), 200);
    expect(denied.status).toBe('denied');
    expect(await poll(started.device_code)).toEqual({ status: 'denied' });
    clock.advance(10_000);
    expect(await poll(started.device_code)).toEqual({ status: 'denied' });
  });

  it('sdk: five minutes on, a code is expired: polls say so and confirming it is refused (410)', async () => {
    const started = await start();
    clock.advance(299_000);
    expect(await poll(started.device_code)).toEqual({ status: 'pending' });
    clock.advance(1_000);
    expect(await poll(started.device_code)).toEqual({ status: 'expired' });
    expectError(await confirm(owner, started.user_code), 410, 'gone');
    // An unknown code or device code is not found.
    expectError(await confirm(owner, 'BBBB-BBBB'), 404, 'not_found');
    expectError(
      await call(server, 'POST', '/api/v1/sdk/device/token', { body: { device_code: 'fpd_nothing' } }),
      404,
      'not_found',
    );
  });

  it('sdk: a sign-in is bound to the confirming user and their current organisation', async () => {
    const started = await start();
    const elsewhere = await signup(server, 'elsewhere');
    const reply = await confirm(owner, started.user_code, true, { org_id: elsewhere.orgId });
    expectError(reply, 422, 'unprocessable');
    expect(reply.body.error.details).toEqual([{ field: 'org_id', message: expect.any(String) }]);
    // Their token acts in their organisation only.
    const token = await signIn(elsewhere);
    const mine = await expectStatus(
      call(server, 'POST', '/api/v1/assets', {
        token: owner.token,
        body: { name: 'bound-check', type: 'text' },
      }),
      201,
    );
    expectError(await call(server, 'GET', `/api/v1/assets/${mine.id}`, { token }), 404, 'not_found');
  });

  it("sdk: a member's token stops at once when the member is removed, or when they revoke it", async () => {
    const member = await addMember(server, owner, 'operator');
    const token = await signIn(member);
    await expectStatus(call(server, 'GET', '/api/v1/assets', { token }), 200);
    await expectStatus(
      call(server, 'DELETE', `/api/v1/access/users/${member.userId}`, { token: owner.token }),
      204,
    );
    expectError(await call(server, 'GET', '/api/v1/assets', { token }), 401, 'unauthorized');

    const revocable = await signIn(owner);
    await expectStatus(call(server, 'GET', '/api/v1/assets', { token: revocable }), 200);
    const tokens = await expectStatus(
      call(server, 'GET', '/api/v1/sdk/tokens?limit=200', { token: owner.token }),
      200,
    );
    const row = tokens.items.find((t: { prefix: string }) => revocable.startsWith(t.prefix));
    // Another user cannot see or revoke it.
    const stranger = await addMember(server, owner, 'admin');
    expectError(
      await call(server, 'DELETE', `/api/v1/sdk/tokens/${row.id}`, { token: stranger.token }),
      404,
      'not_found',
    );
    await expectStatus(call(server, 'DELETE', `/api/v1/sdk/tokens/${row.id}`, { token: owner.token }), 204);
    expectError(await call(server, 'GET', '/api/v1/assets', { token: revocable }), 401, 'unauthorized');
    const after = await expectStatus(
      call(server, 'GET', '/api/v1/sdk/tokens?limit=200', { token: owner.token }),
      200,
    );
    expect(after.items.find((t: { id: string }) => t.id === row.id).revoked_at).toEqual(expect.any(String));
  });
});

describe.each(dialects)('sdk device sign-in rate limit on %s', (dialect) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect, { config: { authRateLimit: { max: 2, windowMs: 60_000 } } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('sdk: starting sign-ins is rate-limited per IP, as sign-in is', async () => {
    const start = () => call(server, 'POST', '/api/v1/sdk/device/start', { body: {} });
    expect((await start()).status).toBe(200);
    expect((await start()).status).toBe(200);
    const limited = await start();
    expectError(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
