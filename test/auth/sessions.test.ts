import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectError, login, PASSWORD, signup, uniqueEmail, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

/** The session id an access token names (its `sid` claim). */
function sessionIdOf(accessToken: string): string {
  const payload = accessToken.split('.')[1] ?? '';
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sid: string }).sid;
}

describe.each(dialects)('auth sessions on %s', (dialect) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(async () => {
    await server.close();
  });

  const me = (token: string) => call(server, 'GET', '/api/v1/auth/me', { token });
  const refresh = (refreshToken: string) =>
    call(server, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: refreshToken } });

  it('auth: signup returns an access token, a refresh token and the new user and organisation', async () => {
    const email = uniqueEmail('new');
    const reply = await call(server, 'POST', '/api/v1/auth/signup', {
      body: { email, password: PASSWORD, name: 'New', org_name: 'New org' },
    });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ token_type: 'Bearer', user: { email, name: 'New' } });
    expect(reply.body.org.name).toBe('New org');
    expect(reply.body.access_token.split('.')).toHaveLength(3);
    expect(reply.body.refresh_token).toMatch(/^fpr_/);
    expect(reply.body.expires_in).toBe(server.config.accessTokenTtlMs / 1000);
    expect((await me(reply.body.access_token)).body.user.id).toBe(reply.body.user.id);
  });

  it('auth: signup with an email that exists is 409, whatever its case', async () => {
    const owner = await signup(server);
    for (const email of [owner.email, owner.email.toUpperCase()]) {
      const again = await call(server, 'POST', '/api/v1/auth/signup', {
        body: { email, password: PASSWORD, name: 'Again' },
      });
      expectError(again, 409, 'conflict');
    }
  });

  it('auth: signup validation errors are 400 validation_failed naming the field', async () => {
    const email = uniqueEmail('invalid');
    const cases: [Record<string, unknown>, string][] = [
      [{ email: 'not-an-email', password: PASSWORD, name: 'X' }, 'body.email'],
      [{ email, name: 'X' }, 'body.password'],
      [{ password: PASSWORD, name: 'X' }, 'body.email'],
      [{ email, password: 12345678, name: 'X' }, 'body.password'],
      [{ email, password: PASSWORD, name: 'X', is_admin: true }, 'body.is_admin'],
    ];
    for (const [body, field] of cases) {
      const reply = await call(server, 'POST', '/api/v1/auth/signup', { body });
      expectError(reply, 400, 'validation_failed');
      expect(reply.body.error.details).toEqual([{ field, message: expect.any(String) }]);
    }
    // Nothing was half-created by the refused attempts: the email is still free.
    const ok = await call(server, 'POST', '/api/v1/auth/signup', {
      body: { email, password: PASSWORD, name: 'X' },
    });
    expect(ok.status).toBe(201);
  });

  it('auth: login with JSON opens a new session; a wrong password does not', async () => {
    const owner = await signup(server);
    const reply = await call(server, 'POST', '/api/v1/auth/login', {
      body: { email: owner.email.toUpperCase(), password: PASSWORD },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.user.id).toBe(owner.userId);
    expect(reply.body.org.id).toBe(owner.orgId);
    expect(sessionIdOf(reply.body.access_token)).not.toBe(sessionIdOf(owner.token));
    expect((await me(reply.body.access_token)).status).toBe(200);
    const bad = await call(server, 'POST', '/api/v1/auth/login', {
      body: { email: owner.email, password: `${PASSWORD}!` },
    });
    expectError(bad, 401, 'unauthorized');
  });

  it('auth: the OAuth2 token endpoint takes form-encoded password and refresh_token grants', async () => {
    const owner = await signup(server);
    const issued = await call(server, 'POST', '/api/v1/auth/token', {
      form: { grant_type: 'password', username: owner.email, password: PASSWORD },
    });
    expect(issued.status).toBe(200);
    expect(issued.body).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: server.config.accessTokenTtlMs / 1000,
      refresh_token: expect.stringMatching(/^fpr_/),
    });
    expect((await me(issued.body.access_token)).body.user.id).toBe(owner.userId);

    const refreshed = await call(server, 'POST', '/api/v1/auth/token', {
      form: { grant_type: 'refresh_token', refresh_token: issued.body.refresh_token },
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).not.toBe(issued.body.refresh_token);
    expect((await me(refreshed.body.access_token)).status).toBe(200);

    const wrong = await call(server, 'POST', '/api/v1/auth/token', {
      form: { grant_type: 'password', username: owner.email, password: 'wrong password' },
    });
    expectError(wrong, 401, 'unauthorized');
    const missing = await call(server, 'POST', '/api/v1/auth/token', {
      form: { grant_type: 'password', username: owner.email },
    });
    expectError(missing, 400, 'bad_request');
    const unsupported = await call(server, 'POST', '/api/v1/auth/token', {
      form: { grant_type: 'client_credentials' },
    });
    expectError(unsupported, 400, 'validation_failed');
  });

  it('auth: refresh rotates the refresh token, and the new one keeps working', async () => {
    const owner = await signup(server);
    const first = await refresh(owner.refreshToken);
    expect(first.status).toBe(200);
    expect(first.body.refresh_token).toMatch(/^fpr_/);
    expect(first.body.refresh_token).not.toBe(owner.refreshToken);
    expect(sessionIdOf(first.body.access_token)).toBe(sessionIdOf(owner.token));
    expect((await me(first.body.access_token)).status).toBe(200);
    const second = await refresh(first.body.refresh_token);
    expect(second.status).toBe(200);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    expect((await me(second.body.access_token)).status).toBe(200);
  });

  it('auth: a reused refresh token revokes its whole family', async () => {
    const owner = await signup(server);
    const other: Session = await login(server, owner.email);
    const rotated = await refresh(owner.refreshToken);
    expect(rotated.status).toBe(200);

    const replay = await refresh(owner.refreshToken);
    expectError(replay, 401, 'unauthorized');

    // Every token of that session is dead now: the newest refresh token and both access tokens.
    expectError(await refresh(rotated.body.refresh_token), 401, 'unauthorized');
    expectError(await me(rotated.body.access_token), 401, 'unauthorized');
    expectError(await me(owner.token), 401, 'unauthorized');
    // Another session of the same user is not part of the family.
    expect((await me(other.token)).status).toBe(200);

    const audit = await call(
      server,
      'GET',
      `/api/v1/audit?action=status_changed&entity_type=session&entity_id=${sessionIdOf(owner.token)}`,
      { token: other.token },
    );
    expect(audit.status).toBe(200);
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({
      actor_id: owner.userId,
      after: { revoked: true, reason: 'refresh token reuse' },
    });
  });

  it('auth: logout revokes the session: its access and refresh tokens are 401', async () => {
    const owner = await signup(server);
    const other = await login(server, owner.email);
    const out = await call(server, 'POST', '/api/v1/auth/logout', { token: owner.token });
    expect(out.status).toBe(204);
    expectError(await me(owner.token), 401, 'unauthorized');
    expectError(await refresh(owner.refreshToken), 401, 'unauthorized');
    expect((await me(other.token)).status).toBe(200);
    expect((await refresh(other.refreshToken)).status).toBe(200);
  });

  it('auth: switch-org opens a session in another organisation of the user, and only those', async () => {
    const owner = await signup(server);
    const created = await call(server, 'POST', '/api/v1/orgs', {
      token: owner.token,
      body: { name: 'Org B' },
    });
    expect(created.status).toBe(201);
    const orgB = created.body.id as string;

    const switched = await call(server, 'POST', '/api/v1/auth/switch-org', {
      token: owner.token,
      body: { org_id: orgB },
    });
    expect(switched.status).toBe(200);
    expect(switched.body.org.id).toBe(orgB);
    const inB = await me(switched.body.access_token);
    expect(inB.body.org.id).toBe(orgB);
    expect(inB.body.roles.map((r: { name: string }) => r.name)).toEqual(['owner']);
    expect(inB.body.orgs.map((o: { id: string }) => o.id).sort()).toEqual([owner.orgId, orgB].sort());
    // The first session still acts in org A.
    expect((await me(owner.token)).body.org.id).toBe(owner.orgId);

    const stranger = await signup(server, 'stranger');
    for (const orgId of [stranger.orgId, '01890000-0000-7000-8000-000000000000']) {
      const refused = await call(server, 'POST', '/api/v1/auth/switch-org', {
        token: owner.token,
        body: { org_id: orgId },
      });
      expectError(refused, 404, 'not_found');
    }
  });
});
