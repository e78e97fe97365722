import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectError, login, PASSWORD, signup, uniqueEmail } from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';

const NEW_PASSWORD = 'a brand new passphrase';

describe.each(dialects)('auth passwords on %s', (dialect) => {
  let server: TestServer;
  const clock = new TestClock();
  beforeAll(async () => {
    server = await startTestServer(dialect, { clock });
  });
  afterAll(async () => {
    await server.close();
  });

  const me = (token: string) => call(server, 'GET', '/api/v1/auth/me', { token });
  const loginStatus = async (email: string, password: string) =>
    (await call(server, 'POST', '/api/v1/auth/login', { body: { email, password } })).status;
  const requestReset = (email: string) =>
    call(server, 'POST', '/api/v1/auth/password-reset', { body: { email } });
  const confirmReset = (token: string, newPassword = NEW_PASSWORD) =>
    call(server, 'POST', '/api/v1/auth/password-reset/confirm', {
      body: { token, new_password: newPassword },
    });

  /** Mails written to the log (no SMTP is configured) addressed to this email. */
  const mailsTo = (email: string) =>
    server.logs.flatMap((line) => {
      const mail = line.mail as { to: string; text: string } | undefined;
      return mail?.to === email ? [mail] : [];
    });

  /** The reset token from the last mail to this email; the log is read, as an operator would. */
  const resetTokenFor = (email: string): string => {
    const token = mailsTo(email)
      .at(-1)
      ?.text.match(/fpw_[\w-]+/)?.[0];
    if (!token) throw new Error(`no reset mail to ${email} in the server log`);
    return token;
  };

  it('auth: a password change with the wrong current password is 403 and changes nothing', async () => {
    const owner = await signup(server);
    const reply = await call(server, 'POST', '/api/v1/auth/password', {
      token: owner.token,
      body: { current_password: 'not my password', new_password: NEW_PASSWORD },
    });
    expectError(reply, 403, 'forbidden');
    expect(await loginStatus(owner.email, PASSWORD)).toBe(200);
    expect(await loginStatus(owner.email, NEW_PASSWORD)).toBe(401);
    expect((await me(owner.token)).status).toBe(200);
  });

  it('auth: a password change keeps this session, ends the others and swaps the password', async () => {
    const owner = await signup(server);
    const other = await login(server, owner.email);
    const reply = await call(server, 'POST', '/api/v1/auth/password', {
      token: owner.token,
      body: { current_password: PASSWORD, new_password: NEW_PASSWORD },
    });
    expect(reply.status).toBe(204);
    expect((await me(owner.token)).status).toBe(200);
    expect(
      (await call(server, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: owner.refreshToken } }))
        .status,
    ).toBe(200);
    expectError(await me(other.token), 401, 'unauthorized');
    expectError(
      await call(server, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: other.refreshToken } }),
      401,
      'unauthorized',
    );
    expect(await loginStatus(owner.email, NEW_PASSWORD)).toBe(200);
    expect(await loginStatus(owner.email, PASSWORD)).toBe(401);
  });

  it('auth: a password reset request is 202 for known and unknown emails alike', async () => {
    const owner = await signup(server);
    const known = await requestReset(owner.email);
    const unknownEmail = uniqueEmail('nobody');
    const unknown = await requestReset(unknownEmail);
    expect([known.status, known.body]).toEqual([202, { accepted: true }]);
    expect([unknown.status, unknown.body]).toEqual([202, { accepted: true }]);
    expect(mailsTo(owner.email)).toHaveLength(1);
    expect(mailsTo(unknownEmail)).toHaveLength(0);
    expect(resetTokenFor(owner.email)).toMatch(/^fpw_/);
  });

  it('auth: a password reset sets the new password and revokes every session', async () => {
    const owner = await signup(server);
    const other = await login(server, owner.email);
    expect((await requestReset(owner.email)).status).toBe(202);
    const token = resetTokenFor(owner.email);

    const confirmed = await confirmReset(token);
    expect(confirmed.status).toBe(204);
    for (const session of [owner, other]) {
      expectError(await me(session.token), 401, 'unauthorized');
      expectError(
        await call(server, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: session.refreshToken } }),
        401,
        'unauthorized',
      );
    }
    expect(await loginStatus(owner.email, NEW_PASSWORD)).toBe(200);
    expect(await loginStatus(owner.email, PASSWORD)).toBe(401);

    const again = await confirmReset(token, 'yet another passphrase');
    expectError(again, 400, 'bad_request');
    expect(await loginStatus(owner.email, NEW_PASSWORD)).toBe(200);
  });

  it('auth: a made-up password reset token is 400', async () => {
    expectError(await confirmReset('fpw_not-a-real-token'), 400, 'bad_request');
  });

  it('auth: an expired password reset token is 400 and the password stays', async () => {
    const owner = await signup(server);
    expect((await requestReset(owner.email)).status).toBe(202);
    const token = resetTokenFor(owner.email);
    clock.advance(31 * 60 * 1000);

    expectError(await confirmReset(token), 400, 'bad_request');
    expect(await loginStatus(owner.email, PASSWORD)).toBe(200);
    expect(await loginStatus(owner.email, NEW_PASSWORD)).toBe(401);
  });

  it('auth: an access token is refused once expired, though it was accepted (and remembered) before', async () => {
    const session = await signup(server, 'expiring');
    expect((await me(session.token)).status).toBe(200);
    // A token with a changed signature is refused, even while the real one is known.
    const [head, body, signature = ''] = session.token.split('.');
    const forged = `${head}.${body}.${signature.startsWith('A') ? 'B' : 'A'}${signature.slice(1)}`;
    expectError(await me(forged), 401, 'unauthorized');
    clock.advance(server.config.accessTokenTtlMs - 1000);
    expect((await me(session.token)).status).toBe(200);
    clock.advance(2000);
    expectError(await me(session.token), 401, 'unauthorized');
  });
});
