import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../support/agents.js';
import {
  addMember,
  auditOf,
  call,
  expectError,
  login,
  roleId,
  signup,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';

/** An API key acts on behalf of its creator: what its role allows and its creator still may, now. */
describe.each(dialects)('apikeys: on behalf of the creator on %s', (dialect) => {
  let server: TestServer;
  // Moved by the test of a change made behind the API's back, which shows once the node's cached principal expires.
  const clock = new TestClock();
  beforeAll(async () => {
    server = await startTestServer(dialect, { clock });
  });
  afterAll(async () => {
    await server.close();
  });

  const createKey = async (creator: Session, role: string) => {
    const reply = await call(server, 'POST', '/api/v1/api-keys', {
      token: creator.token,
      body: { name: `${role} key`, role_id: await roleId(server, creator.token, role) },
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    return reply.body as { key: { id: string }; secret: string };
  };
  const me = (apiKey: string) => call(server, 'GET', '/api/v1/auth/me', { apiKey });
  const runJob = (apiKey: string, agentId: string) =>
    call(server, 'POST', `/api/v1/agents/${agentId}/jobs`, {
      apiKey,
      body: { interpreter: 'sh', command: 'id -u' },
    });
  const mintWith = async (apiKey: string, owner: Session) =>
    call(server, 'POST', '/api/v1/api-keys', {
      apiKey,
      body: { name: 'minted by a key', role_id: await roleId(server, owner.token, 'viewer') },
    });
  const removeMember = (owner: Session, member: Session) =>
    call(server, 'DELETE', `/api/v1/access/users/${member.userId}`, { token: owner.token });
  const setRoles = async (owner: Session, member: Session, roles: string[]) => {
    const ids = await Promise.all(roles.map((name) => roleId(server, owner.token, name)));
    const reply = await call(server, 'PUT', `/api/v1/access/users/${member.userId}/roles`, {
      token: owner.token,
      body: { role_ids: ids },
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
  };

  it('apikeys: removing the member who minted keys revokes them at once: 401, revoked_at, an audit event per key', async () => {
    const owner = await signup(server);
    const agentId = await createAgent(server, owner);
    const admin = await addMember(server, owner, 'admin');
    const adminKey = await createKey(admin, 'admin');
    const viewerKey = await createKey(admin, 'viewer');
    const ownersKey = await createKey(owner, 'viewer');
    expect((await runJob(adminKey.secret, agentId)).status).toBe(202);

    const removed = await removeMember(owner, admin);
    expect(removed.status).toBe(204);
    expectError(await call(server, 'GET', '/api/v1/auth/me', { token: admin.token }), 401, 'unauthorized');
    expectError(await runJob(adminKey.secret, agentId), 401, 'unauthorized');
    expectError(await me(adminKey.secret), 401, 'unauthorized');
    expectError(await me(viewerKey.secret), 401, 'unauthorized');
    // Only the removed member's keys go.
    expect((await me(ownersKey.secret)).status).toBe(200);

    const keys = await call(server, 'GET', '/api/v1/api-keys?limit=200', { token: owner.token });
    const revokedAt = (id: string) => keys.body.items.find((k: { id: string }) => k.id === id).revoked_at;
    expect(revokedAt(adminKey.key.id)).toEqual(expect.any(String));
    expect(revokedAt(viewerKey.key.id)).toEqual(expect.any(String));
    expect(revokedAt(ownersKey.key.id)).toBeNull();

    const memberEvents = await auditOf(server, owner, 'member', admin.userId);
    const removal = memberEvents.find((e: { action: string }) => e.action === 'deleted');
    for (const key of [adminKey, viewerKey]) {
      const events = await auditOf(server, owner, 'api_key', key.key.id);
      expect(events.map((e: { action: string }) => e.action)).toEqual(['created', 'status_changed']);
      expect(events[1]).toMatchObject({
        actor_type: 'user',
        actor_id: owner.userId,
        // Written by the same request (and transaction) as the removal.
        request_id: removal.request_id,
        before: { id: key.key.id, revoked_at: null },
        after: { id: key.key.id, revoked_at: revokedAt(key.key.id), reason: 'removed from organization' },
      });
    }
  });

  it('apikeys: a viewer given api_keys:create by a custom role, once removed, reads nothing with their key', async () => {
    const owner = await signup(server);
    const minter = await call(server, 'POST', '/api/v1/access/roles', {
      token: owner.token,
      body: { name: 'key-minter', permissions: ['api_keys:create'] },
    });
    expect(minter.status).toBe(201);
    const viewer = await addMember(server, owner, 'viewer');
    await setRoles(owner, viewer, ['viewer', 'key-minter']);
    const { secret } = await createKey(viewer, 'viewer');
    expect((await call(server, 'GET', '/api/v1/agents', { apiKey: secret })).status).toBe(200);

    expect((await removeMember(owner, viewer)).status).toBe(204);
    expectError(await call(server, 'GET', '/api/v1/agents', { apiKey: secret }), 401, 'unauthorized');
    expectError(await me(secret), 401, 'unauthorized');
  });

  it('apikeys: a key whose creator left the organisation acts for nobody, revoked or not', async () => {
    const owner = await signup(server);
    const member = await addMember(server, owner, 'admin');
    const { key, secret } = await createKey(member, 'viewer');
    // Membership gone without the service (as a restore or a manual fix might): the lookup itself refuses.
    await server.database.db
      .deleteFrom('memberships')
      .where('org_id', '=', owner.orgId)
      .where('user_id', '=', member.userId)
      .execute();
    expectError(await me(secret), 401, 'unauthorized');
    const stored = await call(server, 'GET', `/api/v1/api-keys/${key.id}`, { token: owner.token });
    expect(stored.body.revoked_at).toBeNull();
  });

  it("apikeys: a key follows its creator's roles down: it keeps what both allow, not all or nothing", async () => {
    const owner = await signup(server);
    const agentId = await createAgent(server, owner);
    const member = await addMember(server, owner, 'admin');
    const adminKey = await createKey(member, 'admin');
    const operatorKey = await createKey(member, 'operator');
    expect((await mintWith(adminKey.secret, owner)).status).toBe(201);
    expect((await runJob(operatorKey.secret, agentId)).status).toBe(202);

    // admin → operator: the admin key runs jobs (both allow it) but mints no keys.
    await setRoles(owner, member, ['operator']);
    expect((await runJob(adminKey.secret, agentId)).status).toBe(202);
    expectError(await mintWith(adminKey.secret, owner), 403, 'forbidden');
    expect((await runJob(operatorKey.secret, agentId)).status).toBe(202);

    // operator → viewer: neither key runs jobs, both still read what a viewer reads.
    await setRoles(owner, member, ['viewer']);
    for (const { secret } of [adminKey, operatorKey]) {
      expectError(await runJob(secret, agentId), 403, 'forbidden');
      expectError(await mintWith(secret, owner), 403, 'forbidden');
      expect((await call(server, 'GET', `/api/v1/agents/${agentId}/jobs`, { apiKey: secret })).status).toBe(
        200,
      );
      expect((await call(server, 'GET', '/api/v1/api-keys', { apiKey: secret })).status).toBe(200);
    }
    const catalogue = await call(server, 'GET', '/api/v1/access/permissions', { token: owner.token });
    expect((await me(adminKey.secret)).body.permissions.sort()).toEqual(
      [...catalogue.body.builtin_roles.viewer].sort(),
    );
    // The admin key's role still says audit:read; its creator, a viewer now, may not.
    expectError(await call(server, 'GET', '/api/v1/audit', { apiKey: adminKey.secret }), 403, 'forbidden');

    // Given back, the keys do again what their role allows: nothing was revoked.
    await setRoles(owner, member, ['admin']);
    expect((await mintWith(adminKey.secret, owner)).status).toBe(201);
  });

  it("apikeys: a disabled user's keys answer 401 once the cached principal expires, without being revoked", async () => {
    const owner = await signup(server);
    const member = await addMember(server, owner, 'admin');
    const { key, secret } = await createKey(member, 'viewer');
    expect((await me(secret)).status).toBe(200);
    const setDisabled = (at: string | null) =>
      server.database.db
        .updateTable('users')
        .set({ disabled_at: at })
        .where('id', '=', member.userId)
        .execute();

    await setDisabled(new Date().toISOString());
    // Disabling is no API call that could tell the nodes: the principal cached by the call above holds until its TTL.
    expect((await me(secret)).status).toBe(200);
    clock.advance(server.config.principalCacheTtlMs);
    expectError(await me(secret), 401, 'unauthorized');
    expectError(await call(server, 'GET', '/api/v1/agents', { token: secret }), 401, 'unauthorized');
    const stored = await call(server, 'GET', `/api/v1/api-keys/${key.id}`, { token: owner.token });
    expect(stored.body.revoked_at).toBeNull();

    await setDisabled(null);
    expect((await me(secret)).status).toBe(200);
  });

  it('apikeys: every credential a removed member held stops working: sessions, refresh tokens, API keys', async () => {
    const owner = await signup(server);
    const member = await addMember(server, owner, 'admin');
    const again = await login(server, member.email);
    const { secret } = await createKey(member, 'admin');
    for (const token of [member.token, again.token, secret])
      expect((await call(server, 'GET', '/api/v1/auth/me', { token })).status).toBe(200);

    expect((await removeMember(owner, member)).status).toBe(204);
    for (const token of [member.token, again.token, secret])
      expectError(await call(server, 'GET', '/api/v1/auth/me', { token }), 401, 'unauthorized');
    expectError(await me(secret), 401, 'unauthorized');
    for (const session of [member, again]) {
      const refreshed = await call(server, 'POST', '/api/v1/auth/refresh', {
        body: { refresh_token: session.refreshToken },
      });
      expectError(refreshed, 401, 'unauthorized');
    }
  });
});
