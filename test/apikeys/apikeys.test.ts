import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, call, expectError, roleId, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

describe.each(dialects)('apikeys on %s', (dialect) => {
  let server: TestServer;
  const clock = new TestClock();
  beforeAll(async () => {
    server = await startTestServer(dialect, { clock });
  });
  afterAll(async () => {
    await server.close();
  });

  /** Creates a key with a role of the creator's organisation; returns the whole reply body. */
  const createKey = async (creator: Session, role: string, extra: Record<string, unknown> = {}) => {
    const reply = await call(server, 'POST', '/api/v1/api-keys', {
      token: creator.token,
      body: { name: `${role} key`, role_id: await roleId(server, creator.token, role), ...extra },
    });
    expect(reply.status).toBe(201);
    return reply.body as { key: { id: string; prefix: string; name: string }; secret: string };
  };
  const getKey = (owner: Session, id: string) =>
    call(server, 'GET', `/api/v1/api-keys/${id}`, { token: owner.token });
  const me = (apiKey: string) => call(server, 'GET', '/api/v1/auth/me', { apiKey });

  it('apikeys: the secret is shown once; list and get show only its prefix', async () => {
    const owner = await signup(server);
    const { key, secret } = await createKey(owner, 'viewer');
    expect(secret).toMatch(/^fpk_/);
    expect(key.prefix.length).toBeGreaterThan(4);
    expect(key.prefix.length).toBeLessThan(secret.length);
    expect(secret.startsWith(key.prefix)).toBe(true);
    expect(key).not.toHaveProperty('secret');
    expect(key).not.toHaveProperty('key_hash');

    const hash = createHash('sha256').update(secret).digest('hex');
    const list = await call(server, 'GET', '/api/v1/api-keys', { token: owner.token });
    const got = await getKey(owner, key.id);
    expect(list.status).toBe(200);
    expect(got.status).toBe(200);
    const listed = list.body.items.find((k: { id: string }) => k.id === key.id);
    for (const shown of [listed, got.body]) {
      expect(shown).toMatchObject({ id: key.id, prefix: key.prefix, revoked_at: null });
      expect(Object.keys(shown)).not.toContain('secret');
      expect(Object.keys(shown)).not.toContain('key_hash');
    }
    for (const text of [JSON.stringify(list.body), JSON.stringify(got.body)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(hash);
    }
  });

  it('apikeys: the secret works as X-API-Key and as a bearer token, and marks last_used_at', async () => {
    const owner = await signup(server);
    const { key, secret } = await createKey(owner, 'viewer');
    expect((await getKey(owner, key.id)).body.last_used_at).toBeNull();

    const byHeader = await me(secret);
    expect(byHeader.status).toBe(200);
    expect(byHeader.body.actor).toEqual({ type: 'api_key', id: key.id, label: key.name });
    expect(byHeader.body.org.id).toBe(owner.orgId);
    expect(byHeader.body.user).toBeNull();
    const byBearer = await call(server, 'GET', '/api/v1/access/roles', { token: secret });
    expect(byBearer.status).toBe(200);

    const used = (await getKey(owner, key.id)).body.last_used_at;
    expect(used).toEqual(expect.any(String));
    expect(Date.parse(used)).toBe(clock.now().getTime());
  });

  it('apikeys: a revoked key is 401', async () => {
    const owner = await signup(server);
    const { key, secret } = await createKey(owner, 'viewer');
    expect((await me(secret)).status).toBe(200);
    const revoked = await call(server, 'DELETE', `/api/v1/api-keys/${key.id}`, { token: owner.token });
    expect(revoked.status).toBe(204);
    expectError(await me(secret), 401, 'unauthorized');
    expectError(await call(server, 'GET', '/api/v1/auth/me', { token: secret }), 401, 'unauthorized');
    expect((await getKey(owner, key.id)).body.revoked_at).toEqual(expect.any(String));
    expectError(await me('fpk_made-up-key'), 401, 'unauthorized');
  });

  it('apikeys: a key of another organisation is 404 there', async () => {
    const owner = await signup(server);
    const { key } = await createKey(owner, 'viewer');
    const stranger = await signup(server, 'stranger');
    expectError(await getKey(stranger, key.id), 404, 'not_found');
    const revoke = await call(server, 'DELETE', `/api/v1/api-keys/${key.id}`, { token: stranger.token });
    expectError(revoke, 404, 'not_found');
    expect((await getKey(owner, key.id)).body.revoked_at).toBeNull();
  });

  it('apikeys: a key cannot hold a stronger role than its creator', async () => {
    const owner = await signup(server);
    const role = await call(server, 'POST', '/api/v1/access/roles', {
      token: owner.token,
      body: { name: 'key-maker', permissions: ['api_keys:create', 'api_keys:read', 'roles:read'] },
    });
    expect(role.status).toBe(201);
    const member = await addMember(server, owner, 'key-maker');

    const stronger = await call(server, 'POST', '/api/v1/api-keys', {
      token: member.token,
      body: { name: 'escalation', role_id: await roleId(server, member.token, 'owner') },
    });
    expectError(stronger, 403, 'forbidden');
    const keys = await call(server, 'GET', '/api/v1/api-keys', { token: owner.token });
    expect(keys.body.items).toHaveLength(0);
    // The same member may create a key with a role no stronger than their own.
    const { secret } = await createKey(member, 'key-maker');
    expect((await me(secret)).body.permissions.sort()).toEqual(
      ['api_keys:create', 'api_keys:read', 'roles:read'].sort(),
    );
  });

  it('apikeys: a viewer key may read roles but not create them', async () => {
    const owner = await signup(server);
    const { secret } = await createKey(owner, 'viewer');
    expect((await call(server, 'GET', '/api/v1/access/roles', { apiKey: secret })).status).toBe(200);
    const created = await call(server, 'POST', '/api/v1/access/roles', {
      apiKey: secret,
      body: { name: 'sneaky', permissions: ['roles:read'] },
    });
    expectError(created, 403, 'forbidden');
  });

  it('apikeys: actions taken with a key are audited with actor_type api_key', async () => {
    const owner = await signup(server);
    const { key, secret } = await createKey(owner, 'admin');
    const created = await call(server, 'POST', '/api/v1/access/roles', {
      apiKey: secret,
      body: { name: 'made-by-key', permissions: ['roles:read'] },
    });
    expect(created.status).toBe(201);
    const audit = await call(server, 'GET', '/api/v1/audit?actor_type=api_key', { token: owner.token });
    expect(audit.status).toBe(200);
    expect(audit.body.items).toHaveLength(1);
    expect(audit.body.items[0]).toMatchObject({
      actor_type: 'api_key',
      actor_id: key.id,
      actor_label: key.name,
      action: 'created',
      entity_type: 'role',
      entity_id: created.body.id,
    });
  });

  it('apikeys: an admin cannot mint an owner-role key (403 naming the rank) though both hold every permission', async () => {
    const owner = await signup(server);
    const admin = await addMember(server, owner, 'admin');
    const ownerRole = await roleId(server, owner.token, 'owner');
    const refused = await call(server, 'POST', '/api/v1/api-keys', {
      token: admin.token,
      body: { name: 'owner by the back door', role_id: ownerRole },
    });
    expectError(refused, 403, 'forbidden');
    expect(refused.body.error.message).toContain('"owner" ranks above your own');
    expect((await call(server, 'GET', '/api/v1/api-keys', { token: owner.token })).body.items).toHaveLength(
      0,
    );
    // An admin key minted by the admin cannot climb either.
    const { secret } = await createKey(admin, 'admin');
    const byKey = await call(server, 'POST', '/api/v1/api-keys', {
      apiKey: secret,
      body: { name: 'owner by key', role_id: ownerRole },
    });
    expectError(byKey, 403, 'forbidden');
    // The owner may: owner is their own rank.
    await createKey(owner, 'owner');
  });

  it("apikeys: a key's rank is capped by its creator's now: a demoted owner's owner key makes no owners", async () => {
    const owner = await signup(server);
    const second = await addMember(server, owner, 'owner');
    const { secret } = await createKey(second, 'owner');
    const ownerRole = await roleId(server, owner.token, 'owner');
    const mint = () =>
      call(server, 'POST', '/api/v1/api-keys', {
        apiKey: secret,
        body: { name: 'from an owner key', role_id: ownerRole },
      });
    expect((await mint()).status).toBe(201);

    const demoted = await call(server, 'PUT', `/api/v1/access/users/${second.userId}/roles`, {
      token: owner.token,
      body: { role_ids: [await roleId(server, owner.token, 'admin')] },
    });
    expect(demoted.status).toBe(200);
    // Still every permission (admin holds them all), but no longer the owner's rank.
    expect((await me(secret)).body.permissions).toHaveLength(
      (await call(server, 'GET', '/api/v1/auth/me', { token: owner.token })).body.permissions.length,
    );
    expectError(await mint(), 403, 'forbidden');
    const invite = await call(server, 'POST', '/api/v1/access/invites', {
      apiKey: secret,
      body: { email: 'owner-by-key@example.test', role_id: ownerRole },
    });
    expectError(invite, 403, 'forbidden');
  });

  it('apikeys: with a maximum lifetime set, a key without expires_at or beyond it is 422; within it, 201', async () => {
    const owner = await signup(server);
    const limited = await call(server, 'PUT', '/api/v1/settings/security', {
      token: owner.token,
      body: { api_key_max_ttl_days: 30 },
    });
    expect(limited.status).toBe(200);
    const viewer = await roleId(server, owner.token, 'viewer');
    const mint = (extra: Record<string, unknown>) =>
      call(server, 'POST', '/api/v1/api-keys', {
        token: owner.token,
        body: { name: 'bounded', role_id: viewer, ...extra },
      });
    const inDays = (days: number) => new Date(clock.now().getTime() + days * DAY_MS).toISOString();

    for (const extra of [{}, { expires_at: inDays(31) }]) {
      const refused = await mint(extra);
      expectError(refused, 422, 'unprocessable');
      expect(refused.body.error.message).toContain('within 30 days');
      expect(refused.body.error.details).toEqual([{ field: 'expires_at', message: expect.any(String) }]);
    }
    expect((await call(server, 'GET', '/api/v1/api-keys', { token: owner.token })).body.items).toHaveLength(
      0,
    );
    expect((await mint({ expires_at: inDays(29) })).status).toBe(201);
  });

  it('apikeys: an expires_at in the past (or now) is 422 and creates nothing', async () => {
    const owner = await signup(server);
    const viewer = await roleId(server, owner.token, 'viewer');
    for (const expiresAt of [new Date(clock.now().getTime() - HOUR_MS), clock.now()]) {
      const refused = await call(server, 'POST', '/api/v1/api-keys', {
        token: owner.token,
        body: { name: 'stillborn', role_id: viewer, expires_at: expiresAt.toISOString() },
      });
      expectError(refused, 422, 'unprocessable');
      expect(refused.body.error.details).toEqual([{ field: 'expires_at', message: 'in the past' }]);
    }
    expect((await call(server, 'GET', '/api/v1/api-keys', { token: owner.token })).body.items).toHaveLength(
      0,
    );
  });

  // Moves the shared clock, so it runs last: earlier sessions' access tokens expire with it.
  it('apikeys: a key past its expires_at is 401', async () => {
    const owner = await signup(server);
    const expiresAt = new Date(clock.now().getTime() + HOUR_MS).toISOString();
    const { key, secret } = await createKey(owner, 'viewer', { expires_at: expiresAt });
    expect((await getKey(owner, key.id)).body.expires_at).toBe(expiresAt);
    expect((await me(secret)).status).toBe(200);
    clock.advance(HOUR_MS - 1000);
    expect((await me(secret)).status).toBe(200);
    clock.advance(2000);
    expectError(await me(secret), 401, 'unauthorized');
  });
});
