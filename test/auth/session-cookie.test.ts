import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectError, PASSWORD, signup, type Reply } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

interface SetCookie {
  name: string;
  value: string;
  attributes: Map<string, string>;
}

function setCookies(reply: Reply): SetCookie[] {
  return reply.headers.getSetCookie().map((line) => {
    const [pair = '', ...rest] = line.split(';').map((part) => part.trim());
    const at = pair.indexOf('=');
    const attributes = new Map(
      rest.map((attribute) => {
        const [key = '', value = ''] = attribute.split('=');
        return [key.toLowerCase(), value] as const;
      }),
    );
    return { name: pair.slice(0, at), value: decodeURIComponent(pair.slice(at + 1)), attributes };
  });
}

function cookieNamed(reply: Reply, name: string): SetCookie {
  const cookie = setCookies(reply).find((c) => c.name === name);
  if (!cookie) throw new Error(`no Set-Cookie for ${name}`);
  return cookie;
}

describe.each(dialects)('auth session cookie on %s', (dialect) => {
  let server: TestServer;
  let trusted: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    trusted = await startTestServer(dialect, { config: { trustProxy: true } });
  });
  afterAll(async () => {
    await trusted.close();
    await server.close();
  });

  async function cookieLogin(target: TestServer, headers: Record<string, string> = {}) {
    const owner = await signup(target);
    const reply = await call(target, 'POST', '/api/v1/auth/login', {
      body: { email: owner.email, password: PASSWORD, session: 'cookie' },
      headers,
    });
    expect(reply.status).toBe(200);
    return { owner, reply, refresh: cookieNamed(reply, 'fp_refresh'), csrf: cookieNamed(reply, 'fp_csrf') };
  }

  const refreshByCookie = (
    refresh: string,
    csrf: string | undefined,
    csrfCookie: string | null | undefined = csrf,
  ) =>
    call(server, 'POST', '/api/v1/auth/refresh', {
      body: {},
      headers: {
        cookie: `fp_refresh=${refresh}${csrfCookie ? `; fp_csrf=${csrfCookie}` : ''}`,
        ...(csrf ? { 'x-csrf-token': csrf } : {}),
      },
    });

  it('auth: a cookie login sets an httpOnly strict refresh cookie for the auth routes and keeps the token out of the body', async () => {
    const { reply, refresh, csrf } = await cookieLogin(server);
    expect(reply.body.access_token).toEqual(expect.any(String));
    expect(reply.body).not.toHaveProperty('refresh_token');
    expect(refresh.value).toMatch(/^fpr_/);
    expect(refresh.attributes.has('httponly')).toBe(true);
    expect(refresh.attributes.get('samesite')).toBe('Strict');
    expect(refresh.attributes.get('path')).toBe('/api/v1/auth');
    expect(refresh.attributes.get('max-age')).toBe(String(server.config.refreshTokenTtlMs / 1000));
    expect(refresh.attributes.has('secure')).toBe(false);
    // the CSRF cookie is for the console's scripts to read and echo
    expect(csrf.value.length).toBeGreaterThanOrEqual(32);
    expect(csrf.attributes.has('httponly')).toBe(false);
    expect(csrf.attributes.get('samesite')).toBe('Strict');
    expect(csrf.attributes.get('path')).toBe('/');
  });

  it('auth: the cookies are Secure when the request came over HTTPS through a trusted proxy, and only then', async () => {
    const overHttps = await cookieLogin(trusted, { 'x-forwarded-proto': 'https' });
    expect(overHttps.refresh.attributes.has('secure')).toBe(true);
    expect(overHttps.csrf.attributes.has('secure')).toBe(true);
    // without FLEETPLANE_TRUST_PROXY the header is anyone's to forge
    const untrusted = await cookieLogin(server, { 'x-forwarded-proto': 'https' });
    expect(untrusted.refresh.attributes.has('secure')).toBe(false);
  });

  it('auth: refresh by cookie needs the CSRF header matching its cookie, else 403 csrf_failed', async () => {
    const { refresh, csrf } = await cookieLogin(server);
    expectError(await refreshByCookie(refresh.value, undefined, csrf.value), 403, 'csrf_failed');
    // a forgery of the same length, so the comparison itself refuses it
    const forged = csrf.value.slice(0, -1) + (csrf.value.endsWith('A') ? 'B' : 'A');
    expectError(await refreshByCookie(refresh.value, forged, csrf.value), 403, 'csrf_failed');
    expectError(await refreshByCookie(refresh.value, csrf.value, null), 403, 'csrf_failed');

    const refreshed = await refreshByCookie(refresh.value, csrf.value);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body).not.toHaveProperty('refresh_token');
    const rotated = cookieNamed(refreshed, 'fp_refresh');
    expect(rotated.value).toMatch(/^fpr_/);
    expect(rotated.value).not.toBe(refresh.value);
    const me = await call(server, 'GET', '/api/v1/auth/me', { token: refreshed.body.access_token });
    expect(me.status).toBe(200);
  });

  it('auth: refresh with neither a body token nor a cookie is 401', async () => {
    expectError(await call(server, 'POST', '/api/v1/auth/refresh', { body: {} }), 401, 'unauthorized');
  });

  it('auth: a replayed refresh cookie is refused and ends the session', async () => {
    const { refresh, csrf } = await cookieLogin(server);
    const first = await refreshByCookie(refresh.value, csrf.value);
    expect(first.status).toBe(200);
    expectError(await refreshByCookie(refresh.value, csrf.value), 401, 'unauthorized');
    // the reuse revoked the session: the rotated cookie is dead too
    const rotated = cookieNamed(first, 'fp_refresh').value;
    const newCsrf = cookieNamed(first, 'fp_csrf').value;
    expectError(await refreshByCookie(rotated, newCsrf), 401, 'unauthorized');
  });

  it('auth: logout clears both cookies and ends the session', async () => {
    const { reply, refresh, csrf } = await cookieLogin(server);
    const out = await call(server, 'POST', '/api/v1/auth/logout', { token: reply.body.access_token });
    expect(out.status).toBe(204);
    for (const name of ['fp_refresh', 'fp_csrf']) {
      const cleared = cookieNamed(out, name);
      expect(cleared.value).toBe('');
      expect(cleared.attributes.get('path')).toBe(name === 'fp_refresh' ? '/api/v1/auth' : '/');
      expect(new Date(cleared.attributes.get('expires') ?? '').getTime()).toBeLessThan(Date.now());
    }
    expectError(await refreshByCookie(refresh.value, csrf.value), 401, 'unauthorized');
  });

  it('auth: a body-token login and refresh are unchanged and set no cookie', async () => {
    const owner = await signup(server);
    const login = await call(server, 'POST', '/api/v1/auth/login', {
      body: { email: owner.email, password: PASSWORD },
    });
    expect(login.body.refresh_token).toMatch(/^fpr_/);
    expect(login.headers.getSetCookie()).toEqual([]);
    const refreshed = await call(server, 'POST', '/api/v1/auth/refresh', {
      body: { refresh_token: login.body.refresh_token },
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).toMatch(/^fpr_/);
    expect(refreshed.headers.getSetCookie()).toEqual([]);
  });
});
