import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditOf, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, HAND_DRIVEN, startTestServer, TestClock, type TestServer } from '../support/harness.js';

const START = new Date('2030-05-01T08:00:00.000Z');
const DAY_MS = 24 * 60 * 60 * 1000;

describe.each(dialects)('services: deploy tokens on %s', (dialect) => {
  let server: TestServer;
  let clock: TestClock;
  let owner: Session;
  let stranger: Session;
  let serviceId: string;

  beforeAll(async () => {
    clock = new TestClock(new Date(START));
    // Access tokens outlive the days the clock is moved, so the owner stays signed in.
    server = await startTestServer(dialect, {
      clock,
      config: { ...HAND_DRIVEN, accessTokenTtlMs: 10 * DAY_MS },
    });
    owner = await signup(server, 'tokens');
    stranger = await signup(server, 'stranger');
    const service = await expectStatus(
      call(server, 'POST', '/api/v1/services', {
        token: owner.token,
        body: {
          name: 'shop',
          script: { interpreter: 'bash', content: 'echo\n' },
          steps: ['deploy'],
          runs_on: { type: 'server' },
        },
      }),
      201,
    );
    serviceId = service.id;
  });
  afterAll(async () => {
    await server.close();
  });

  const as = (method: string, route: string, body?: unknown, session = owner) =>
    call(server, method, route, { token: session.token, ...(body === undefined ? {} : { body }) });
  const create = (body: unknown, session = owner) => as('POST', '/api/v1/deploy-tokens', body, session);
  const authenticate = (secret: string) => server.app.services.authenticator.authenticate(secret);

  it('services: deploy tokens are created for 1 to 180 days, shown once, listed masked and audited', async () => {
    const short = await expectStatus(
      create({ kind: 'service', service_id: serviceId, origin: 'github', expires_in_days: 1 }),
      201,
    );
    expect(short.secret).toMatch(/^fpst_[A-Za-z0-9_-]{43}$/);
    expect(short.token).toEqual({
      id: expect.any(String),
      kind: 'service',
      service_id: serviceId,
      service_name: 'shop',
      origin: 'github',
      prefix: short.secret.slice(0, 13),
      created_at: START.toISOString(),
      expires_at: new Date(START.getTime() + DAY_MS).toISOString(),
      revoked_at: null,
      last_used_at: null,
      status: 'active',
    });
    const long = await expectStatus(
      create({ kind: 'service', service_id: serviceId, origin: 'gitlab', expires_in_days: 180 }),
      201,
    );
    expect(long.token.expires_at).toBe(new Date(START.getTime() + 180 * DAY_MS).toISOString());
    const config = await expectStatus(
      create({ kind: 'config', origin: 'ci.local', expires_in_days: 30 }),
      201,
    );
    expect(config.secret).toMatch(/^fpct_/);
    expect(config.token).toMatchObject({ kind: 'config', service_id: null, service_name: null });

    for (const days of [0, 181]) {
      const reply = await create({
        kind: 'service',
        service_id: serviceId,
        origin: 'github',
        expires_in_days: days,
      });
      expectError(reply, 422, 'unprocessable');
      expect(reply.body.error.details).toEqual([{ field: 'expires_in_days', message: expect.any(String) }]);
    }
    const noService = await create({ kind: 'service', origin: 'github', expires_in_days: 5 });
    expectError(noService, 422, 'unprocessable');
    expect(noService.body.error.details[0].field).toBe('service_id');
    const configForService = await create({
      kind: 'config',
      service_id: serviceId,
      origin: 'x',
      expires_in_days: 5,
    });
    expectError(configForService, 422, 'unprocessable');
    expect(configForService.body.error.details[0].field).toBe('service_id');
    // Another organisation's service is not one of ours.
    const foreign = await create(
      { kind: 'service', service_id: serviceId, origin: 'x', expires_in_days: 5 },
      stranger,
    );
    expectError(foreign, 422, 'unprocessable');
    expectError(
      await create({ kind: 'config', origin: 'GitHub!', expires_in_days: 5 }),
      400,
      'validation_failed',
    );

    const listed = await expectStatus(as('GET', '/api/v1/deploy-tokens'), 200);
    expect(listed.items.map((t: { id: string }) => t.id)).toEqual([
      config.token.id,
      long.token.id,
      short.token.id,
    ]);
    const text = JSON.stringify(listed);
    for (const secret of [short.secret, long.secret, config.secret]) expect(text).not.toContain(secret);
    expect(text).not.toContain('hash');
    const services = await expectStatus(as('GET', '/api/v1/deploy-tokens?kind=service'), 200);
    expect(services.items.map((t: { id: string }) => t.id)).toEqual([long.token.id, short.token.id]);
    const byService = await expectStatus(
      as('GET', `/api/v1/deploy-tokens?service_id=${serviceId}&limit=1`),
      200,
    );
    expect(byService.items).toHaveLength(1);
    expect(byService.next_cursor).not.toBeNull();
    expect((await expectStatus(as('GET', '/api/v1/deploy-tokens', undefined, stranger), 200)).items).toEqual(
      [],
    );

    const audit = await auditOf(server, owner, 'deploy_token', short.token.id);
    expect(audit.map((e) => e.action)).toEqual(['created']);
    expect(JSON.stringify(audit)).not.toContain(short.secret);
  });

  it('services: a deploy token authenticates as a narrow principal, touched at most once a minute', async () => {
    const service = await expectStatus(
      create({ kind: 'service', service_id: serviceId, origin: 'github', expires_in_days: 7 }),
      201,
    );
    const principal = await authenticate(service.secret);
    expect(principal).toMatchObject({
      orgId: owner.orgId,
      actor: { type: 'service_token', id: service.token.id, label: 'github' },
      userId: null,
      sessionId: null,
      serviceId,
    });
    expect(principal?.permissions.toArray().sort()).toEqual(['deployments:execute', 'deployments:read']);

    const config = await expectStatus(create({ kind: 'config', origin: 'consul', expires_in_days: 7 }), 201);
    const configPrincipal = await authenticate(config.secret);
    expect(configPrincipal).toMatchObject({
      orgId: owner.orgId,
      actor: { type: 'config_token', id: config.token.id, label: 'consul' },
      userId: null,
    });
    expect(configPrincipal?.serviceId).toBeUndefined();
    expect(configPrincipal?.permissions.toArray()).toEqual(['deployed_services:read']);

    const lastUsed = async () =>
      (await expectStatus(as('GET', `/api/v1/deploy-tokens?service_id=${serviceId}`), 200)).items.find(
        (t: { id: string }) => t.id === service.token.id,
      ).last_used_at;
    const first = await lastUsed();
    expect(first).toBe(clock.now().toISOString());
    clock.advance(30_000);
    await authenticate(service.secret);
    expect(await lastUsed()).toBe(first);
    clock.advance(61_000);
    await authenticate(service.secret);
    expect(await lastUsed()).toBe(clock.now().toISOString());

    // Over HTTP: a service token holds no services:read.
    expectError(await call(server, 'GET', '/api/v1/services', { token: service.secret }), 403, 'forbidden');
    expectError(await call(server, 'GET', '/api/v1/services', { apiKey: config.secret }), 403, 'forbidden');
    expectError(
      await call(server, 'GET', '/api/v1/services', { token: 'fpst_nothing' }),
      401,
      'unauthorized',
    );
  });

  it('services: an expired or revoked deploy token authenticates no more; revoking twice is 204', async () => {
    const soon = await expectStatus(
      create({ kind: 'service', service_id: serviceId, origin: 'github', expires_in_days: 1 }),
      201,
    );
    const revoked = await expectStatus(
      create({ kind: 'config', origin: 'github', expires_in_days: 10 }),
      201,
    );
    expect(await authenticate(soon.secret)).not.toBeNull();
    expect(await authenticate(revoked.secret)).not.toBeNull();

    await expectStatus(as('DELETE', `/api/v1/deploy-tokens/${revoked.token.id}`), 204);
    expect(await authenticate(revoked.secret)).toBeNull();
    expectError(
      await call(server, 'GET', '/api/v1/services', { token: revoked.secret }),
      401,
      'unauthorized',
    );
    await expectStatus(as('DELETE', `/api/v1/deploy-tokens/${revoked.token.id}`), 204);
    expectError(
      await as('DELETE', `/api/v1/deploy-tokens/${revoked.token.id}`, undefined, stranger),
      404,
      'not_found',
    );
    const audit = await auditOf(server, owner, 'deploy_token', revoked.token.id);
    expect(audit.map((e) => e.action)).toEqual(['created', 'status_changed']);

    clock.advance(DAY_MS + 1000);
    expect(await authenticate(soon.secret)).toBeNull();
    const listed = await expectStatus(as('GET', '/api/v1/deploy-tokens?limit=200'), 200);
    const status = Object.fromEntries(
      listed.items.map((t: { id: string; status: string }) => [t.id, t.status]),
    );
    expect(status[soon.token.id]).toBe('expired');
    expect(status[revoked.token.id]).toBe('revoked');
  });

  it('services: deleting a service deletes its tokens', async () => {
    const doomed = await expectStatus(
      as('POST', '/api/v1/services', {
        name: 'doomed',
        script: { interpreter: 'sh', content: 'true\n' },
        steps: [],
        runs_on: { type: 'server' },
      }),
      201,
    );
    const token = await expectStatus(
      create({ kind: 'service', service_id: doomed.id, origin: 'github', expires_in_days: 3 }),
      201,
    );
    await expectStatus(as('DELETE', `/api/v1/services/${doomed.id}`), 204);
    expect(await authenticate(token.secret)).toBeNull();
    const listed = await expectStatus(as('GET', `/api/v1/deploy-tokens?service_id=${doomed.id}`), 200);
    expect(listed.items).toEqual([]);
  });
});
