import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll } from '../support/agents.js';
import {
  addMember,
  auditOf,
  call,
  expectError,
  expectStatus,
  signup,
  uniqueName,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';

describe.each(dialects)('robots on %s', (dialect) => {
  let server: TestServer;
  const clock = new TestClock();
  beforeAll(async () => {
    server = await startTestServer(dialect, { clock });
  });
  afterAll(async () => {
    await server.close();
  });

  const api = (session: Session, method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: session.token, ...(body === undefined ? {} : { body }) });
  const create = async (session: Session, body: Record<string, unknown>) =>
    expectStatus(api(session, 'POST', '/api/v1/robots', { name: uniqueName('robot'), ...body }), 201);
  const listed = async (session: Session, query: string) => {
    const reply = await expectStatus(api(session, 'GET', `/api/v1/robots?limit=200&${query}`), 200);
    return (reply.items as { name: string }[]).map((r) => r.name).sort();
  };
  /** An agent that registered (online), and a machine record no agent registered with (pending). */
  const agents = async (owner: Session) => {
    const online = await enroll(server, owner);
    const machine = await expectStatus(
      api(owner, 'POST', '/api/v1/agents', { name: uniqueName('machine') }),
      201,
    );
    return { online: online.agentId, pending: machine.agent.id as string };
  };

  it('robots: create, get, list, update and delete an agent robot and a runner, each audited', async () => {
    const owner = await signup(server);
    const { online } = await agents(owner);
    const agentRobot = await create(owner, {
      name: 'billing bot',
      description: 'pays invoices',
      kind: 'agent',
      agent_id: online,
      pools: ['finance', 'finance', 'eu'],
    });
    expect(agentRobot.machine_key).toBeNull();
    expect(agentRobot.robot).toMatchObject({
      name: 'billing bot',
      description: 'pays invoices',
      kind: 'agent',
      agent_id: online,
      agent_name: expect.any(String),
      pools: ['finance', 'eu'],
      credential_asset_id: null,
      status: 'online',
      current_job_id: null,
      last_heartbeat_at: null,
      has_token: false,
      token_prefix: null,
    });
    const assetId = '01900000-0000-7000-8000-000000000001';
    const runner = await create(owner, { name: 'scraper', kind: 'runner', credential_asset_id: assetId });
    expect(runner.machine_key).toMatch(/^fprm_/);
    expect(runner.robot).toMatchObject({
      kind: 'runner',
      agent_id: null,
      status: 'offline',
      credential_asset_id: assetId,
    });
    const hash = createHash('sha256').update(runner.machine_key).digest('hex');

    const got = await expectStatus(api(owner, 'GET', `/api/v1/robots/${runner.robot.id}`), 200);
    expect(got).toEqual(runner.robot);
    const list = await expectStatus(api(owner, 'GET', '/api/v1/robots'), 200);
    expect(list.items.map((r: { id: string }) => r.id)).toEqual([runner.robot.id, agentRobot.robot.id]);
    for (const text of [JSON.stringify(list), JSON.stringify(got)]) {
      expect(text).not.toContain(runner.machine_key);
      expect(text).not.toContain(hash);
    }

    const patched = await expectStatus(
      api(owner, 'PATCH', `/api/v1/robots/${agentRobot.robot.id}`, {
        name: 'billing bot 2',
        pools: ['ops'],
        credential_asset_id: assetId,
      }),
      200,
    );
    expect(patched).toMatchObject({
      name: 'billing bot 2',
      description: 'pays invoices',
      pools: ['ops'],
      credential_asset_id: assetId,
    });
    const cleared = await expectStatus(
      api(owner, 'PATCH', `/api/v1/robots/${agentRobot.robot.id}`, { credential_asset_id: null }),
      200,
    );
    expect(cleared.credential_asset_id).toBeNull();

    await expectStatus(api(owner, 'DELETE', `/api/v1/robots/${runner.robot.id}`), 204);
    expectError(await api(owner, 'GET', `/api/v1/robots/${runner.robot.id}`), 404, 'not_found');

    const ofAgentRobot = await auditOf(server, owner, 'robot', agentRobot.robot.id);
    expect(ofAgentRobot.map((e) => e.action)).toEqual(['created', 'modified', 'modified']);
    expect(ofAgentRobot[1].after).toMatchObject({ name: 'billing bot 2', pools: ['ops'] });
    const ofRunner = await auditOf(server, owner, 'robot', runner.robot.id);
    expect(ofRunner.map((e) => e.action)).toEqual(['created', 'deleted']);
    for (const events of [ofAgentRobot, ofRunner]) {
      expect(JSON.stringify(events)).not.toContain(runner.machine_key);
      expect(JSON.stringify(events)).not.toContain(hash);
    }
  });

  it('robots: a name is unique in the organisation (409), on create and on rename; another organisation may reuse it', async () => {
    const owner = await signup(server);
    const first = await create(owner, { name: 'twin', kind: 'runner' });
    const second = await create(owner, { name: 'other', kind: 'runner' });
    expectError(
      await api(owner, 'POST', '/api/v1/robots', { name: 'twin', kind: 'runner' }),
      409,
      'conflict',
    );
    expectError(
      await api(owner, 'PATCH', `/api/v1/robots/${second.robot.id}`, { name: 'twin' }),
      409,
      'conflict',
    );
    expect((await expectStatus(api(owner, 'GET', `/api/v1/robots/${second.robot.id}`), 200)).name).toBe(
      'other',
    );
    const elsewhere = await signup(server);
    await create(elsewhere, { name: 'twin', kind: 'runner' });
    expect(first.robot.name).toBe('twin');
  });

  it('robots: an agent robot needs a live agent of the organisation (422); a runner takes none', async () => {
    const owner = await signup(server);
    const stranger = await signup(server);
    const { online } = await agents(owner);
    const foreign = (await agents(stranger)).online;
    const deleted = (await agents(owner)).online;
    await expectStatus(api(owner, 'DELETE', `/api/v1/agents/${deleted}`), 204);
    const refusals = [
      { kind: 'agent' },
      { kind: 'agent', agent_id: foreign },
      { kind: 'agent', agent_id: deleted },
      { kind: 'agent', agent_id: '01900000-0000-7000-8000-0000000000ff' },
      { kind: 'runner', agent_id: online },
    ];
    for (const body of refusals) {
      const reply = await api(owner, 'POST', '/api/v1/robots', { name: uniqueName('robot'), ...body });
      expectError(reply, 422, 'unprocessable');
      expect(reply.body.error.details[0].field).toBe('agent_id');
      expect(JSON.stringify(reply.body)).not.toContain(foreign);
    }
    const robot = await create(owner, { kind: 'agent', agent_id: online });
    const moved = await api(owner, 'PATCH', `/api/v1/robots/${robot.robot.id}`, { agent_id: foreign });
    expectError(moved, 422, 'unprocessable');
    const runner = await create(owner, { kind: 'runner' });
    expectError(
      await api(owner, 'PATCH', `/api/v1/robots/${runner.robot.id}`, { agent_id: online }),
      422,
      'unprocessable',
    );
    expect(await listed(owner, '')).toHaveLength(2);
  });

  it("robots: another organisation's robot is 404 on every route, and never listed", async () => {
    const owner = await signup(server);
    const stranger = await signup(server);
    const robot = await create(owner, { kind: 'runner', name: 'private bot' });
    const id = robot.robot.id;
    for (const [method, route, body] of [
      ['GET', `/api/v1/robots/${id}`, undefined],
      ['PATCH', `/api/v1/robots/${id}`, { description: 'mine now' }],
      ['DELETE', `/api/v1/robots/${id}`, undefined],
      ['POST', `/api/v1/robots/${id}/machine-key`, undefined],
      ['POST', `/api/v1/robots/${id}/revoke-token`, undefined],
    ] as const)
      expectError(await api(stranger, method, route, body), 404, 'not_found');
    expect(await listed(stranger, '')).toEqual([]);
    expect(await listed(stranger, 'q=private')).toEqual([]);
    const kept = await expectStatus(api(owner, 'GET', `/api/v1/robots/${id}`), 200);
    expect(kept).toEqual(robot.robot);
  });

  it('robots: list filters by name text, status, kind, pool and agent', async () => {
    const owner = await signup(server);
    const { online, pending } = await agents(owner);
    await create(owner, { name: 'Alpha_One', kind: 'agent', agent_id: online, pools: ['web'] });
    await create(owner, { name: 'alpha two', kind: 'agent', agent_id: pending, pools: ['webserver'] });
    await create(owner, { name: 'beta', kind: 'runner', pools: ['web', 'batch'] });
    const busy = await create(owner, { name: 'gamma', kind: 'agent', agent_id: online });
    expect(await server.app.services.robots.markBusy(owner.orgId, busy.robot.id, busy.robot.id)).toBe(true);

    expect(await listed(owner, 'q=ALPHA')).toEqual(['Alpha_One', 'alpha two']);
    // LIKE wildcards are literal text.
    expect(await listed(owner, 'q=a_o')).toEqual(['Alpha_One']);
    expect(await listed(owner, 'q=%25')).toEqual([]);
    expect(await listed(owner, 'status=online')).toEqual(['Alpha_One']);
    expect(await listed(owner, 'status=offline')).toEqual(['alpha two', 'beta']);
    expect(await listed(owner, 'status=busy')).toEqual(['gamma']);
    expect(await listed(owner, 'kind=runner')).toEqual(['beta']);
    expect(await listed(owner, 'kind=agent')).toEqual(['Alpha_One', 'alpha two', 'gamma']);
    expect(await listed(owner, 'pool=web')).toEqual(['Alpha_One', 'beta']);
    expect(await listed(owner, 'pool=batch&kind=agent')).toEqual([]);
    expect(await listed(owner, `agent_id=${online}`)).toEqual(['Alpha_One', 'gamma']);
    expectError(await api(owner, 'GET', '/api/v1/robots?status=asleep'), 400, 'validation_failed');
  });

  it('robots: a busy robot cannot be deleted (409); markIdle for another job changes nothing, for its job frees it', async () => {
    const owner = await signup(server);
    const { online } = await agents(owner);
    const robot = await create(owner, { kind: 'agent', agent_id: online });
    const id = robot.robot.id as string;
    const robots = server.app.services.robots;
    const jobId = '01900000-0000-7000-8000-00000000a001';
    expect(await robots.markBusy(owner.orgId, id, jobId)).toBe(true);
    // Claimed once: a second job does not take a busy robot.
    expect(await robots.markBusy(owner.orgId, id, '01900000-0000-7000-8000-00000000a002')).toBe(false);
    // Another organisation's id changes nothing.
    expect(await robots.markBusy('01900000-0000-7000-8000-00000000a003', id, jobId)).toBe(false);
    const shown = await expectStatus(api(owner, 'GET', `/api/v1/robots/${id}`), 200);
    expect(shown).toMatchObject({ status: 'busy', current_job_id: jobId });
    const refused = await api(owner, 'DELETE', `/api/v1/robots/${id}`);
    expectError(refused, 409, 'conflict');
    expect(await robots.markIdle(owner.orgId, id, '01900000-0000-7000-8000-00000000a002')).toBe(false);
    expectError(await api(owner, 'DELETE', `/api/v1/robots/${id}`), 409, 'conflict');
    expect(await robots.markIdle(owner.orgId, id, jobId)).toBe(true);
    expect(await expectStatus(api(owner, 'GET', `/api/v1/robots/${id}`), 200)).toMatchObject({
      status: 'online',
      current_job_id: null,
    });
    await expectStatus(api(owner, 'DELETE', `/api/v1/robots/${id}`), 204);
  });

  it('robots: eligibleRobots answers a pool (or all), robotsOnAgent the robots of one agent', async () => {
    const owner = await signup(server);
    const { online, pending } = await agents(owner);
    const a = await create(owner, { kind: 'agent', agent_id: online, pools: ['night'] });
    const b = await create(owner, { kind: 'agent', agent_id: pending, pools: ['day'] });
    const c = await create(owner, { kind: 'runner', pools: ['night', 'day'] });
    const robots = server.app.services.robots;
    const ids = (views: { id: string }[]) => views.map((v) => v.id).sort();
    expect(ids(await robots.eligibleRobots(owner.orgId, 'night'))).toEqual([a.robot.id, c.robot.id].sort());
    expect(ids(await robots.eligibleRobots(owner.orgId, null))).toEqual(
      [a.robot.id, b.robot.id, c.robot.id].sort(),
    );
    const onOnline = await robots.robotsOnAgent(online);
    expect(onOnline.map((r) => [r.id, r.status])).toEqual([[a.robot.id, 'online']]);
    expect((await robots.robotsOnAgent(pending)).map((r) => r.status)).toEqual(['offline']);
  });

  it('robots: deleting an agent robots live on is 409 naming them; once they are gone it is deleted', async () => {
    const owner = await signup(server);
    const { online } = await agents(owner);
    const one = await create(owner, { name: 'first bot', kind: 'agent', agent_id: online });
    const two = await create(owner, { name: 'second bot', kind: 'agent', agent_id: online });
    const refused = await api(owner, 'DELETE', `/api/v1/agents/${online}`);
    expectError(refused, 409, 'conflict');
    expect(refused.body.error.message).toContain('"first bot"');
    expect(refused.body.error.message).toContain('"second bot"');
    expect(refused.body.error.details.map((d: { id: string }) => d.id).sort()).toEqual(
      [one.robot.id, two.robot.id].sort(),
    );
    // Still there, still online.
    const agent = await expectStatus(api(owner, 'GET', `/api/v1/agents/${online}`), 200);
    expect(agent.status).toBe('online');
    await expectStatus(api(owner, 'DELETE', `/api/v1/robots/${one.robot.id}`), 204);
    await expectStatus(api(owner, 'DELETE', `/api/v1/robots/${two.robot.id}`), 204);
    await expectStatus(api(owner, 'DELETE', `/api/v1/agents/${online}`), 204);
  });

  it('robots: a credential asset a robot runs as cannot be deleted (409 naming the robot)', async () => {
    const owner = await signup(server);
    const asset = await expectStatus(
      api(owner, 'POST', '/api/v1/assets', {
        name: 'erp_login',
        type: 'credential',
        value: { username: 'svc', password: 'pw' },
      }),
      201,
    );
    const robot = await create(owner, { name: 'erp bot', kind: 'runner', credential_asset_id: asset.id });
    const refused = await api(owner, 'DELETE', `/api/v1/assets/${asset.id}`);
    expectError(refused, 409, 'conflict');
    expect(refused.body.error.message).toContain('"erp bot"');
    await expectStatus(
      api(owner, 'PATCH', `/api/v1/robots/${robot.robot.id}`, { credential_asset_id: null }),
      200,
    );
    await expectStatus(api(owner, 'DELETE', `/api/v1/assets/${asset.id}`), 204);
  });

  it('robots: a viewer reads robots but cannot change them (403)', async () => {
    const owner = await signup(server);
    const robot = await create(owner, { kind: 'runner' });
    const viewer = await addMember(server, owner, 'viewer');
    await expectStatus(api(viewer, 'GET', `/api/v1/robots/${robot.robot.id}`), 200);
    expectError(
      await api(viewer, 'POST', '/api/v1/robots', { name: 'nope', kind: 'runner' }),
      403,
      'forbidden',
    );
    expectError(await api(viewer, 'POST', `/api/v1/robots/${robot.robot.id}/machine-key`), 403, 'forbidden');
    expectError(await api(viewer, 'DELETE', `/api/v1/robots/${robot.robot.id}`), 403, 'forbidden');
  });
});
