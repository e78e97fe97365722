import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  call,
  expectError,
  openApiOperations,
  roleId,
  signup,
  type ApiOperation,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import {
  childIdOf,
  concrete,
  fillOrganisation,
  idKindByPrefix,
  idKindOf,
  type FilledOrg,
} from './filled-org.js';

describe.each(dialects)('access: cross-organisation isolation on %s', (dialect) => {
  let server: TestServer;
  let a: Session;
  let aViewerRoleId: string;
  let aKey: string;
  /** An agent of A, so a script run's body names nothing foreign but the script. */
  let aAgentId: string;
  /** A robot of A, for `{robotId}`: only the foreign asset id can make those routes fail. */
  let aRobotId: string;
  let b: FilledOrg;
  let idOps: ApiOperation[];

  /** A valid body for an operation, so that only the foreign id can make it fail. */
  function bodyFor(op: ApiOperation): unknown {
    if (op.method === 'PATCH' && op.path === '/api/v1/access/roles/{id}') return { description: 'x' };
    if (op.method === 'PUT' && op.path === '/api/v1/access/users/{id}/roles')
      return { role_ids: [aViewerRoleId] };
    if (op.method === 'PATCH' && op.path === '/api/v1/agents/{id}') return { notes: 'x' };
    if (op.method === 'PATCH' && op.path === '/api/v1/agent-groups/{id}') return { description: 'x' };
    if (op.method === 'POST' && op.path === '/api/v1/agents/{id}/jobs')
      return { interpreter: 'sh', command: 'true' };
    if (op.method === 'PATCH' && op.path === '/api/v1/scripts/{id}') return { description: 'x' };
    if (op.method === 'POST' && op.path === '/api/v1/scripts/{id}/run') return { agent_id: aAgentId };
    if (op.method === 'POST' && op.path === '/api/v1/scripts/{id}/execute')
      return { target: { agent_ids: [aAgentId] } };
    if (
      op.method === 'PATCH' &&
      /^\/api\/v1\/(profiles|templates)\/\{id\}(\/tasks\/\{taskId\})?$/.test(op.path)
    )
      return { description: 'x' };
    if (op.method === 'POST' && op.path.endsWith('/tasks')) return { name: 'x', action: 'reboot' };
    if (op.method === 'PUT' && op.path.endsWith('/tasks/order')) return { task_ids: [] };
    if (op.method === 'PUT' && op.path.endsWith('/tasks/bulk')) return { tasks: [] };
    if (op.method === 'POST' && op.path === '/api/v1/profiles/{id}/apply') return { agent_ids: [aAgentId] };
    if (op.method === 'POST' && op.path === '/api/v1/templates/{id}/instantiate') return { name: 'x' };
    if (op.method === 'POST' && /\/(cancel|continue)$/.test(op.path)) return undefined;
    if (op.method === 'POST' && op.path === '/api/v1/agents/{id}/facts/refresh') return undefined;
    if (op.method === 'PATCH' && op.path === '/api/v1/schedules/{id}') return { description: 'x' };
    if (op.method === 'POST' && /^\/api\/v1\/schedules\/\{id\}\/(enable|disable)$/.test(op.path))
      return undefined;
    if (op.method === 'PATCH' && op.path === '/api/v1/robots/{id}') return { description: 'x' };
    if (op.method === 'POST' && /^\/api\/v1\/robots\/\{id\}\/(machine-key|revoke-token)$/.test(op.path))
      return undefined;
    if (op.method === 'POST' && /^\/api\/v1\/packages\/\{id\}\/(activate|deactivate)$/.test(op.path))
      return undefined;
    if (op.method === 'PATCH' && /^\/api\/v1\/(processes|queues|assets|services)\/\{id\}$/.test(op.path))
      return { description: 'x' };
    if (op.method === 'POST' && op.path === '/api/v1/process-jobs/{id}/reassign') return { robot_pool: null };
    if (op.method === 'POST' && op.path === '/api/v1/process-jobs/{id}/status')
      return { status: 'canceled', reason: 'x' };
    if (op.method === 'POST' && op.path === '/api/v1/queues/{id}/items') return { content: { x: 1 } };
    if (op.method === 'POST' && op.path === '/api/v1/queues/{id}/items/bulk')
      return { items: [{ content: { x: 1 } }] };
    if (op.method === 'POST' && op.path === '/api/v1/queues/{id}/items/claim') return undefined;
    if (op.method === 'POST' && op.path === '/api/v1/queue-items/{id}/complete') return { output: { x: 1 } };
    if (op.method === 'POST' && op.path === '/api/v1/queue-items/{id}/fail')
      return { error: { type: 'business', reason: 'x' } };
    if (op.method === 'POST' && op.path === '/api/v1/queue-items/{id}/progress') return { progress: 'x' };
    // B's asset is a credential: a credential's shape, so only the foreign asset id can fail it.
    if (op.method === 'PUT' && /^\/api\/v1\/assets\/\{id\}(\/robots\/\{robotId\})?\/value$/.test(op.path))
      return { value: { username: 'x', password: 'x' } };
    if (op.method === 'PATCH' && op.path === '/api/v1/webhooks/{id}') return { description: 'x' };
    if (
      op.method === 'POST' &&
      /^\/api\/v1\/webhooks\/\{id\}\/(rotate-secret|pause|resume|test|deliveries\/\{deliveryId\}\/redeliver)$/.test(
        op.path,
      )
    )
      return undefined;
    if (op.method === 'PATCH' && /^\/api\/v1\/(alert-rules|notification-channels)\/\{id\}$/.test(op.path))
      return { name: 'x' };
    if (op.method === 'PATCH' && op.path === '/api/v1/silences/{id}') return { reason: 'x' };
    if (
      op.method === 'POST' &&
      /^\/api\/v1\/(alerts\/\{id\}\/acknowledge|notification-channels\/\{id\}\/test)$/.test(op.path)
    )
      return undefined;
    if (op.method === 'POST' || op.method === 'PUT' || op.method === 'PATCH')
      throw new Error(`no valid body known for ${op.method} ${op.path}: add one to bodyFor`);
    return undefined;
  }

  beforeAll(async () => {
    server = await startTestServer(dialect);
    a = await signup(server, 'alpha');
    aViewerRoleId = await roleId(server, a.token, 'viewer');
    const aKeyReply = await call(server, 'POST', '/api/v1/api-keys', {
      token: a.token,
      body: { name: 'alpha admin key', role_id: await roleId(server, a.token, 'admin') },
    });
    aKey = aKeyReply.body.secret;
    const aAgent = await call(server, 'POST', '/api/v1/agents', {
      token: a.token,
      body: { name: 'alpha machine' },
    });
    aAgentId = aAgent.body.agent.id;
    const aRobot = await call(server, 'POST', '/api/v1/robots', {
      token: a.token,
      body: { name: 'alpha runner', kind: 'runner' },
    });
    aRobotId = aRobot.body.robot.id;

    b = await fillOrganisation(server, 'bravo');
    // Routes for agents, runners and deploy scripts take their own credential, never a user's: their
    // isolation is their own.
    idOps = (await openApiOperations(server)).filter(
      (op) =>
        op.path.includes('{id}') &&
        op.permission !== 'agent' &&
        op.permission !== 'robot' &&
        op.permission !== 'deployment',
    );
  });
  afterAll(async () => {
    await server.close();
  });

  it('access: every {id} route has a kind of id in the isolation map', () => {
    expect(idOps.length).toBeGreaterThanOrEqual(11);
    expect(idOps.filter((op) => idKindOf(op.path) === undefined).map((op) => op.path)).toEqual([]);
    // The map is not stale either: every prefix still names a route.
    for (const [prefix] of idKindByPrefix)
      expect(
        idOps.some((op) => op.path.startsWith(prefix)),
        prefix,
      ).toBe(true);
  });

  it('access: B can reach each of its own ids, so the 404s below are about the organisation', async () => {
    for (const op of idOps.filter((o) => o.method === 'GET')) {
      const kind = idKindOf(op.path);
      if (!kind) throw new Error(`unmapped ${op.path}`);
      const reply = await call(server, 'GET', concrete(op.path, b.ids[kind], childIdOf(b, kind)), {
        token: b.owner.token,
      });
      expect(reply.status, `${op.method} ${op.path}`).toBe(200);
    }
  });

  for (const principal of ['session', 'api key'] as const) {
    it(`access: A (by ${principal}) gets 404 on every {id} route called with an id of B`, async () => {
      const auth = principal === 'session' ? { token: a.token } : { apiKey: aKey };
      const wrong: string[] = [];
      const leaks = b.texts;
      for (const op of idOps) {
        const kind = idKindOf(op.path);
        if (!kind) throw new Error(`no id kind mapped for ${op.path}: add its prefix to idKindByPrefix`);
        const body = bodyFor(op);
        const route = concrete(op.path, b.ids[kind], childIdOf(b, kind)).replace('{robotId}', aRobotId);
        const reply = await call(server, op.method, route, {
          ...auth,
          ...(body === undefined ? {} : { body }),
        });
        const text = JSON.stringify(reply.body);
        if (
          reply.status !== 404 ||
          reply.body?.error?.code !== 'not_found' ||
          Object.keys(reply.body).sort().join() !== 'error,request_id' ||
          leaks.some((secret) => text.includes(secret))
        )
          wrong.push(`${op.method} ${op.path} -> ${reply.status} ${text}`);
      }
      expect(wrong).toEqual([]);
    });
  }

  it("access: B's resources are unchanged after A's attempts", async () => {
    const token = b.owner.token;
    const role = await call(server, 'GET', `/api/v1/access/roles/${b.ids.role}`, { token });
    expect(role.status).toBe(200);
    expect(role.body).toEqual(b.role);

    const member = await call(server, 'GET', `/api/v1/access/users/${b.ids.user}`, { token });
    expect(member.status).toBe(200);
    expect(member.body.roles.map((r: { name: string }) => r.name)).toEqual(['operator']);
    const memberMe = await call(server, 'GET', '/api/v1/auth/me', { token: b.member.token });
    expect(memberMe.status).toBe(200);
    expect(memberMe.body.org.id).toBe(b.owner.orgId);

    const invites = await call(server, 'GET', '/api/v1/access/invites', { token });
    expect(invites.body.items.find((i: { id: string }) => i.id === b.ids.invite)?.status).toBe('pending');

    const key = await call(server, 'GET', `/api/v1/api-keys/${b.ids.apiKey}`, { token });
    expect(key.body.revoked_at).toBeNull();
    const keyWorks = await call(server, 'GET', '/api/v1/access/roles', { apiKey: b.apiKeySecret });
    expect(keyWorks.status).toBe(200);

    const event = await call(server, 'GET', `/api/v1/audit/${b.ids.audit}`, { token });
    expect(event.status).toBe(200);

    const script = await call(server, 'GET', `/api/v1/scripts/${b.ids.script}`, { token });
    expect(script.body).toMatchObject({ description: '', content: 'echo bravo again', version: 2 });

    const profile = await call(server, 'GET', `/api/v1/profiles/${b.ids.profile}`, { token });
    expect(profile.body).toMatchObject({ description: '', task_count: 2 });
    expect(profile.body.tasks).toMatchObject([
      { id: b.taskIds.profile, name: 'bravo task', description: '' },
      { name: 'bravo script task', description: '' },
    ]);
    const template = await call(server, 'GET', `/api/v1/templates/${b.ids.template}`, { token });
    expect(template.body).toMatchObject({ description: '', task_count: 1 });
    expect(template.body.tasks).toMatchObject([
      { id: b.taskIds.template, name: 'bravo task', description: '' },
    ]);
    // The one profile run is B's own apply: A's apply and instantiate made nothing.
    const runs = await call(server, 'GET', '/api/v1/runs?limit=200', { token });
    expect(runs.body.items.filter((r: { source: string }) => r.source === 'profile')).toHaveLength(1);
    const profiles = await call(server, 'GET', '/api/v1/profiles?limit=200', { token });
    expect(profiles.body.items.map((p: { id: string }) => p.id)).toEqual([b.ids.profile]);

    const schedule = await call(server, 'GET', `/api/v1/schedules/${b.ids.schedule}`, { token });
    expect(schedule.body).toMatchObject({ name: 'bravo schedule', description: '', enabled: true });

    const pkg = await call(server, 'GET', `/api/v1/packages/${b.ids.package}`, { token });
    expect(pkg.body).toMatchObject({ name: 'bravo-process-bot', active: true });
    const processDef = await call(server, 'GET', `/api/v1/processes/${b.ids.process}`, { token });
    expect(processDef.body).toMatchObject({ description: '', timeout_seconds: 600 });
    const processJob = await call(server, 'GET', `/api/v1/process-jobs/${b.ids.processJob}`, { token });
    expect(processJob.body).toMatchObject({ status: 'queued' });
    const robot = await call(server, 'GET', `/api/v1/robots/${b.ids.robot}`, { token });
    expect(robot.body).toMatchObject({ description: '' });
    const queue = await call(server, 'GET', `/api/v1/queues/${b.ids.queue}`, { token });
    expect(queue.body).toMatchObject({ description: '', active: true });
    // Still the two items B added: A added none, its claim took none and its delete removed none.
    const items = await call(server, 'GET', `/api/v1/queues/${b.ids.queue}/items?limit=200`, { token });
    expect(items.body.items.map((i: { id: string }) => i.id).sort()).toEqual([...b.byKind.queueItem].sort());
    // B's claim took this one: A's complete, fail or progress would each have changed it.
    const item = await call(server, 'GET', `/api/v1/queue-items/${b.ids.queueItem}`, { token });
    expect(item.body).toMatchObject({ status: 'in_progress', progress: null, output: null, error: null });
    const asset = await call(server, 'GET', `/api/v1/assets/${b.ids.asset}`, { token });
    expect(asset.body).toMatchObject({
      description: '',
      global_value: { username: 'bravo-user' },
      robot_value_count: 1,
    });
    const service = await call(server, 'GET', `/api/v1/services/${b.ids.service}`, { token });
    expect(service.body).toMatchObject({ name: 'bravo-service', description: 'bravo recipe' });
    const deployTokens = await call(server, 'GET', '/api/v1/deploy-tokens?limit=200', { token });
    expect(deployTokens.body.items.map((t: { revoked_at: string | null }) => t.revoked_at)).toEqual([
      null,
      null,
    ]);
    // The one that succeeded still did; the running one was neither canceled nor continued.
    const [succeeded, running] = [...b.byKind.deployment];
    const done = await call(server, 'GET', `/api/v1/deployments/${succeeded}`, { token });
    expect(done.body).toMatchObject({
      status: 'succeeded',
      error: null,
      config: { url: 'https://bravo.example' },
    });
    const live = await call(server, 'GET', `/api/v1/deployments/${running}`, { token });
    expect(live.body).toMatchObject({ status: 'running', error: null, current_batch: 0 });
    const sdkTokens = await call(server, 'GET', '/api/v1/sdk/tokens', { token });
    expect(sdkTokens.body.items.map((t: { revoked_at: string | null }) => t.revoked_at)).toEqual([null]);

    // A wrote nothing into B's audit log.
    const bAudit = await call(server, 'GET', `/api/v1/audit?actor_id=${a.userId}`, { token });
    expect(bAudit.body.items).toEqual([]);
  });

  it("access: A cannot use B's role id in its own invites, keys or member roles (422, nothing created)", async () => {
    const aMember = await addMember(server, a, 'viewer');
    const invite = await call(server, 'POST', '/api/v1/access/invites', {
      token: a.token,
      body: { email: 'x@alpha.test', role_id: b.ids.role },
    });
    expectError(invite, 422, 'unprocessable');
    const key = await call(server, 'POST', '/api/v1/api-keys', {
      token: a.token,
      body: { name: 'stolen role', role_id: b.ids.role },
    });
    expectError(key, 422, 'unprocessable');
    const roles = await call(server, 'PUT', `/api/v1/access/users/${aMember.userId}/roles`, {
      token: a.token,
      body: { role_ids: [b.ids.role] },
    });
    expectError(roles, 422, 'unprocessable');
    const after = await call(server, 'GET', `/api/v1/access/users/${aMember.userId}/roles`, {
      token: a.token,
    });
    expect(after.body.items.map((r: { name: string }) => r.name)).toEqual(['viewer']);
  });

  it("access: A cannot name B's robots, agents or processes in its own assets, robots and jobs", async () => {
    const auth = { token: a.token };
    const bRunnerId = [...b.byKind.robot].find((id) => id !== b.ids.robot)!;
    const asset = await call(server, 'POST', '/api/v1/assets', {
      ...auth,
      body: { name: 'alpha-text', type: 'text', value: 'alpha' },
    });
    expect(asset.status).toBe(201);
    const put = await call(server, 'PUT', `/api/v1/assets/${asset.body.id}/robots/${bRunnerId}/value`, {
      ...auth,
      body: { value: 'stolen' },
    });
    const del = await call(
      server,
      'DELETE',
      `/api/v1/assets/${asset.body.id}/robots/${bRunnerId}/value`,
      auth,
    );
    const agentRobot = await call(server, 'POST', '/api/v1/robots', {
      ...auth,
      body: { name: 'alpha on bravo', kind: 'agent', agent_id: b.ids.agent },
    });
    const job = await call(server, 'POST', '/api/v1/process-jobs', {
      ...auth,
      body: { process_id: b.ids.process },
    });
    const jobOnRobot = await call(server, 'POST', '/api/v1/process-jobs', {
      ...auth,
      body: { process_id: b.ids.process, robot_id: bRunnerId },
    });
    expectError(put, 404, 'not_found');
    expectError(del, 404, 'not_found');
    expectError(agentRobot, 422, 'unprocessable');
    // process_id is what the job runs, so the service answers "process not found" (404), not a 422.
    expectError(job, 404, 'not_found');
    expectError(jobOnRobot, 404, 'not_found');
    for (const reply of [put, del, agentRobot, job, jobOnRobot])
      expect(b.texts.filter((text) => JSON.stringify(reply.body).includes(text))).toEqual([]);

    const after = await call(server, 'GET', `/api/v1/assets/${asset.body.id}`, auth);
    expect(after.body).toMatchObject({ robot_value_count: 0, robot_values: [] });
    const robots = await call(server, 'GET', '/api/v1/robots?limit=200', auth);
    expect(robots.body.items.map((r: { id: string }) => r.id)).toEqual([aRobotId]);
    const jobs = await call(server, 'GET', '/api/v1/process-jobs?limit=200', auth);
    expect(jobs.body.items).toEqual([]);
    const bAsset = await call(server, 'GET', `/api/v1/assets/${b.ids.asset}`, { token: b.owner.token });
    expect(bAsset.body.robot_values.map((v: { robot_id: string }) => v.robot_id)).toEqual([bRunnerId]);
  });

  it("access: A cannot open a session in B's organisation", async () => {
    const switched = await call(server, 'POST', '/api/v1/auth/switch-org', {
      token: a.token,
      body: { org_id: b.owner.orgId },
    });
    expectError(switched, 404, 'not_found');
    const login = await call(server, 'POST', '/api/v1/auth/login', {
      body: { email: a.email, password: a.password, org_id: b.owner.orgId },
    });
    expect(login.status).toBe(403);
    expect(login.body.access_token).toBeUndefined();
  });
});
