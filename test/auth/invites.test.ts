import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  call,
  expectError,
  PASSWORD,
  roleId,
  signup,
  uniqueEmail,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

describe.each(dialects)('auth invites and membership on %s', (dialect) => {
  let server: TestServer;
  /** The first signup on the fresh server: the owner of the primary organisation. */
  let primary: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    primary = await signup(server, 'primary');
  });
  afterAll(async () => {
    await server.close();
  });

  const me = (token: string) => call(server, 'GET', '/api/v1/auth/me', { token });
  const setAllowSignup = (token: string, allow: boolean) =>
    call(server, 'PUT', '/api/v1/settings/security', { token, body: { allow_signup: allow } });
  const invite = async (owner: Session, email: string, role: string): Promise<string> => {
    const reply = await call(server, 'POST', '/api/v1/access/invites', {
      token: owner.token,
      body: { email, role_id: await roleId(server, owner.token, role) },
    });
    expect(reply.status).toBe(201);
    return reply.body.token;
  };
  const join = (email: string, inviteToken?: string) =>
    call(server, 'POST', '/api/v1/auth/signup', {
      body: {
        email,
        password: PASSWORD,
        name: 'Joiner',
        ...(inviteToken ? { invite_token: inviteToken } : {}),
      },
    });

  it('auth: with signup switched off, plain signup is 403 but an invite joins the inviting org with its role', async () => {
    const current = await call(server, 'GET', '/api/v1/orgs/current', { token: primary.token });
    expect(current.body.is_primary).toBe(true);
    expect((await setAllowSignup(primary.token, false)).status).toBe(200);
    try {
      expectError(await join(uniqueEmail('walk-in')), 403, 'forbidden');

      const email = uniqueEmail('invited');
      const joined = await join(email, await invite(primary, email, 'operator'));
      expect(joined.status).toBe(201);
      expect(joined.body.org.id).toBe(primary.orgId);
      const who = await me(joined.body.access_token);
      expect(who.body.org.id).toBe(primary.orgId);
      expect(who.body.orgs).toHaveLength(1);
      expect(who.body.roles.map((r: { name: string }) => r.name)).toEqual(['operator']);
    } finally {
      expect((await setAllowSignup(primary.token, true)).status).toBe(200);
    }
    expect((await join(uniqueEmail('walk-in'))).status).toBe(201);
  });

  it("auth: only the primary organisation's settings switch signup off", async () => {
    const other = await signup(server, 'secondary');
    expect((await setAllowSignup(other.token, false)).status).toBe(200);
    expect((await join(uniqueEmail('walk-in'))).status).toBe(201);
  });

  it('auth: an invite token is single use', async () => {
    const email = uniqueEmail('once');
    const token = await invite(primary, email, 'viewer');
    expect((await join(email, token)).status).toBe(201);
    expectError(await join(email, token), 400, 'bad_request');
    expectError(await join(uniqueEmail('someone-else'), token), 400, 'bad_request');
    const invites = await call(server, 'GET', '/api/v1/access/invites?limit=200', { token: primary.token });
    const row = invites.body.items.find((i: { email: string }) => i.email === email);
    expect(row.status).toBe('accepted');
  });

  it('auth: an invite sent to one email cannot be used with another', async () => {
    const invited = uniqueEmail('invited');
    const token = await invite(primary, invited, 'viewer');
    const intruder = uniqueEmail('intruder');
    expectError(await join(intruder, token), 400, 'bad_request');
    // The refused attempt neither used up the invite nor created the intruder's account.
    expect((await join(invited, token)).status).toBe(201);
    const login = await call(server, 'POST', '/api/v1/auth/login', {
      body: { email: intruder, password: PASSWORD },
    });
    expectError(login, 401, 'unauthorized');
  });

  it('auth: a revoked invite cannot be used', async () => {
    const email = uniqueEmail('revoked');
    const token = await invite(primary, email, 'viewer');
    const invites = await call(server, 'GET', '/api/v1/access/invites?limit=200', { token: primary.token });
    const id = invites.body.items.find((i: { email: string }) => i.email === email).id;
    const revoked = await call(server, 'DELETE', `/api/v1/access/invites/${id}`, { token: primary.token });
    expect(revoked.status).toBe(204);
    expectError(await join(email, token), 400, 'bad_request');
  });

  it('auth: a user removed from an org loses access at once', async () => {
    const owner = await signup(server, 'remover');
    const member = await addMember(server, owner, 'operator');
    expect((await me(member.token)).status).toBe(200);

    const removed = await call(server, 'DELETE', `/api/v1/access/users/${member.userId}`, {
      token: owner.token,
    });
    expect(removed.status).toBe(204);
    expectError(await me(member.token), 401, 'unauthorized');
    expectError(
      await call(server, 'POST', '/api/v1/auth/refresh', { body: { refresh_token: member.refreshToken } }),
      401,
      'unauthorized',
    );
    const users = await call(server, 'GET', '/api/v1/access/users?limit=200', { token: owner.token });
    expect(users.body.items.map((u: { id: string }) => u.id)).not.toContain(member.userId);
    // A fresh login finds no organisation to open a session in.
    const again = await call(server, 'POST', '/api/v1/auth/login', {
      body: { email: member.email, password: PASSWORD },
    });
    expectError(again, 403, 'forbidden');
  });

  it('auth: the last owner can be neither removed nor demoted', async () => {
    const owner = await signup(server, 'sole-owner');
    const removed = await call(server, 'DELETE', `/api/v1/access/users/${owner.userId}`, {
      token: owner.token,
    });
    expectError(removed, 409, 'conflict');
    const adminRole = await roleId(server, owner.token, 'admin');
    const demote = (target: Session) =>
      call(server, 'PUT', `/api/v1/access/users/${target.userId}/roles`, {
        token: owner.token,
        body: { role_ids: [adminRole] },
      });
    expectError(await demote(owner), 409, 'conflict');
    const who = await me(owner.token);
    expect(who.body.roles.map((r: { name: string }) => r.name)).toEqual(['owner']);

    // With a second owner, the first may step down: the 409 was about the last one.
    const second = await addMember(server, owner, 'owner');
    expect((await demote(owner)).status).toBe(200);
    expectError(
      await call(server, 'DELETE', `/api/v1/access/users/${second.userId}`, { token: second.token }),
      409,
      'conflict',
    );
  });
});
