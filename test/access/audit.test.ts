import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  call,
  expectError,
  login,
  openApiOperations,
  PASSWORD,
  roleId,
  signup,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';

const USER_AGENT = 'fleetplane-audit-test/1.0';

/** Where the event of one mutation is to be found, and what it must say. */
interface Outcome {
  /** The token that reads the audit log of the organisation holding the event. */
  reader: string;
  actorId: string;
  entityId?: string;
  check?: (event: any) => void;
}

interface Mutation {
  name: string;
  action: string;
  entityType: string;
  before: boolean;
  after: boolean;
  run(headers: Record<string, string>): Promise<Outcome>;
}

describe.each(dialects)('audit on %s', (dialect) => {
  let server: TestServer;
  let clock: TestClock;
  let owner: Session;

  beforeAll(async () => {
    clock = new TestClock(new Date('2030-01-01T00:00:00.000Z'));
    server = await startTestServer(dialect, { clock });
    owner = await signup(server);
  });
  afterAll(async () => {
    await server.close();
  });

  function tagged(): { requestId: string; headers: Record<string, string> } {
    const requestId = `audit-${randomUUID()}`;
    return { requestId, headers: { 'x-request-id': requestId, 'user-agent': USER_AGENT } };
  }

  async function expectStatus(reply: Promise<{ status: number; body: any }>, status: number) {
    const r = await reply;
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    return r.body;
  }

  async function newRole(name = `r-${randomUUID().slice(0, 8)}`): Promise<any> {
    return expectStatus(
      call(server, 'POST', '/api/v1/access/roles', {
        token: owner.token,
        body: { name, description: 'for audit', permissions: ['users:read'] },
      }),
      201,
    );
  }

  const mutations: Mutation[] = [
    {
      name: 'create role',
      action: 'created',
      entityType: 'role',
      before: false,
      after: true,
      async run(headers) {
        const role = await expectStatus(
          call(server, 'POST', '/api/v1/access/roles', {
            token: owner.token,
            headers,
            body: { name: 'created-role', permissions: ['users:read'] },
          }),
          201,
        );
        return {
          reader: owner.token,
          actorId: owner.userId,
          entityId: role.id,
          check: (e) => expect(e.after).toMatchObject({ name: 'created-role', permissions: ['users:read'] }),
        };
      },
    },
    {
      name: 'update role',
      action: 'modified',
      entityType: 'role',
      before: true,
      after: true,
      async run(headers) {
        const role = await newRole();
        await expectStatus(
          call(server, 'PATCH', `/api/v1/access/roles/${role.id}`, {
            token: owner.token,
            headers,
            body: { description: 'changed' },
          }),
          200,
        );
        return {
          reader: owner.token,
          actorId: owner.userId,
          entityId: role.id,
          check: (e) => {
            expect(e.before.description).toBe('for audit');
            expect(e.after.description).toBe('changed');
          },
        };
      },
    },
    {
      name: 'delete role',
      action: 'deleted',
      entityType: 'role',
      before: true,
      after: false,
      async run(headers) {
        const role = await newRole();
        await expectStatus(
          call(server, 'DELETE', `/api/v1/access/roles/${role.id}`, { token: owner.token, headers }),
          204,
        );
        return {
          reader: owner.token,
          actorId: owner.userId,
          entityId: role.id,
          check: (e) => expect(e.before.name).toBe(role.name),
        };
      },
    },
    {
      name: 'set member roles',
      action: 'modified',
      entityType: 'member_roles',
      before: true,
      after: true,
      async run(headers) {
        const member = await addMember(server, owner, 'viewer');
        await expectStatus(
          call(server, 'PUT', `/api/v1/access/users/${member.userId}/roles`, {
            token: owner.token,
            headers,
            body: { role_ids: [await roleId(server, owner.token, 'operator')] },
          }),
          200,
        );
        return {
          reader: owner.token,
          actorId: owner.userId,
          entityId: member.userId,
          check: (e) => {
            expect(e.before.roles.map((r: { name: string }) => r.name)).toEqual(['viewer']);
            expect(e.after.roles.map((r: { name: string }) => r.name)).toEqual(['operator']);
          },
        };
      },
    },
    {
      name: 'remove member',
      action: 'deleted',
      entityType: 'member',
      before: true,
      after: false,
      async run(headers) {
        const member = await addMember(server, owner, 'viewer');
        await expectStatus(
          call(server, 'DELETE', `/api/v1/access/users/${member.userId}`, { token: owner.token, headers }),
          204,
        );
        return {
          reader: owner.token,
          actorId: owner.userId,
          entityId: member.userId,
          check: (e) => expect(e.before.email).toBe(member.email),
        };
      },
    },
    {
      name: 'create invite',
      action: 'created',
      entityType: 'invite',
      before: false,
      after: true,
      async run(headers) {
        const invite = await expectStatus(
          call(server, 'POST', '/api/v1/access/invites', {
            token: owner.token,
            headers,
            body: { email: 'invitee@example.test', role_id: await roleId(server, owner.token, 'viewer') },
          }),
          201,
        );
        return {
          reader: owner.token,
          actorId: owner.userId,
          entityId: invite.invite.id,
          check: (e) => {
            expect(e.after.email).toBe('invitee@example.test');
            expect(JSON.stringify(e)).not.toContain(invite.token);
          },
        };
      },
    },
    {
      name: 'revoke invite',
      action: 'deleted',
      entityType: 'invite',
      before: true,
      after: true,
      async run(headers) {
        const invite = await expectStatus(
          call(server, 'POST', '/api/v1/access/invites', {
            token: owner.token,
            body: { email: 'revoked@example.test', role_id: await roleId(server, owner.token, 'viewer') },
          }),
          201,
        );
        await expectStatus(
          call(server, 'DELETE', `/api/v1/access/invites/${invite.invite.id}`, {
            token: owner.token,
            headers,
          }),
          204,
        );
        return {
          reader: owner.token,
          actorId: owner.userId,
          entityId: invite.invite.id,
          check: (e) => {
            expect(e.before.status).toBe('pending');
            expect(e.after.status).toBe('revoked');
          },
        };
      },
    },
    {
      name: 'create API key',
      action: 'created',
      entityType: 'api_key',
      before: false,
      after: true,
      async run(headers) {
        const key = await expectStatus(
          call(server, 'POST', '/api/v1/api-keys', {
            token: owner.token,
            headers,
            body: { name: 'audited key', role_id: await roleId(server, owner.token, 'viewer') },
          }),
          201,
        );
        return {
          reader: owner.token,
          actorId: owner.userId,
          entityId: key.key.id,
          check: (e) => {
            expect(e.after.name).toBe('audited key');
            expect(JSON.stringify(e)).not.toContain(key.secret);
          },
        };
      },
    },
    {
      name: 'revoke API key',
      action: 'status_changed',
      entityType: 'api_key',
      before: true,
      after: true,
      async run(headers) {
        const key = await expectStatus(
          call(server, 'POST', '/api/v1/api-keys', {
            token: owner.token,
            body: { name: 'doomed key', role_id: await roleId(server, owner.token, 'viewer') },
          }),
          201,
        );
        await expectStatus(
          call(server, 'DELETE', `/api/v1/api-keys/${key.key.id}`, { token: owner.token, headers }),
          204,
        );
        return {
          reader: owner.token,
          actorId: owner.userId,
          entityId: key.key.id,
          check: (e) => {
            expect(e.before.revoked_at).toBeNull();
            expect(e.after.revoked_at).toEqual(expect.any(String));
          },
        };
      },
    },
    {
      name: 'PUT settings group',
      action: 'modified',
      entityType: 'settings',
      before: true,
      after: true,
      async run(headers) {
        await expectStatus(
          call(server, 'PUT', '/api/v1/settings/jobs', {
            token: owner.token,
            headers,
            body: { max_attempts: 7 },
          }),
          200,
        );
        return {
          reader: owner.token,
          actorId: owner.userId,
          entityId: 'jobs',
          check: (e) => {
            expect(e.before.max_attempts).toBe(3);
            expect(e.after.max_attempts).toBe(7);
          },
        };
      },
    },
    {
      name: 'PATCH org',
      action: 'modified',
      entityType: 'organization',
      before: true,
      after: true,
      async run(headers) {
        const before = await expectStatus(
          call(server, 'GET', '/api/v1/orgs/current', { token: owner.token }),
          200,
        );
        await expectStatus(
          call(server, 'PATCH', '/api/v1/orgs/current', {
            token: owner.token,
            headers,
            body: { name: 'Renamed org' },
          }),
          200,
        );
        return {
          reader: owner.token,
          actorId: owner.userId,
          entityId: owner.orgId,
          check: (e) => {
            expect(e.before.name).toBe(before.name);
            expect(e.after.name).toBe('Renamed org');
          },
        };
      },
    },
    {
      name: 'POST org',
      action: 'created',
      entityType: 'organization',
      before: false,
      after: true,
      async run(headers) {
        const org = await expectStatus(
          call(server, 'POST', '/api/v1/orgs', { token: owner.token, headers, body: { name: 'Second org' } }),
          201,
        );
        // The event belongs to the new organisation: read it from a session there.
        const switched = await expectStatus(
          call(server, 'POST', '/api/v1/auth/switch-org', { token: owner.token, body: { org_id: org.id } }),
          200,
        );
        return {
          reader: switched.access_token,
          actorId: owner.userId,
          entityId: org.id,
          check: (e) => expect(e.after.name).toBe('Second org'),
        };
      },
    },
    {
      name: 'logout',
      action: 'logout',
      entityType: 'session',
      before: false,
      after: false,
      async run(headers) {
        const user = await signup(server, 'leaver');
        await expectStatus(call(server, 'POST', '/api/v1/auth/logout', { token: user.token, headers }), 204);
        expect((await call(server, 'GET', '/api/v1/auth/me', { token: user.token })).status).toBe(401);
        const again = await login(server, user.email);
        return { reader: again.token, actorId: user.userId };
      },
    },
    {
      name: 'password change',
      action: 'modified',
      entityType: 'user',
      before: false,
      after: true,
      async run(headers) {
        const user = await signup(server, 'changer');
        await expectStatus(
          call(server, 'POST', '/api/v1/auth/password', {
            token: user.token,
            headers,
            body: { current_password: PASSWORD, new_password: 'a brand new passphrase' },
          }),
          204,
        );
        return {
          reader: user.token,
          actorId: user.userId,
          entityId: user.userId,
          check: (e) => expect(JSON.stringify(e)).not.toContain('a brand new passphrase'),
        };
      },
    },
  ];

  it.each(mutations)(
    'audit: $name writes a $action $entityType event with actor, ip, agent and request id',
    async (m) => {
      const { requestId, headers } = tagged();
      const outcome = await m.run(headers);
      const events = await call(server, 'GET', `/api/v1/audit?request_id=${requestId}`, {
        token: outcome.reader,
      });
      expect(events.status).toBe(200);
      expect(events.body.items.length).toBeGreaterThanOrEqual(1);
      expect(events.body.items.every((e: { request_id: string }) => e.request_id === requestId)).toBe(true);
      const event = events.body.items.find(
        (e: { action: string; entity_type: string }) =>
          e.action === m.action && e.entity_type === m.entityType,
      );
      expect(event, JSON.stringify(events.body.items)).toBeDefined();
      expect(event).toMatchObject({
        actor_type: 'user',
        actor_id: outcome.actorId,
        request_id: requestId,
        user_agent: USER_AGENT,
        ip: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$|^::1$/),
        created_at: expect.any(String),
      });
      if (outcome.entityId !== undefined) expect(event.entity_id).toBe(outcome.entityId);
      expect(event.before === null, 'before').toBe(!m.before);
      expect(event.after === null, 'after').toBe(!m.after);
      outcome.check?.(event);
    },
  );

  it('audit: secrets are masked in before and after', async () => {
    await call(server, 'PUT', '/api/v1/settings/email', {
      token: owner.token,
      body: { smtp_password: 'first-clear-secret' },
    });
    const { requestId, headers } = tagged();
    const put = await call(server, 'PUT', '/api/v1/settings/email', {
      token: owner.token,
      headers,
      body: { smtp_password: 'second-clear-secret', smtp_host: 'smtp.example.test' },
    });
    expect(put.status).toBe(200);
    const events = await call(server, 'GET', `/api/v1/audit?request_id=${requestId}`, { token: owner.token });
    const [event] = events.body.items;
    expect(event.before).toMatchObject({ smtp_password: '********', smtp_host: '' });
    expect(event.after).toMatchObject({ smtp_password: '********', smtp_host: 'smtp.example.test' });
    const all = await call(server, 'GET', '/api/v1/audit?limit=200', { token: owner.token });
    expect(JSON.stringify(all.body)).not.toMatch(/first-clear-secret|second-clear-secret/);
    const search = await call(server, 'GET', '/api/v1/audit?q=clear-secret', { token: owner.token });
    expect(search.body.items).toEqual([]);
  });

  it('audit: filters by action, entity type, time range and text', async () => {
    const org = await signup(server, 'filters');
    const roleName = `needle-${randomUUID().slice(0, 8)}`;
    const early = await call(server, 'POST', '/api/v1/access/roles', {
      token: org.token,
      body: { name: roleName, permissions: ['users:read'] },
    });
    expect(early.status).toBe(201);
    clock.advance(60_000);
    const middle = clock.now().toISOString();
    clock.advance(60_000);
    const late = await call(server, 'PATCH', `/api/v1/access/roles/${early.body.id}`, {
      token: org.token,
      body: { description: 'later change' },
    });
    expect(late.status).toBe(200);

    const list = async (query: string) => {
      const reply = await call(server, 'GET', `/api/v1/audit?limit=200&${query}`, { token: org.token });
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      return reply.body.items as any[];
    };

    const created = await list('action=created');
    expect(created.length).toBeGreaterThan(0);
    expect(created.every((e) => e.action === 'created')).toBe(true);
    expect(created.some((e) => e.entity_id === early.body.id)).toBe(true);

    const roles = await list('entity_type=role');
    expect(roles.map((e) => e.action).sort()).toEqual(['created', 'modified']);

    const after = await list(`entity_type=role&from=${encodeURIComponent(middle)}`);
    expect(after.map((e) => e.action)).toEqual(['modified']);
    const before = await list(`entity_type=role&to=${encodeURIComponent(middle)}`);
    expect(before.map((e) => e.action)).toEqual(['created']);
    const window = await list(
      `from=${encodeURIComponent(middle)}&to=${encodeURIComponent(clock.now().toISOString())}`,
    );
    expect(window).toEqual([]);

    const text = await list(`q=${roleName}`);
    expect(text.map((e) => e.entity_id)).toEqual([early.body.id, early.body.id]);
    const upper = await list(`q=${roleName.toUpperCase()}`);
    expect(upper).toHaveLength(2);
    expect(await list('q=no-such-text-anywhere')).toEqual([]);
    // LIKE wildcards are literal text, not patterns.
    expect(await list('q=%25')).toEqual([]);

    const actor = await list(`actor_id=${org.userId}&action=modified`);
    expect(actor.map((e) => e.entity_id)).toEqual([early.body.id]);

    expectError(
      await call(server, 'GET', '/api/v1/audit?action=exploded', { token: org.token }),
      400,
      'validation_failed',
    );
    expectError(
      await call(server, 'GET', '/api/v1/audit?from=yesterday', { token: org.token }),
      400,
      'validation_failed',
    );
  });

  it('audit: GET /api/v1/audit/{id} returns the event the list shows, and 404 for an unknown id', async () => {
    const list = await call(server, 'GET', '/api/v1/audit?limit=3', { token: owner.token });
    expect(list.body.items).toHaveLength(3);
    for (const item of list.body.items) {
      const one = await call(server, 'GET', `/api/v1/audit/${item.id}`, { token: owner.token });
      expect(one.status).toBe(200);
      expect(one.body).toEqual(item);
    }
    expectError(
      await call(server, 'GET', `/api/v1/audit/${randomUUID()}`, { token: owner.token }),
      404,
      'not_found',
    );
    expectError(
      await call(server, 'GET', '/api/v1/audit/not-an-id', { token: owner.token }),
      400,
      'validation_failed',
    );
  });

  it('audit: no route modifies or deletes an audit event', async () => {
    const ops = await openApiOperations(server);
    const auditOps = ops.filter((op) => op.path.startsWith('/api/v1/audit'));
    expect(auditOps.map((op) => `${op.method} ${op.path}`).sort()).toEqual([
      'GET /api/v1/audit',
      'GET /api/v1/audit/{id}',
    ]);
    const [event] = (await call(server, 'GET', '/api/v1/audit?limit=1', { token: owner.token })).body.items;
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const reply = await call(server, method, `/api/v1/audit/${event.id}`, {
        token: owner.token,
        ...(method === 'DELETE' ? {} : { body: { action: 'deleted' } }),
      });
      expectError(reply, 404, 'not_found');
    }
    expectError(await call(server, 'DELETE', '/api/v1/audit', { token: owner.token }), 404, 'not_found');
    const still = await call(server, 'GET', `/api/v1/audit/${event.id}`, { token: owner.token });
    expect(still.body).toEqual(event);
  });

  it('audit: a viewer cannot read the audit log (403)', async () => {
    const viewer = await addMember(server, owner, 'viewer');
    expectError(await call(server, 'GET', '/api/v1/audit', { token: viewer.token }), 403, 'forbidden');
    const [event] = (await call(server, 'GET', '/api/v1/audit?limit=1', { token: owner.token })).body.items;
    expectError(
      await call(server, 'GET', `/api/v1/audit/${event.id}`, { token: viewer.token }),
      403,
      'forbidden',
    );
  });
});
