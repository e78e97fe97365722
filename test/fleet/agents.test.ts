import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FleetEvent } from '../../src/server/realtime/events.js';
import { enroll, enrollmentToken } from '../support/agents.js';
import {
  addMember,
  auditOf,
  call,
  expectError,
  expectStatus,
  signup,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

describe.each(dialects)('fleet: agents and groups on %s', (dialect) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(async () => {
    await server.close();
  });

  const api = (session: Session, method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: session.token, ...(body === undefined ? {} : { body }) });
  const ids = (reply: any) => reply.body.items.map((a: { id: string }) => a.id).sort();

  it('fleet: agents are listed by status, tag, group, OS and text, page by page', async () => {
    const owner = await signup(server);
    const group = await expectStatus(api(owner, 'POST', '/api/v1/agent-groups', { name: 'web tier' }), 201);
    const { secret } = await enrollmentToken(server, owner, { tags: ['web'] });
    const web1 = await enroll(server, owner, { secret, facts: { hostname: 'Web-Alpha', ip: '10.1.0.1' } });
    const web2 = await enroll(server, owner, { secret, facts: { hostname: 'web-beta', os_type: 'windows' } });
    const db1 = await enroll(server, owner, { facts: { hostname: 'db-1', ip: '10.2.0.9' } });
    const db2 = await enroll(server, owner, { facts: { hostname: 'db-2', os_type: 'rhel' } });
    await expectStatus(api(owner, 'PATCH', `/api/v1/agents/${db1.agentId}`, { tags: ['db_1', 'web'] }), 200);
    await expectStatus(
      api(owner, 'PATCH', `/api/v1/agents/${db2.agentId}`, { tags: ['dbx1', 'webserver'] }),
      200,
    );
    await expectStatus(api(owner, 'PATCH', `/api/v1/agents/${web2.agentId}`, { group_id: group.id }), 200);
    const record = await expectStatus(
      api(owner, 'POST', '/api/v1/agents', { name: 'spare', os_type: 'macos' }),
      201,
    );

    const list = (query: string) => api(owner, 'GET', `/api/v1/agents?limit=200&${query}`);
    expect(ids(await list(''))).toEqual(
      [web1, web2, db1, db2]
        .map((a) => a.agentId)
        .concat(record.agent.id)
        .sort(),
    );
    expect(ids(await list('status=pending'))).toEqual([record.agent.id]);
    expect(ids(await list('status=online'))).toEqual([web1, web2, db1, db2].map((a) => a.agentId).sort());
    expect(ids(await list('status=offline'))).toEqual([]);
    // A tag matches whole: `web` is not `webserver`, and `_` in `db_1` is no wildcard.
    expect(ids(await list('tag=web'))).toEqual([web1, web2, db1].map((a) => a.agentId).sort());
    expect(ids(await list('tag=db_1'))).toEqual([db1.agentId]);
    expect(ids(await list('tag=webserver'))).toEqual([db2.agentId]);
    expect(ids(await list(`group_id=${group.id}`))).toEqual([web2.agentId]);
    expect(ids(await list('os_type=windows'))).toEqual([web2.agentId]);
    expect(ids(await list('os_type=macos'))).toEqual([record.agent.id]);
    expect(ids(await list('q=WEB'))).toEqual([web1, web2].map((a) => a.agentId).sort());
    expect(ids(await list('q=10.2.0'))).toEqual([db1.agentId]);
    expect(ids(await list('q=spa'))).toEqual([record.agent.id]);
    expect(ids(await list('q=%25'))).toEqual([]);
    expect(ids(await list('tag=web&os_type=ubuntu'))).toEqual([web1, db1].map((a) => a.agentId).sort());
    expectError(await list('status=lost'), 400, 'validation_failed');
    expectError(await list('tag=Web'), 400, 'validation_failed');

    // the overview's counts: by status, in all and per OS; the deleted one counts no more
    const deleted = await enroll(server, owner, { facts: { hostname: 'gone', os_type: 'rhel' } });
    await expectStatus(api(owner, 'DELETE', `/api/v1/agents/${deleted.agentId}`), 204);
    expect(await expectStatus(api(owner, 'GET', '/api/v1/agents/summary'), 200)).toEqual({
      total: 5,
      online: 4,
      offline: 0,
      pending: 1,
      by_os: [
        { os_type: 'ubuntu', total: 2, online: 2, offline: 0, pending: 0 },
        expect.objectContaining({ total: 1 }),
        expect.objectContaining({ total: 1 }),
        expect.objectContaining({ total: 1 }),
      ],
    });
    const summary = await expectStatus(api(owner, 'GET', '/api/v1/agents/summary'), 200);
    expect(Object.fromEntries(summary.by_os.map((os: any) => [os.os_type, [os.online, os.pending]]))).toEqual(
      {
        ubuntu: [2, 0],
        windows: [1, 0],
        rhel: [1, 0],
        macos: [0, 1],
      },
    );
    const other = await signup(server);
    expect(await expectStatus(api(other, 'GET', '/api/v1/agents/summary'), 200)).toEqual({
      total: 0,
      online: 0,
      offline: 0,
      pending: 0,
      by_os: [],
    });

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: any = await expectStatus(
        api(owner, 'GET', `/api/v1/agents?limit=2${cursor ? `&cursor=${cursor}` : ''}`),
        200,
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((a: { id: string }) => a.id));
      cursor = page.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...seen].sort().reverse());
    expect([...seen].sort()).toEqual(ids(await list('')));
  });

  it('fleet: PATCH changes name, tags, group and notes, and is audited', async () => {
    const owner = await signup(server);
    const { agentId } = await enroll(server, owner, { facts: { hostname: 'app01' } });
    const group = await expectStatus(api(owner, 'POST', '/api/v1/agent-groups', { name: 'apps' }), 201);
    const patched = await expectStatus(
      api(owner, 'PATCH', `/api/v1/agents/${agentId}`, {
        name: 'billing app',
        tags: ['billing', 'prod', 'prod'],
        group_id: group.id,
        notes: 'owned by team billing',
      }),
      200,
    );
    expect(patched).toMatchObject({
      name: 'billing app',
      tags: ['billing', 'prod'],
      group_id: group.id,
      notes: 'owned by team billing',
      hostname: 'app01',
    });
    expect(await expectStatus(api(owner, 'GET', `/api/v1/agents/${agentId}`), 200)).toEqual(patched);
    const cleared = await expectStatus(
      api(owner, 'PATCH', `/api/v1/agents/${agentId}`, { group_id: null }),
      200,
    );
    expect(cleared).toMatchObject({ group_id: null, name: 'billing app', tags: ['billing', 'prod'] });

    const other = await signup(server, 'other');
    const foreign = await expectStatus(api(other, 'POST', '/api/v1/agent-groups', { name: 'apps' }), 201);
    expectError(
      await api(owner, 'PATCH', `/api/v1/agents/${agentId}`, { group_id: foreign.id }),
      422,
      'unprocessable',
    );
    expectError(await api(owner, 'PATCH', `/api/v1/agents/${agentId}`, {}), 400, 'validation_failed');
    expectError(
      await api(owner, 'PATCH', `/api/v1/agents/${agentId}`, { status: 'online' }),
      400,
      'validation_failed',
    );
    expectError(
      await api(owner, 'PATCH', `/api/v1/agents/${agentId}`, { tags: ['has space'] }),
      400,
      'validation_failed',
    );

    const events = await auditOf(server, owner, 'agent', agentId);
    expect(events.map((e: any) => e.action)).toEqual(['created', 'modified', 'modified']);
    expect(events[1]).toMatchObject({
      actor_type: 'user',
      actor_id: owner.userId,
      before: { name: 'app01', tags: [], group_id: null },
      after: { name: 'billing app', tags: ['billing', 'prod'], group_id: group.id },
    });
  });

  it('fleet: DELETE soft-deletes an agent, publishes agent.deleted and is audited', async () => {
    const owner = await signup(server);
    const { agentId } = await enroll(server, owner);
    const events: FleetEvent[] = [];
    const unsubscribe = server.app.services.bus.subscribe((event) => events.push(event));
    try {
      await expectStatus(api(owner, 'DELETE', `/api/v1/agents/${agentId}?reason=retired`), 204);
      await vi.waitFor(() =>
        expect(events).toContainEqual({
          type: 'agent.deleted',
          org_id: owner.orgId,
          agent_id: agentId,
          reason: 'retired',
        }),
      );
    } finally {
      unsubscribe();
    }
    expectError(await api(owner, 'GET', `/api/v1/agents/${agentId}`), 404, 'not_found');
    expectError(await api(owner, 'PATCH', `/api/v1/agents/${agentId}`, { name: 'x' }), 404, 'not_found');
    expectError(await api(owner, 'DELETE', `/api/v1/agents/${agentId}`), 404, 'not_found');
    expect(ids(await api(owner, 'GET', '/api/v1/agents'))).toEqual([]);
    const audit = await auditOf(server, owner, 'agent', agentId);
    expect(audit.map((e: any) => e.action)).toEqual(['created', 'deleted']);
    expect(audit[1]).toMatchObject({
      actor_id: owner.userId,
      before: { id: agentId },
      after: { delete_reason: 'retired' },
    });
  });

  it('fleet: agent groups are created, renamed and deleted; names are unique (409)', async () => {
    const owner = await signup(server);
    const created = await expectStatus(
      api(owner, 'POST', '/api/v1/agent-groups', { name: 'databases', description: 'all DBs' }),
      201,
    );
    expect(created).toMatchObject({ name: 'databases', description: 'all DBs', agent_count: 0 });
    expectError(await api(owner, 'POST', '/api/v1/agent-groups', { name: 'databases' }), 409, 'conflict');
    const second = await expectStatus(api(owner, 'POST', '/api/v1/agent-groups', { name: 'caches' }), 201);
    expectError(
      await api(owner, 'PATCH', `/api/v1/agent-groups/${second.id}`, { name: 'databases' }),
      409,
      'conflict',
    );
    const renamed = await expectStatus(
      api(owner, 'PATCH', `/api/v1/agent-groups/${second.id}`, { name: 'kv stores' }),
      200,
    );
    expect(renamed).toMatchObject({ name: 'kv stores', description: '' });
    // Renaming to its own name is no conflict.
    await expectStatus(api(owner, 'PATCH', `/api/v1/agent-groups/${second.id}`, { name: 'kv stores' }), 200);
    // Racing creates of one name: one wins, the others are 409 (never a 500 from the constraint).
    const racer = await signup(server, 'racer');
    const racing = await Promise.all(
      Array.from({ length: 5 }, () => api(racer, 'POST', '/api/v1/agent-groups', { name: 'racers' })),
    );
    expect(racing.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409]);
    // Another organisation may use the same name.
    const other = await signup(server, 'other');
    await expectStatus(api(other, 'POST', '/api/v1/agent-groups', { name: 'databases' }), 201);

    const { secret } = await enrollmentToken(server, owner, { group_id: created.id });
    const a = await enroll(server, owner, { secret });
    const b = await enroll(server, owner, { secret });
    const withAgents = await expectStatus(api(owner, 'GET', `/api/v1/agent-groups/${created.id}`), 200);
    expect(withAgents.agent_count).toBe(2);
    const list = await expectStatus(api(owner, 'GET', '/api/v1/agent-groups'), 200);
    expect(list.items.map((g: any) => [g.name, g.agent_count])).toEqual([
      ['kv stores', 0],
      ['databases', 2],
    ]);

    await expectStatus(api(owner, 'DELETE', `/api/v1/agent-groups/${created.id}`), 204);
    expectError(await api(owner, 'GET', `/api/v1/agent-groups/${created.id}`), 404, 'not_found');
    for (const agent of [a, b])
      expect(
        (await expectStatus(api(owner, 'GET', `/api/v1/agents/${agent.agentId}`), 200)).group_id,
      ).toBeNull();
    const tokens = await expectStatus(api(owner, 'GET', '/api/v1/enrollment-tokens'), 200);
    expect(tokens.items[0].group_id).toBeNull();

    const events = await auditOf(server, owner, 'agent_group', created.id);
    expect(events.map((e: any) => e.action)).toEqual(['created', 'deleted']);
    expect(events[1].before).toMatchObject({ name: 'databases', agent_count: 2 });
    const renames = await auditOf(server, owner, 'agent_group', second.id);
    expect(renames.map((e: any) => e.action)).toEqual(['created', 'modified', 'modified']);
    expect(renames[1]).toMatchObject({ before: { name: 'caches' }, after: { name: 'kv stores' } });
  });

  it("fleet: an organisation gets 404 for another organisation's agents and groups", async () => {
    const a = await signup(server, 'alpha');
    const b = await signup(server, 'bravo');
    const agent = await enroll(server, b, { facts: { hostname: 'bravo-host' } });
    const group = await expectStatus(api(b, 'POST', '/api/v1/agent-groups', { name: 'bravo group' }), 201);
    const attempts: [string, string, unknown][] = [
      ['GET', `/api/v1/agents/${agent.agentId}`, undefined],
      ['PATCH', `/api/v1/agents/${agent.agentId}`, { name: 'stolen' }],
      ['DELETE', `/api/v1/agents/${agent.agentId}`, undefined],
      ['GET', `/api/v1/agent-groups/${group.id}`, undefined],
      ['PATCH', `/api/v1/agent-groups/${group.id}`, { name: 'stolen' }],
      ['DELETE', `/api/v1/agent-groups/${group.id}`, undefined],
    ];
    for (const [method, route, body] of attempts) {
      const reply = await api(a, method, route, body);
      expectError(reply, 404, 'not_found');
      expect(JSON.stringify(reply.body)).not.toContain('bravo');
    }
    const record = await expectStatus(api(a, 'POST', '/api/v1/agents', { name: 'mine' }), 201);
    expectError(
      await api(a, 'PATCH', `/api/v1/agents/${record.agent.id}`, { group_id: group.id }),
      422,
      'unprocessable',
    );
    expectError(
      await api(a, 'POST', '/api/v1/agents', { name: 'x', group_id: group.id }),
      422,
      'unprocessable',
    );
    expect(ids(await api(a, 'GET', '/api/v1/agents?limit=200'))).toEqual([record.agent.id]);
    expect(ids(await api(a, 'GET', '/api/v1/agent-groups?limit=200'))).toEqual([]);
    expect(ids(await api(a, 'GET', `/api/v1/agents?group_id=${group.id}`))).toEqual([]);
    // B's agent and group are untouched.
    expect(await expectStatus(api(b, 'GET', `/api/v1/agents/${agent.agentId}`), 200)).toMatchObject({
      name: 'bravo-host',
      group_id: null,
    });
    expect((await expectStatus(api(b, 'GET', `/api/v1/agent-groups/${group.id}`), 200)).name).toBe(
      'bravo group',
    );
  });

  it('fleet: a viewer reads agents but cannot create, change or delete them (403)', async () => {
    const owner = await signup(server);
    const viewer = await addMember(server, owner, 'viewer');
    const { agentId } = await enroll(server, owner);
    await expectStatus(api(viewer, 'GET', `/api/v1/agents/${agentId}`), 200);
    expectError(await api(viewer, 'POST', '/api/v1/agents', { name: 'x' }), 403, 'forbidden');
    expectError(await api(viewer, 'PATCH', `/api/v1/agents/${agentId}`, { name: 'x' }), 403, 'forbidden');
    expectError(await api(viewer, 'DELETE', `/api/v1/agents/${agentId}`), 403, 'forbidden');
    expectError(await api(viewer, 'POST', '/api/v1/enrollment-tokens', { name: 'x' }), 403, 'forbidden');
  });
});
