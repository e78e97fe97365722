import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../../src/server/lib/crypto.js';
import { agentsRepo } from '../../src/server/modules/agents/agents.repo.js';
import { enroll, enrollmentToken, facts, register } from '../support/agents.js';
import { auditOf, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

const AGENT_FIELDS = [
  'id',
  'name',
  'hostname',
  'os_type',
  'os_version',
  'arch',
  'ip',
  'agent_version',
  'interpreters',
  'tags',
  'group_id',
  'notes',
  'status',
  'connected',
  'last_seen_at',
  'metrics',
  'system_info',
  'enrolled_via',
  'profile_id',
  'created_at',
  'updated_at',
].sort();

describe.each(dialects)('fleet: registration on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server);
  });
  afterAll(async () => {
    await server.close();
  });

  const getAgent = (id: string, session = owner) =>
    call(server, 'GET', `/api/v1/agents/${id}`, { token: session.token });
  const createRecord = (body: Record<string, unknown> = {}) =>
    expectStatus(
      call(server, 'POST', '/api/v1/agents', {
        token: owner.token,
        body: { name: 'db-primary', os_type: 'debian', tags: ['db'], notes: 'rack 2', ...body },
      }),
      201,
    );

  it('fleet: a machine record registers with its one-time machine key', async () => {
    const created = await createRecord();
    expect(created.machine_key).toMatch(/^fpm_[\w-]{43}$/);
    expect(Object.keys(created.agent).sort()).toEqual(AGENT_FIELDS);
    expect(created.agent).toMatchObject({
      name: 'db-primary',
      os_type: 'debian',
      tags: ['db'],
      notes: 'rack 2',
      status: 'pending',
      connected: false,
      last_seen_at: null,
      metrics: null,
      enrolled_via: null,
    });

    const machine = facts({ hostname: 'db01', os_type: 'debian', ip: '10.0.0.5' });
    const reply = await expectStatus(
      register(server, { machine_key: created.machine_key, facts: machine }),
      200,
    );
    expect(reply).toEqual({
      agent_id: created.agent.id,
      agent_token: expect.stringMatching(/^fpa_[\w-]{43}$/),
      heartbeat_interval_ms: server.config.fleet.heartbeatIntervalMs,
      // the key agents check their updates with (SPKI DER, base64)
      update_public_key: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/),
    });
    const agent = await expectStatus(getAgent(created.agent.id), 200);
    expect(Object.keys(agent).sort()).toEqual(AGENT_FIELDS);
    expect(agent).toMatchObject({
      name: 'db-primary',
      hostname: 'db01',
      ip: '10.0.0.5',
      os_version: '24.04',
      interpreters: ['bash', 'sh', 'python'],
      system_info: { cpus: 4, memory_mb: 8192 },
      tags: ['db'],
      status: 'online',
      connected: false,
      enrolled_via: 'machine_key',
      last_seen_at: expect.any(String),
    });

    const events = await auditOf(server, owner, 'agent', created.agent.id);
    expect(events.map((e: any) => [e.action, e.actor_type])).toEqual([
      ['created', 'user'],
      ['status_changed', 'agent'],
    ]);
    expect(events[1]).toMatchObject({ actor_id: created.agent.id, actor_label: 'db01' });
    expect(events[1].before.status).toBe('pending');
    expect(events[1].after.status).toBe('online');
  });

  it('fleet: the machine key is never shown again, nor any hash or fingerprint', async () => {
    const created = await createRecord({ name: 'secretive' });
    const machine = facts();
    const reg = await expectStatus(
      register(server, { machine_key: created.machine_key, facts: machine }),
      200,
    );
    const one = await getAgent(created.agent.id);
    const list = await call(server, 'GET', '/api/v1/agents?limit=200', { token: owner.token });
    const audit = await auditOf(server, owner, 'agent', created.agent.id);
    for (const body of [one.body, list.body, audit]) {
      const text = JSON.stringify(body);
      for (const secret of [
        created.machine_key,
        sha256(created.machine_key),
        reg.agent_token,
        sha256(reg.agent_token),
      ])
        expect(text).not.toContain(secret);
      expect(text).not.toContain(machine.fingerprint);
    }
  });

  it('fleet: a machine key claimed by another machine is 409; the same machine may register again', async () => {
    const created = await createRecord({ name: 'claimed' });
    const machine = facts();
    const first = await expectStatus(
      register(server, { machine_key: created.machine_key, facts: machine }),
      200,
    );
    const thief = await register(server, { machine_key: created.machine_key, facts: facts() });
    expectError(thief, 409, 'conflict');
    const again = await expectStatus(
      register(server, { machine_key: created.machine_key, facts: machine }),
      200,
    );
    expect(again.agent_id).toBe(first.agent_id);
  });

  it('fleet: a machine key cannot enroll a machine that is already a live agent (409)', async () => {
    const { facts: machine } = await enroll(server, owner);
    const created = await createRecord({ name: 'twin' });
    expectError(
      await register(server, { machine_key: created.machine_key, facts: machine }),
      409,
      'conflict',
    );
    expect((await expectStatus(getAgent(created.agent.id), 200)).status).toBe('pending');
  });

  it('fleet: re-registering the same fingerprint updates one agent and replaces its token', async () => {
    const { secret } = await enrollmentToken(server, owner);
    const first = await enroll(server, owner, { secret, facts: { hostname: 'web01', os_version: '22.04' } });
    const second = await enroll(server, owner, {
      secret,
      facts: { fingerprint: first.facts.fingerprint, hostname: 'web01-renamed', os_version: '24.04' },
    });
    expect(second.agentId).toBe(first.agentId);
    expect(second.agentToken).not.toBe(first.agentToken);
    const db = server.database.db;
    expect(await agentsRepo.findByTokenHash(db, sha256(first.agentToken))).toBeUndefined();
    expect((await agentsRepo.findByTokenHash(db, sha256(second.agentToken)))?.id).toBe(first.agentId);

    const list = await expectStatus(
      call(server, 'GET', '/api/v1/agents?q=web01&limit=200', { token: owner.token }),
      200,
    );
    expect(list.items.map((a: { id: string }) => a.id)).toEqual([first.agentId]);
    expect(list.items[0]).toMatchObject({ hostname: 'web01-renamed', os_version: '24.04', name: 'web01' });
    const events = await auditOf(server, owner, 'agent', first.agentId);
    expect(events.map((e: any) => e.action)).toEqual(['created', 'status_changed']);
    expect(events[0]).toMatchObject({ actor_type: 'agent', actor_id: first.agentId, actor_label: 'web01' });
  });

  it('fleet: re-registering a deleted agent revives it', async () => {
    const first = await enroll(server, owner);
    await expectStatus(
      call(server, 'DELETE', `/api/v1/agents/${first.agentId}?reason=decommissioned`, { token: owner.token }),
      204,
    );
    expectError(await getAgent(first.agentId), 404, 'not_found');
    // The row and its token stay, so the agent can be told to uninstall.
    const deleted = await agentsRepo.findByTokenHash(server.database.db, sha256(first.agentToken));
    expect(deleted).toMatchObject({ id: first.agentId, delete_reason: 'decommissioned' });
    expect(deleted?.deleted_at).toEqual(expect.any(String));

    const again = await enroll(server, owner, { facts: { fingerprint: first.facts.fingerprint } });
    expect(again.agentId).toBe(first.agentId);
    const revived = await expectStatus(getAgent(first.agentId), 200);
    expect(revived.status).toBe('online');
    const row = await agentsRepo.get(server.database.db, owner.orgId, first.agentId);
    expect(row).toMatchObject({ deleted_at: null, delete_reason: null });

    const events = await auditOf(server, owner, 'agent', first.agentId);
    expect(events.map((e: any) => e.action)).toEqual(['created', 'deleted', 'status_changed']);
    expect(events[1]).toMatchObject({ actor_type: 'user', after: { delete_reason: 'decommissioned' } });
    expect(events[2]).toMatchObject({ actor_type: 'agent', before: { deleted_at: expect.any(String) } });
    expect(events[2].after.deleted_at).toBeNull();
  });

  it('fleet: the same machine in two organisations is two agents', async () => {
    const other = await signup(server, 'other');
    const mine = await enroll(server, owner);
    const theirs = await enroll(server, other, { facts: { fingerprint: mine.facts.fingerprint } });
    expect(theirs.agentId).not.toBe(mine.agentId);
    await expectStatus(getAgent(mine.agentId), 200);
    await expectStatus(getAgent(theirs.agentId, other), 200);
  });

  it("fleet: the agent's address is the request's when its facts name none", async () => {
    const { agentId } = await enroll(server, owner);
    expect((await expectStatus(getAgent(agentId), 200)).ip).toBe('127.0.0.1');
  });
});
