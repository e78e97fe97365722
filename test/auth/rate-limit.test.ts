import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call, expectError, PASSWORD, signup, uniqueEmail, type Reply } from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';

const MAX = 5;
const WINDOW_MS = 60_000;

/** A 429 in the one error shape, with a Retry-After of whole seconds within the window. */
function expectRateLimited(reply: Reply): void {
  expectError(reply, 429, 'rate_limited');
  const retryAfter = reply.headers.get('retry-after') ?? '';
  expect(retryAfter).toMatch(/^\d+$/);
  expect(Number(retryAfter)).toBeGreaterThan(0);
  expect(Number(retryAfter)).toBeLessThanOrEqual(WINDOW_MS / 1000);
}

describe.each(dialects)('auth rate limits on %s', (dialect) => {
  let server: TestServer;
  let clock: TestClock;
  // A fresh server per test: the limiter's counters live in the app. The proxy is trusted so
  // that a test can speak from several client addresses through X-Forwarded-For.
  beforeEach(async () => {
    clock = new TestClock();
    server = await startTestServer(dialect, {
      clock,
      config: { authRateLimit: { max: MAX, windowMs: WINDOW_MS }, trustProxy: true },
    });
  });
  afterEach(async () => {
    await server.close();
  });

  const from = (ip: string) => ({ 'x-forwarded-for': ip });
  const login = (email: string, password: string, ip?: string) =>
    call(server, 'POST', '/api/v1/auth/login', {
      body: { email, password },
      ...(ip ? { headers: from(ip) } : {}),
    });

  it('auth: the 6th login attempt from one IP in the window is 429 with Retry-After', async () => {
    const owner = await signup(server);
    for (let i = 0; i < MAX; i += 1) {
      expectError(await login(uniqueEmail('guess'), 'wrong password'), 401, 'unauthorized');
    }
    // Over the limit even with the right password, for an account not tried before.
    expectRateLimited(await login(owner.email, PASSWORD));
    // Another client address is not affected.
    expect((await login(owner.email, PASSWORD, '198.51.100.7')).status).toBe(200);
  });

  it('auth: attempts on one account are limited even when they come from many IPs', async () => {
    const owner = await signup(server);
    const bystander = await signup(server, 'bystander');
    for (let i = 0; i < MAX; i += 1) {
      expectError(await login(owner.email, 'wrong password', `203.0.113.${i + 1}`), 401, 'unauthorized');
    }
    // The account is locked for the window, from a new address, with the right password, in any case.
    expectRateLimited(await login(owner.email.toUpperCase(), PASSWORD, '203.0.113.99'));
    // The addresses used are not blocked for other accounts.
    expect((await login(bystander.email, PASSWORD, '203.0.113.1')).status).toBe(200);
  });

  it('auth: the token endpoint counts its username as the account', async () => {
    const owner = await signup(server);
    const attempt = (ip: string, password: string) =>
      call(server, 'POST', '/api/v1/auth/token', {
        form: { grant_type: 'password', username: owner.email, password },
        headers: from(ip),
      });
    for (let i = 0; i < MAX; i += 1) {
      expectError(await attempt(`192.0.2.${i + 1}`, 'wrong password'), 401, 'unauthorized');
    }
    expectRateLimited(await attempt('192.0.2.99', PASSWORD));
  });

  it('auth: attempts are allowed again once the window has passed', async () => {
    const owner = await signup(server);
    for (let i = 0; i < MAX; i += 1) {
      expectError(await login(owner.email, 'wrong password'), 401, 'unauthorized');
    }
    expectRateLimited(await login(owner.email, PASSWORD));
    clock.advance(WINDOW_MS / 2);
    const later = await login(owner.email, PASSWORD);
    expectRateLimited(later);
    expect(Number(later.headers.get('retry-after'))).toBeLessThanOrEqual(WINDOW_MS / 2000);

    clock.advance(WINDOW_MS / 2 + 1);
    expect((await login(owner.email, PASSWORD)).status).toBe(200);
  });

  it('auth: signup is rate limited per IP', async () => {
    const signupFrom = (ip: string) =>
      call(server, 'POST', '/api/v1/auth/signup', {
        body: { email: uniqueEmail('many'), password: PASSWORD, name: 'Many' },
        headers: from(ip),
      });
    for (let i = 0; i < MAX; i += 1) expect((await signupFrom('198.51.100.20')).status).toBe(201);
    expectRateLimited(await signupFrom('198.51.100.20'));
    expect((await signupFrom('198.51.100.21')).status).toBe(201);
  });

  it('auth: password reset is rate limited per IP and per account', async () => {
    const owner = await signup(server);
    const reset = (email: string, ip: string) =>
      call(server, 'POST', '/api/v1/auth/password-reset', { body: { email }, headers: from(ip) });

    for (let i = 0; i < MAX; i += 1)
      expect((await reset(uniqueEmail('x'), '198.51.100.30')).status).toBe(202);
    expectRateLimited(await reset(uniqueEmail('x'), '198.51.100.30'));

    for (let i = 0; i < MAX; i += 1)
      expect((await reset(owner.email, `198.51.100.${40 + i}`)).status).toBe(202);
    expectRateLimited(await reset(owner.email, '198.51.100.99'));
    // Only the first five requests for the account reached the mailer.
    expect(
      server.logs.filter((line) => (line.mail as { to?: string } | undefined)?.to === owner.email),
    ).toHaveLength(MAX);
  });

  it('auth: login and token share one budget per account', async () => {
    const owner = await signup(server);
    for (let i = 0; i < 3; i += 1) {
      expectError(await login(owner.email, 'wrong password', `192.0.2.${i + 1}`), 401, 'unauthorized');
    }
    for (let i = 0; i < 2; i += 1) {
      const reply = await call(server, 'POST', '/api/v1/auth/token', {
        form: { grant_type: 'password', username: owner.email, password: 'wrong password' },
        headers: from(`192.0.2.${i + 10}`),
      });
      expectError(reply, 401, 'unauthorized');
    }
    expectRateLimited(await login(owner.email, PASSWORD, '192.0.2.99'));
  });
});
