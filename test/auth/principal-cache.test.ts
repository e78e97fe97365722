import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  call,
  expectError,
  login,
  PASSWORD,
  roleId,
  signup,
  type Reply,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import { eventually } from '../support/eventually.js';

/**
 * The other node hears a change through NOTIFY, a few milliseconds after the writing node's
 * answer: its refusal is awaited, briefly, rather than expected on the very next request.
 */
async function onSecond(request: () => Promise<Reply>, status: number, code: string): Promise<void> {
  const reply = await eventually(
    async () => {
      const answer = await request();
      return answer.status === status ? answer : undefined;
    },
    { timeoutMs: 2_000, intervalMs: 20, what: `a ${status} on the second node` },
  );
  expectError(reply, status, code);
}

/**
 * Each node keeps the principal of a session or API key it authenticated (FLEETPLANE_PRINCIPAL_CACHE_TTL_MS):
 * a change made through the API drops it at once, on every node; one made behind the API's back
 * shows once the TTL has passed.
 */

/** A key of `role` minted by `creator`; the role is looked up by the owner, who may read roles. */
const createKey = async (server: TestServer, owner: Session, creator: Session, role: string) => {
  const reply = await call(server, 'POST', '/api/v1/api-keys', {
    token: creator.token,
    body: { name: `${role} key`, role_id: await roleId(server, owner.token, role) },
  });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body as { key: { id: string }; secret: string };
};

const agents = (server: TestServer, credential: { token?: string; apiKey?: string }) =>
  call(server, 'GET', '/api/v1/agents', credential);

/** A custom role that reads agents and creates keys, held by a new member who holds nothing else. */
async function memberWithCustomRole(server: TestServer, owner: Session) {
  const created = await call(server, 'POST', '/api/v1/access/roles', {
    token: owner.token,
    body: {
      name: `reader-${Math.random().toString(36).slice(2, 8)}`,
      permissions: ['agents:read', 'api_keys:create'],
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const member = await addMember(server, owner, 'viewer');
  const set = await call(server, 'PUT', `/api/v1/access/users/${member.userId}/roles`, {
    token: owner.token,
    body: { role_ids: [created.body.id] },
  });
  expect(set.status, JSON.stringify(set.body)).toBe(200);
  return { member, roleId: created.body.id as string, roleName: created.body.name as string };
}

describe.each(dialects)('auth: cached principals on one %s node', (dialect) => {
  let server: TestServer;
  const clock = new TestClock();
  beforeAll(async () => {
    server = await startTestServer(dialect, { clock });
  });
  afterAll(async () => {
    await server.close();
  });

  it('auth: a principal is cached: a role changed behind the API shows only once the TTL has passed', async () => {
    const owner = await signup(server);
    const { member, roleId: custom, roleName } = await memberWithCustomRole(server, owner);
    const key = await createKey(server, owner, member, roleName);
    // both cached: the member's session and the key (its role, cut to its creator's)
    expect((await agents(server, { token: member.token })).status).toBe(200);
    expect((await agents(server, { apiKey: key.secret })).status).toBe(200);

    await server.database.db
      .updateTable('roles')
      .set({ permissions: JSON.stringify(['api_keys:create']) })
      .where('id', '=', custom)
      .execute();
    expect((await agents(server, { token: member.token })).status).toBe(200);
    expect((await agents(server, { apiKey: key.secret })).status).toBe(200);

    clock.advance(server.config.principalCacheTtlMs);
    expectError(await agents(server, { token: member.token }), 403, 'forbidden');
    expectError(await agents(server, { apiKey: key.secret }), 403, 'forbidden');
  });

  it("auth: a role's permissions changed through the API bind its members and their keys at once", async () => {
    const owner = await signup(server);
    const { member, roleId: custom, roleName } = await memberWithCustomRole(server, owner);
    const key = await createKey(server, owner, member, roleName);
    expect((await agents(server, { token: member.token })).status).toBe(200);
    expect((await agents(server, { apiKey: key.secret })).status).toBe(200);

    const patched = await call(server, 'PATCH', `/api/v1/access/roles/${custom}`, {
      token: owner.token,
      body: { permissions: ['api_keys:create'] },
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expectError(await agents(server, { token: member.token }), 403, 'forbidden');
    expectError(await agents(server, { apiKey: key.secret }), 403, 'forbidden');
  });

  it('auth: a revoked key, a logged-out session and the other sessions of a changed password are refused at once', async () => {
    const owner = await signup(server);
    const member = await addMember(server, owner, 'admin');
    const other = await login(server, member.email);
    const key = await createKey(server, owner, member, 'viewer');
    for (const credential of [{ token: member.token }, { token: other.token }, { apiKey: key.secret }])
      expect((await agents(server, credential)).status).toBe(200);

    expect(
      (await call(server, 'DELETE', `/api/v1/api-keys/${key.key.id}`, { token: owner.token })).status,
    ).toBe(204);
    expectError(await agents(server, { apiKey: key.secret }), 401, 'unauthorized');

    const changed = await call(server, 'POST', '/api/v1/auth/password', {
      token: member.token,
      body: { current_password: PASSWORD, new_password: `${PASSWORD} again` },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(204);
    expectError(await agents(server, { token: other.token }), 401, 'unauthorized');
    expect((await agents(server, { token: member.token })).status).toBe(200);

    expect((await call(server, 'POST', '/api/v1/auth/logout', { token: member.token })).status).toBe(204);
    expectError(await agents(server, { token: member.token }), 401, 'unauthorized');
  });
});

/**
 * Two nodes on one database, as behind a load balancer: what one node is told, the other drops
 * before the change is answered. PostgreSQL only: several nodes need it (SQLite is the embedded,
 * single-node database, and its events never leave the process).
 */
describe.each(dialects.filter((d) => d === 'postgres'))(
  'auth: cached principals on two %s nodes',
  (dialect) => {
    let first: TestServer;
    let second: TestServer;
    beforeAll(async () => {
      first = await startTestServer(dialect);
      second = await startTestServer(dialect, { shareDatabaseWith: first });
    });
    afterAll(async () => {
      await second?.close();
      await first?.close();
    });

    it('auth: a key revoked on one node is refused at once on the other', async () => {
      const owner = await signup(first);
      const key = await createKey(first, owner, owner, 'viewer');
      for (const node of [first, second])
        expect((await agents(node, { apiKey: key.secret })).status).toBe(200);

      expect(
        (await call(first, 'DELETE', `/api/v1/api-keys/${key.key.id}`, { token: owner.token })).status,
      ).toBe(204);
      await onSecond(() => agents(second, { apiKey: key.secret }), 401, 'unauthorized');
      expectError(await agents(first, { apiKey: key.secret }), 401, 'unauthorized');
    });

    it('auth: a member removed on one node loses every session and key at once on the other', async () => {
      const owner = await signup(first);
      const member = await addMember(first, owner, 'admin');
      const key = await createKey(first, owner, member, 'viewer');
      const credentials = [{ token: member.token }, { apiKey: key.secret }];
      for (const node of [first, second])
        for (const credential of credentials) expect((await agents(node, credential)).status).toBe(200);

      const removed = await call(first, 'DELETE', `/api/v1/access/users/${member.userId}`, {
        token: owner.token,
      });
      expect(removed.status, JSON.stringify(removed.body)).toBe(204);
      for (const credential of credentials)
        await onSecond(() => agents(second, credential), 401, 'unauthorized');
    });

    it('auth: a role cut on one node binds its members and their keys at once on the other', async () => {
      const owner = await signup(first);
      const { member, roleId: custom, roleName } = await memberWithCustomRole(first, owner);
      const key = await createKey(first, owner, member, roleName);
      for (const credential of [{ token: member.token }, { apiKey: key.secret }])
        expect((await agents(second, credential)).status).toBe(200);

      const patched = await call(first, 'PATCH', `/api/v1/access/roles/${custom}`, {
        token: owner.token,
        body: { permissions: ['api_keys:create'] },
      });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      await onSecond(() => agents(second, { token: member.token }), 403, 'forbidden');
      await onSecond(() => agents(second, { apiKey: key.secret }), 403, 'forbidden');
    });

    it('auth: a session logged out on one node is refused at once on the other', async () => {
      const owner = await signup(first);
      expect((await agents(second, { token: owner.token })).status).toBe(200);
      expect((await call(first, 'POST', '/api/v1/auth/logout', { token: owner.token })).status).toBe(204);
      await onSecond(() => agents(second, { token: owner.token }), 401, 'unauthorized');
    });
  },
);
