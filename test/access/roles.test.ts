import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, call, expectError, roleId, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

const BUILTIN = ['owner', 'admin', 'operator', 'viewer'];
/** Reads of the foundation's artifacts: part of the viewer role, whatever modules add later. */
const READ_PERMISSIONS = [
  'organization:read',
  'users:read',
  'roles:read',
  'invites:read',
  'api_keys:read',
  'settings:read',
];

describe.each(dialects)('access: roles on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server);
  });
  afterAll(async () => {
    await server.close();
  });

  async function createRole(session: Session, name: string, permissions: string[], description = '') {
    return call(server, 'POST', '/api/v1/access/roles', {
      token: session.token,
      body: { name, description, permissions },
    });
  }

  async function rolesOf(session: Session): Promise<string[]> {
    const me = await call(server, 'GET', '/api/v1/auth/me', { token: session.token });
    expect(me.status).toBe(200);
    return me.body.roles.map((r: { name: string }) => r.name);
  }

  it('roles: a custom role is created, read, listed, changed and deleted', async () => {
    const created = await createRole(owner, 'deployers', ['settings:read', 'audit:read'], 'ships code');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'deployers',
      description: 'ships code',
      builtin: false,
      permissions: ['audit:read', 'settings:read'],
    });
    const id: string = created.body.id;

    const read = await call(server, 'GET', `/api/v1/access/roles/${id}`, { token: owner.token });
    expect(read.body).toEqual(created.body);
    const list = await call(server, 'GET', '/api/v1/access/roles?limit=200', { token: owner.token });
    expect(list.body.items.map((r: { id: string }) => r.id)).toContain(id);

    const changed = await call(server, 'PATCH', `/api/v1/access/roles/${id}`, {
      token: owner.token,
      body: { name: 'shippers', description: 'ships more', permissions: ['users:read'] },
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({
      id,
      name: 'shippers',
      description: 'ships more',
      permissions: ['users:read'],
    });
    const reread = await call(server, 'GET', `/api/v1/access/roles/${id}`, { token: owner.token });
    expect(reread.body).toEqual(changed.body);

    const deleted = await call(server, 'DELETE', `/api/v1/access/roles/${id}`, { token: owner.token });
    expect(deleted.status).toBe(204);
    expectError(
      await call(server, 'GET', `/api/v1/access/roles/${id}`, { token: owner.token }),
      404,
      'not_found',
    );
    expectError(
      await call(server, 'DELETE', `/api/v1/access/roles/${id}`, { token: owner.token }),
      404,
      'not_found',
    );
  });

  it('roles: an unknown permission is 422 with a detail naming it, on create and on change', async () => {
    const created = await createRole(owner, 'wizards', ['users:read', 'fleet:explode', 'roles:fly']);
    expectError(created, 422, 'unprocessable');
    const messages = created.body.error.details.map((d: { message: string }) => d.message).join('\n');
    expect(messages).toContain('fleet:explode');
    expect(messages).toContain('roles:fly');
    expect(created.body.error.details.every((d: { field: string }) => d.field === 'permissions')).toBe(true);
    const list = await call(server, 'GET', '/api/v1/access/roles?limit=200', { token: owner.token });
    expect(list.body.items.map((r: { name: string }) => r.name)).not.toContain('wizards');

    const role = await createRole(owner, 'apprentices', ['users:read']);
    const changed = await call(server, 'PATCH', `/api/v1/access/roles/${role.body.id}`, {
      token: owner.token,
      body: { permissions: ['users:teleport'] },
    });
    expectError(changed, 422, 'unprocessable');
    expect(changed.body.error.details[0].message).toContain('users:teleport');
    const after = await call(server, 'GET', `/api/v1/access/roles/${role.body.id}`, { token: owner.token });
    expect(after.body.permissions).toEqual(['users:read']);
  });

  it('roles: built-in roles cannot be changed or deleted (409) and stay as they were', async () => {
    const before = await call(server, 'GET', '/api/v1/access/roles?limit=200', { token: owner.token });
    const builtins = before.body.items.filter((r: { builtin: boolean }) => r.builtin);
    expect(builtins.map((r: { name: string }) => r.name).sort()).toEqual([...BUILTIN].sort());
    for (const role of builtins) {
      const patched = await call(server, 'PATCH', `/api/v1/access/roles/${role.id}`, {
        token: owner.token,
        body: { description: 'mine now' },
      });
      expectError(patched, 409, 'conflict');
      const deleted = await call(server, 'DELETE', `/api/v1/access/roles/${role.id}`, { token: owner.token });
      expectError(deleted, 409, 'conflict');
      const after = await call(server, 'GET', `/api/v1/access/roles/${role.id}`, { token: owner.token });
      expect(after.body).toEqual(role);
    }
  });

  it('roles: a duplicate or built-in name is 409, on create and on rename', async () => {
    const first = await createRole(owner, 'twins', ['users:read']);
    expect(first.status).toBe(201);
    expectError(await createRole(owner, 'twins', ['roles:read']), 409, 'conflict');
    expectError(await createRole(owner, 'admin', ['roles:read']), 409, 'conflict');
    const other = await createRole(owner, 'triplets', ['users:read']);
    const renamed = await call(server, 'PATCH', `/api/v1/access/roles/${other.body.id}`, {
      token: owner.token,
      body: { name: 'twins' },
    });
    expectError(renamed, 409, 'conflict');
    const toBuiltin = await call(server, 'PATCH', `/api/v1/access/roles/${other.body.id}`, {
      token: owner.token,
      body: { name: 'owner' },
    });
    expectError(toBuiltin, 409, 'conflict');
    // Racing creates of one name: one wins, the others are 409 (never a 500 from the constraint).
    const racing = await Promise.all(
      Array.from({ length: 5 }, () => createRole(owner, 'quintuplets', ['users:read'])),
    );
    expect(racing.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    const list = await call(server, 'GET', '/api/v1/access/roles?limit=200', { token: owner.token });
    expect(list.body.items.filter((r: { name: string }) => r.name === 'twins')).toHaveLength(1);
  });

  it('roles: a role that a member, an API key or an open invite holds cannot be deleted (409) until released', async () => {
    const role = await createRole(owner, 'held', READ_PERMISSIONS);
    const member = await addMember(server, owner, 'held');
    const blocked = await call(server, 'DELETE', `/api/v1/access/roles/${role.body.id}`, {
      token: owner.token,
    });
    expectError(blocked, 409, 'conflict');
    expect(blocked.body.error.details[0]).toMatchObject({ members: 1, api_keys: 0, invites: 0 });
    expect(await rolesOf(member)).toEqual(['held']);

    await call(server, 'PUT', `/api/v1/access/users/${member.userId}/roles`, {
      token: owner.token,
      body: { role_ids: [await roleId(server, owner.token, 'viewer')] },
    });
    const key = await call(server, 'POST', '/api/v1/api-keys', {
      token: owner.token,
      body: { name: 'holds a role', role_id: role.body.id },
    });
    expectError(
      await call(server, 'DELETE', `/api/v1/access/roles/${role.body.id}`, { token: owner.token }),
      409,
      'conflict',
    );
    await call(server, 'DELETE', `/api/v1/api-keys/${key.body.key.id}`, { token: owner.token });
    // An open invite to the role holds it too: deleting the role must not silently void the invite.
    const invite = await call(server, 'POST', '/api/v1/access/invites', {
      token: owner.token,
      body: { email: 'held-role@example.test', role_id: role.body.id },
    });
    const byInvite = await call(server, 'DELETE', `/api/v1/access/roles/${role.body.id}`, {
      token: owner.token,
    });
    expectError(byInvite, 409, 'conflict');
    expect(byInvite.body.error.details[0]).toMatchObject({ members: 0, api_keys: 0, invites: 1 });
    await call(server, 'DELETE', `/api/v1/access/invites/${invite.body.invite.id}`, { token: owner.token });
    const freed = await call(server, 'DELETE', `/api/v1/access/roles/${role.body.id}`, {
      token: owner.token,
    });
    expect(freed.status).toBe(204);
  });

  it('roles: an admin cannot grant the owner role (403) while an owner can', async () => {
    const admin = await addMember(server, owner, 'admin');
    const member = await addMember(server, owner, 'viewer');
    const ownerRoleId = await roleId(server, owner.token, 'owner');
    const byAdmin = await call(server, 'PUT', `/api/v1/access/users/${member.userId}/roles`, {
      token: admin.token,
      body: { role_ids: [ownerRoleId] },
    });
    expectError(byAdmin, 403, 'forbidden');
    const selfPromotion = await call(server, 'PUT', `/api/v1/access/users/${admin.userId}/roles`, {
      token: admin.token,
      body: { role_ids: [ownerRoleId] },
    });
    expectError(selfPromotion, 403, 'forbidden');
    const invite = await call(server, 'POST', '/api/v1/access/invites', {
      token: admin.token,
      body: { email: 'future-owner@example.test', role_id: ownerRoleId },
    });
    expectError(invite, 403, 'forbidden');
    expect(await rolesOf(member)).toEqual(['viewer']);
    expect(await rolesOf(admin)).toEqual(['admin']);

    const byOwner = await call(server, 'PUT', `/api/v1/access/users/${member.userId}/roles`, {
      token: owner.token,
      body: { role_ids: [ownerRoleId] },
    });
    expect(byOwner.status).toBe(200);
    expect(byOwner.body.items.map((r: { name: string }) => r.name)).toEqual(['owner']);
    expect(await rolesOf(member)).toEqual(['owner']);
    // An admin cannot take the owner role away either.
    const demote = await call(server, 'PUT', `/api/v1/access/users/${member.userId}/roles`, {
      token: admin.token,
      body: { role_ids: [await roleId(server, owner.token, 'viewer')] },
    });
    expectError(demote, 403, 'forbidden');
    expect(await rolesOf(member)).toEqual(['owner']);
  });

  it('roles: an owner can invite an owner; the invitee joins as one', async () => {
    const invite = await call(server, 'POST', '/api/v1/access/invites', {
      token: owner.token,
      body: { email: 'invited-owner@example.test', role_id: await roleId(server, owner.token, 'owner') },
    });
    expect(invite.status).toBe(201);
    const joined = await addMember(server, owner, 'owner');
    expect(await rolesOf(joined)).toEqual(['owner']);
  });

  it('roles: a custom role holding every permission ranks as admin: it hands out admin, never owner (403)', async () => {
    const catalogue = await call(server, 'GET', '/api/v1/access/permissions', { token: owner.token });
    const every: string[] = catalogue.body.builtin_roles.owner;
    const almighty = await createRole(owner, 'almighty', every);
    expect(almighty.status).toBe(201);
    const holder = await addMember(server, owner, 'almighty');
    const member = await addMember(server, owner, 'viewer');
    const ownerRoleId = await roleId(server, owner.token, 'owner');

    const grant = await call(server, 'PUT', `/api/v1/access/users/${member.userId}/roles`, {
      token: holder.token,
      body: { role_ids: [ownerRoleId] },
    });
    expectError(grant, 403, 'forbidden');
    expect(grant.body.error.message).toContain('ranks above your own');
    const invite = await call(server, 'POST', '/api/v1/access/invites', {
      token: holder.token,
      body: { email: 'almighty-owner@example.test', role_id: ownerRoleId },
    });
    expectError(invite, 403, 'forbidden');
    const key = await call(server, 'POST', '/api/v1/api-keys', {
      token: holder.token,
      body: { name: 'almighty owner key', role_id: ownerRoleId },
    });
    expectError(key, 403, 'forbidden');
    // Nor can it take the owner role away from an owner.
    const anOwner = await addMember(server, owner, 'owner');
    const removeOwner = await call(server, 'DELETE', `/api/v1/access/users/${anOwner.userId}`, {
      token: holder.token,
    });
    expectError(removeOwner, 403, 'forbidden');
    expect(await rolesOf(anOwner)).toEqual(['owner']);
    expect(await rolesOf(member)).toEqual(['viewer']);

    const admin = await call(server, 'PUT', `/api/v1/access/users/${member.userId}/roles`, {
      token: holder.token,
      body: { role_ids: [await roleId(server, owner.token, 'admin')] },
    });
    expect(admin.status).toBe(200);
    expect(await rolesOf(member)).toEqual(['admin']);
  });

  it('roles: the last owner cannot give up the owner role (409)', async () => {
    const solo = await signup(server, 'solo');
    const demote = await call(server, 'PUT', `/api/v1/access/users/${solo.userId}/roles`, {
      token: solo.token,
      body: { role_ids: [await roleId(server, solo.token, 'admin')] },
    });
    expectError(demote, 409, 'conflict');
    expect(await rolesOf(solo)).toEqual(['owner']);
  });

  it('roles: a member cannot grant or define a role stronger than their own (403)', async () => {
    const lead = await createRole(owner, 'team-lead', [
      ...READ_PERMISSIONS,
      'users:update',
      'invites:create',
      'roles:create',
    ]);
    const leader = await addMember(server, owner, 'team-lead');
    const member = await addMember(server, owner, 'viewer');
    const adminRoleId = await roleId(server, owner.token, 'admin');

    const grant = await call(server, 'PUT', `/api/v1/access/users/${member.userId}/roles`, {
      token: leader.token,
      body: { role_ids: [adminRoleId] },
    });
    expectError(grant, 403, 'forbidden');
    const self = await call(server, 'PUT', `/api/v1/access/users/${leader.userId}/roles`, {
      token: leader.token,
      body: { role_ids: [lead.body.id, adminRoleId] },
    });
    expectError(self, 403, 'forbidden');
    const invite = await call(server, 'POST', '/api/v1/access/invites', {
      token: leader.token,
      body: { email: 'new-admin@example.test', role_id: adminRoleId },
    });
    expectError(invite, 403, 'forbidden');
    const define = await createRole(leader, 'superpowers', ['settings:update']);
    expectError(define, 403, 'forbidden');
    expect(await rolesOf(member)).toEqual(['viewer']);
    expect(await rolesOf(leader)).toEqual(['team-lead']);

    // What the leader holds, the leader may hand out.
    const weaker = await createRole(leader, 'readers', ['users:read', 'roles:read']);
    expect(weaker.status).toBe(201);
    const granted = await call(server, 'PUT', `/api/v1/access/users/${member.userId}/roles`, {
      token: leader.token,
      body: { role_ids: [weaker.body.id] },
    });
    expect(granted.status).toBe(200);
    expect(await rolesOf(member)).toEqual(['readers']);
  });

  it("roles: PUT a member's roles replaces them and /auth/me permissions follow at once", async () => {
    const member = await addMember(server, owner, 'viewer');
    const catalogue = await call(server, 'GET', '/api/v1/access/permissions', { token: member.token });
    const viewerPermissions: string[] = catalogue.body.builtin_roles.viewer;
    expect(viewerPermissions).toEqual(expect.arrayContaining(READ_PERMISSIONS));
    const meBefore = await call(server, 'GET', '/api/v1/auth/me', { token: member.token });
    expect([...meBefore.body.permissions].sort()).toEqual([...viewerPermissions].sort());

    const auditors = await createRole(owner, 'auditors', ['audit:read']);
    const replaced = await call(server, 'PUT', `/api/v1/access/users/${member.userId}/roles`, {
      token: owner.token,
      body: { role_ids: [auditors.body.id] },
    });
    expect(replaced.status).toBe(200);
    const me = await call(server, 'GET', '/api/v1/auth/me', { token: member.token });
    expect(me.body.roles.map((r: { name: string }) => r.name)).toEqual(['auditors']);
    expect(me.body.permissions).toEqual(['audit:read']);
    expect((await call(server, 'GET', '/api/v1/audit', { token: member.token })).status).toBe(200);
    expectError(await call(server, 'GET', '/api/v1/access/users', { token: member.token }), 403, 'forbidden');

    const both = await call(server, 'PUT', `/api/v1/access/users/${member.userId}/roles`, {
      token: owner.token,
      body: { role_ids: [auditors.body.id, await roleId(server, owner.token, 'operator')] },
    });
    expect(both.status).toBe(200);
    const roles = await call(server, 'GET', `/api/v1/access/users/${member.userId}/roles`, {
      token: owner.token,
    });
    expect(roles.body.items.map((r: { name: string }) => r.name).sort()).toEqual(['auditors', 'operator']);
    const meBoth = await call(server, 'GET', '/api/v1/auth/me', { token: member.token });
    expect(meBoth.body.permissions).toContain('audit:read');
    expect(meBoth.body.permissions).toContain('users:read');

    const empty = await call(server, 'PUT', `/api/v1/access/users/${member.userId}/roles`, {
      token: owner.token,
      body: { role_ids: [] },
    });
    expectError(empty, 400, 'validation_failed');
    expect((await rolesOf(member)).sort()).toEqual(['auditors', 'operator']);
  });

  it('roles: limit=2 pages walk every role once via next_cursor', async () => {
    const org = await signup(server, 'pager');
    for (const name of ['p-one', 'p-two', 'p-three', 'p-four', 'p-five'])
      expect((await createRole(org, name, ['users:read'])).status).toBe(201);
    const all = await call(server, 'GET', '/api/v1/access/roles?limit=200', { token: org.token });
    expect(all.body.items).toHaveLength(9);
    expect(all.body.next_cursor).toBeNull();

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `limit=2&cursor=${encodeURIComponent(cursor)}` : 'limit=2';
      const page = await call(server, 'GET', `/api/v1/access/roles?${query}`, { token: org.token });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeGreaterThan(0);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((r: { id: string }) => r.id));
      cursor = page.body.next_cursor;
      pages += 1;
      expect(pages).toBeLessThan(20);
    } while (cursor);
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(all.body.items.map((r: { id: string }) => r.id));
  });

  it('roles: a malformed cursor is 400', async () => {
    for (const cursor of ['not-a-cursor', Buffer.from('42').toString('base64url'), '%%%']) {
      const reply = await call(
        server,
        'GET',
        `/api/v1/access/roles?limit=2&cursor=${encodeURIComponent(cursor)}`,
        {
          token: owner.token,
        },
      );
      expectError(reply, 400, 'bad_request');
    }
    const tooLong = await call(server, 'GET', `/api/v1/access/roles?cursor=${'a'.repeat(150)}`, {
      token: owner.token,
    });
    expectError(tooLong, 400, 'validation_failed');
    const badLimit = await call(server, 'GET', '/api/v1/access/roles?limit=0', { token: owner.token });
    expectError(badLimit, 400, 'validation_failed');
  });
});
