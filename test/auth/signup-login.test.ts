import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, PASSWORD, signup } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

describe.each(dialects)('auth on %s', (dialect) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(async () => {
    await server.close();
  });

  it('auth: signup opens a session that /auth/me recognises', async () => {
    const owner = await signup(server);
    const me = await call(server, 'GET', '/api/v1/auth/me', { token: owner.token });
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe(owner.email);
    expect(me.body.org.id).toBe(owner.orgId);
    expect(me.body.roles.map((r: { name: string }) => r.name)).toEqual(['owner']);
    expect(me.body.permissions).toContain('roles:create');
  });

  it('auth: login with a wrong password is 401 and audited as login_failed', async () => {
    const owner = await signup(server);
    const bad = await call(server, 'POST', '/api/v1/auth/login', {
      body: { email: owner.email, password: 'wrong password!' },
    });
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('unauthorized');
    const good = await call(server, 'POST', '/api/v1/auth/login', {
      body: { email: owner.email, password: PASSWORD },
    });
    expect(good.status).toBe(200);
    const audit = await call(server, 'GET', '/api/v1/audit?action=login_failed', {
      token: good.body.access_token,
    });
    expect(audit.status).toBe(200);
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0].actor_label).toBe(owner.email);
  });
});
