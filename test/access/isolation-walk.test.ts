import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  call,
  expectError,
  expectStatus,
  openApiOperations,
  roleId,
  type ApiOperation,
  type Reply,
} from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import {
  CHILD_PARAMS,
  childIdOf,
  concrete,
  fillOrganisation,
  ID_KINDS,
  idKindOf,
  uuidsIn,
  type FilledOrg,
  type IdKind,
} from './filled-org.js';

/**
 * The kinds of id each query filter takes. A filter named `*_id` or typed `uuid` that is not here
 * fails the walk, so a new filter is called with foreign ids from its first day.
 */
const filterKinds: Record<string, readonly IdKind[]> = {
  agent_id: ['agent'],
  robot_id: ['robot'],
  process_id: ['process'],
  run_id: ['run'],
  group_id: ['agentGroup'],
  service_id: ['service'],
  rule_id: ['alertRule'],
  // Users, API keys, schedules, agents, robots and deploy tokens all act in the audit log.
  actor_id: ['user', 'apiKey', 'schedule', 'agent', 'robot', 'deployToken'],
  entity_id: ID_KINDS,
  request_id: ['request'],
};

const takesId = (param: ApiOperation['query'][number]) =>
  param.name.endsWith('_id') || param.format === 'uuid';
const hasPathParams = (op: ApiOperation) => op.path.includes('{');

/** The route of a GET without path parameters; a list asks for a page as large as allowed. */
function plainRoute(op: ApiOperation, query: Record<string, string> = {}): string {
  const params = new URLSearchParams({ ...(op.returnsList ? { limit: '200' } : {}), ...query });
  const text = params.toString();
  return text ? `${op.path}?${text}` : op.path;
}

/** Runs calls a few at a time: there are thousands, and the machine is small. */
async function inBatches<T>(items: T[], run: (item: T) => Promise<void>, size = 8): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

describe.each(dialects)('access: exhaustive isolation walk over the OpenAPI document on %s', (dialect) => {
  let server: TestServer;
  let clock: TestClock;
  /** The caller. It holds one of everything too, so a list that forgot its organisation mixes rows. */
  let a: FilledOrg;
  let aAdminKey: string;
  let b: FilledOrg;
  /** Every GET a user's credential may call: what A could read B's data through. */
  let reads: ApiOperation[];
  /** Every id of B: those it created and every id anywhere in its own answers. */
  let bIds: Set<string>;

  /** What is wrong with an answer A got: an id or a name of B in it, or a server error. */
  function leakIn(reply: Reply): string | undefined {
    const text = JSON.stringify(reply.body);
    const ids = uuidsIn(reply.body).filter((id) => bIds.has(id));
    const texts = b.texts.filter((t) => text.includes(t));
    if (ids.length > 0 || texts.length > 0) return `shows B's ${[...new Set(ids), ...texts].join(', ')}`;
    if (reply.status >= 500) return `server error ${text}`;
    return undefined;
  }

  /** B's own answers on every GET route: the ids B can see are B's. */
  async function answersOfB(): Promise<Reply[]> {
    const replies: Reply[] = [];
    const token = b.owner.token;
    for (const op of reads) {
      if (!hasPathParams(op)) {
        replies.push(await call(server, 'GET', plainRoute(op), { token }));
        continue;
      }
      const kind = idKindOf(op.path);
      if (!kind) throw new Error(`no id kind mapped for ${op.path}`);
      for (const id of b.byKind[kind])
        replies.push(await call(server, 'GET', concrete(op.path, id, childIdOf(b, kind, id)), { token }));
    }
    return replies;
  }

  beforeAll(async () => {
    clock = new TestClock();
    server = await startTestServer(dialect, { clock });
    // Routes for agents, runners and deploy scripts take their own credential, never a user's: their
    // isolation is their own (a runner's token reads only its own robot, below; a deploy script's
    // token reports on its own deployment only). Public routes answer anyone alike: nothing of an
    // organisation is theirs to show.
    reads = (await openApiOperations(server)).filter(
      (op) =>
        op.method === 'GET' &&
        op.permission !== 'public' &&
        op.permission !== 'agent' &&
        op.permission !== 'robot' &&
        op.permission !== 'deployment' &&
        // a new machine's installer, fetched with an enrollment token: it shows that token only
        op.permission !== 'enrollment',
    );
    // B's ids are read while B is alone on the server, so a route that forgot its organisation
    // cannot slip A's ids among them.
    b = await fillOrganisation(server, 'bravo');
    const answers = await answersOfB();
    expect(
      answers.filter((r) => r.status !== 200).map((r) => `${r.status} ${JSON.stringify(r.body)}`),
    ).toEqual([]);
    bIds = new Set([
      ...ID_KINDS.flatMap((kind) => [...b.byKind[kind]]),
      ...answers.flatMap((r) => uuidsIn(r.body)),
    ]);
    a = await fillOrganisation(server, 'alpha');
    const key = await call(server, 'POST', '/api/v1/api-keys', {
      token: a.owner.token,
      body: { name: 'alpha admin key', role_id: await roleId(server, a.owner.token, 'admin') },
    });
    aAdminKey = key.body.secret;
  });
  afterAll(async () => {
    await server.close();
  });

  it('access: the walk has something to find, and B, called again, shows no id of A', async () => {
    expect(reads.filter((op) => op.returnsList && !hasPathParams(op)).length).toBeGreaterThanOrEqual(14);
    // B's answers hold ids it never created itself (built-in roles, jobs of its runs): found, not listed.
    const created = new Set(ID_KINDS.flatMap((kind) => [...b.byKind[kind]]));
    expect([...bIds].filter((id) => !created.has(id)).length).toBeGreaterThan(5);
    const aIds = new Set(ID_KINDS.flatMap((kind) => [...a.byKind[kind]]));
    const seen = (await answersOfB()).flatMap((r) => uuidsIn(r.body));
    expect([...new Set(seen.filter((id) => aIds.has(id)))]).toEqual([]);
  });

  it('access: every id filter of every GET route names the kinds of id it takes', () => {
    const filters = reads.flatMap((op) => op.query.filter(takesId).map((q) => `${op.path}?${q.name}`));
    expect(filters.filter((f) => !(f.split('?')[1]! in filterKinds))).toEqual([]);
    // Not stale either: every filter named here is still somewhere.
    for (const name of Object.keys(filterKinds))
      expect(
        filters.some((f) => f.endsWith(`?${name}`)),
        name,
      ).toBe(true);
  });

  it("access: A cannot name B's ids in the bodies of its own writes (404 or 422, nothing of B shown)", async () => {
    const agent = b.ids.agent;
    const own = {
      agent: a.ids.agent,
      script: a.ids.script,
      profile: a.ids.profile,
      template: a.ids.template,
    };
    const job = { interpreter: 'sh', command: 'true' };
    const serviceOn = (runsOn: object) => ({
      name: 'alpha-stray',
      script: { interpreter: 'sh', content: 'true' },
      steps: ['one'],
      runs_on: runsOn,
    });
    const scriptAction = { kind: 'script', script_id: b.ids.script };
    const writes: [method: string, route: string, body: unknown][] = [
      ['POST', '/api/v1/runs', { target: { agent_ids: [agent] }, job }],
      ['POST', '/api/v1/runs', { target: { group_id: b.ids.agentGroup }, job }],
      ['POST', '/api/v1/agents', { name: 'alpha stray', group_id: b.ids.agentGroup }],
      ['PATCH', `/api/v1/agents/${own.agent}`, { group_id: b.ids.agentGroup }],
      ['PATCH', `/api/v1/agents/${own.agent}`, { profile_id: b.ids.profile }],
      ['POST', '/api/v1/agent-groups', { name: 'alpha stray', auto_profile_id: b.ids.profile }],
      ['PATCH', `/api/v1/agent-groups/${a.ids.agentGroup}`, { auto_profile_id: b.ids.profile }],
      ['POST', '/api/v1/enrollment-tokens', { name: 'alpha stray', group_id: b.ids.agentGroup }],
      ['POST', `/api/v1/scripts/${own.script}/run`, { agent_id: agent }],
      ['POST', `/api/v1/scripts/${own.script}/execute`, { target: { agent_ids: [agent] } }],
      ['POST', `/api/v1/profiles/${own.profile}/apply`, { agent_ids: [agent] }],
      ['POST', `/api/v1/profiles/${own.profile}/apply`, { target: { group_id: b.ids.agentGroup } }],
      [
        'POST',
        `/api/v1/profiles/${own.profile}/tasks`,
        { name: 'stray', action: 'script', script_id: b.ids.script },
      ],
      [
        'POST',
        `/api/v1/templates/${own.template}/tasks`,
        { name: 'stray', action: 'script', script_id: b.ids.script },
      ],
      ['PUT', `/api/v1/profiles/${own.profile}/tasks/order`, { task_ids: [...b.byKind.task] }],
      [
        'POST',
        '/api/v1/profiles',
        { name: 'alpha stray', tasks: [{ name: 'stray', action: 'script', script_id: b.ids.script }] },
      ],
      [
        'POST',
        '/api/v1/schedules',
        { name: 'stray 1', action: scriptAction, target: { agent_ids: [own.agent] }, interval_seconds: 3600 },
      ],
      [
        'POST',
        '/api/v1/schedules',
        {
          name: 'stray 2',
          action: { kind: 'profile', profile_id: b.ids.profile },
          target: { agent_ids: [own.agent] },
          interval_seconds: 3600,
        },
      ],
      ['POST', '/api/v1/auth/switch-org', { org_id: b.owner.orgId }],
      ['POST', '/api/v1/robots', { name: 'alpha stray', kind: 'agent', agent_id: agent }],
      ['PATCH', `/api/v1/robots/${a.ids.robot}`, { agent_id: agent }],
      [
        'PUT',
        `/api/v1/assets/${a.ids.asset}/robots/${b.ids.robot}/value`,
        { value: { username: 'u', password: 'p' } },
      ],
      ['POST', '/api/v1/services', serviceOn({ type: 'agent', agent_id: agent })],
      ['POST', '/api/v1/services', serviceOn({ type: 'selector', selector: { group_id: b.ids.agentGroup } })],
      ['PATCH', `/api/v1/services/${a.ids.service}`, { runs_on: { type: 'agent', agent_id: agent } }],
      [
        'POST',
        '/api/v1/deploy-tokens',
        { kind: 'service', service_id: b.ids.service, origin: 'ci', expires_in_days: 1 },
      ],
      ['POST', '/api/v1/deployments', { service_id: b.ids.service }],
      ['POST', '/api/v1/deployments', { service: 'bravo-service' }],
    ];
    const wrong: string[] = [];
    for (const [method, route, body] of writes) {
      const reply = await call(server, method, route, { token: a.owner.token, body });
      const problem =
        leakIn(reply) ?? (reply.status !== 404 && reply.status !== 422 ? `${reply.status}` : undefined);
      if (problem)
        wrong.push(`${method} ${route} ${JSON.stringify(body)} -> ${problem} ${JSON.stringify(reply.body)}`);
    }
    expect(wrong).toEqual([]);
  });

  for (const principal of ['session', 'api key'] as const) {
    it(`access: A (by ${principal}) sees no id of B on any GET route without a path id, plain or filtered by B's ids`, async () => {
      const auth = principal === 'session' ? { token: a.owner.token } : { apiKey: aAdminKey };
      const routes: { route: string; plain: boolean }[] = [];
      for (const op of reads.filter((o) => !hasPathParams(o))) {
        routes.push({ route: plainRoute(op), plain: true });
        for (const param of op.query.filter(takesId))
          for (const kind of filterKinds[param.name] ?? [])
            for (const id of b.byKind[kind])
              routes.push({ route: plainRoute(op, { [param.name]: id }), plain: false });
      }
      expect(routes.length).toBeGreaterThan(100);
      const wrong: string[] = [];
      await inBatches(routes, async ({ route, plain }) => {
        const reply = await call(server, 'GET', route, auth);
        const problem = leakIn(reply) ?? (plain && reply.status !== 200 ? `${reply.status}` : undefined);
        if (problem) wrong.push(`GET ${route} -> ${problem}`);
      });
      expect(wrong).toEqual([]);
    });
  }

  it("access: every GET route with a path id answers 404 to each of B's ids, in each id of the path", async () => {
    // Request ids name no row; every other id of B goes in every slot.
    const ids = [...bIds].filter((id) => !b.byKind.request.has(id));
    const routes: string[] = [];
    for (const op of reads.filter(hasPathParams)) {
      const kind = idKindOf(op.path);
      if (!kind) throw new Error(`no id kind mapped for ${op.path}`);
      for (const id of ids) routes.push(concrete(op.path, id, childIdOf(b, kind)));
      // A foreign task under A's own profile or template, a foreign target under A's own deployment.
      if (CHILD_PARAMS.test(op.path)) for (const id of ids) routes.push(concrete(op.path, a.ids[kind], id));
    }
    expect(routes.length).toBeGreaterThan(1000);
    const wrong: string[] = [];
    await inBatches(routes, async (route) => {
      const reply = await call(server, 'GET', route, { token: a.owner.token });
      const problem =
        leakIn(reply) ??
        (reply.status !== 404 || reply.body?.error?.code !== 'not_found' ? `${reply.status}` : undefined);
      if (problem) wrong.push(`GET ${route} -> ${problem}`);
    });
    expect(wrong).toEqual([]);
  });
  it("access: A's runner robot, by its token, sees its own robot and nothing of B on every robot route", async () => {
    const robotReads = (await openApiOperations(server)).filter(
      (op) => op.method === 'GET' && op.permission === 'robot',
    );
    expect(robotReads.map((op) => op.path)).toContain('/api/v1/runner/me');
    const wrong: string[] = [];
    const forms: Record<string, string>[] = [
      { 'x-robot-token': a.robotToken },
      { authorization: `Bearer ${a.robotToken}` },
    ];
    for (const op of robotReads.filter((o) => !hasPathParams(o)))
      for (const headers of forms) {
        const reply = await call(server, 'GET', plainRoute(op), { headers });
        const problem = leakIn(reply) ?? (reply.status !== 200 ? `${reply.status}` : undefined);
        if (problem) wrong.push(`GET ${op.path} -> ${problem}`);
      }
    // A path parameter (an id, a name) given one of B's ids or names finds nothing.
    const foreignValues = [...[...bIds].filter((id) => !b.byKind.request.has(id)), ...b.texts];
    await inBatches(robotReads.filter(hasPathParams), async (op) => {
      for (const value of foreignValues) {
        const route = op.path.replace(/\{[^}]+\}/g, encodeURIComponent(value));
        const reply = await call(server, 'GET', route, { headers: { 'x-robot-token': a.robotToken } });
        const problem = leakIn(reply) ?? (reply.status !== 404 ? `${reply.status}` : undefined);
        if (problem) wrong.push(`GET ${route} -> ${problem}`);
      }
    });
    expect(wrong).toEqual([]);
    const me = await call(server, 'GET', '/api/v1/runner/me', { headers: { 'x-robot-token': a.robotToken } });
    expect(a.byKind.robot.has(me.body.id)).toBe(true);
    // Nor is a robot token a user's credential: B's robot is 401 to it, not 404.
    const foreign = await call(server, 'GET', `/api/v1/robots/${b.ids.robot}`, {
      headers: { 'x-robot-token': a.robotToken },
    });
    expect(foreign.status).toBe(401);
  });

  it("access: A's deploy script, by its deployment token, reports on its own deployment only, never on B's", async () => {
    const script = (method: string, route: string, body: unknown, token = a.deploymentToken) =>
      call(server, method, route, { token, body });
    const wrong: string[] = [];
    for (const deploymentId of b.byKind.deployment) {
      const replies = [
        await script('POST', '/api/v1/steps', {
          name: 'alpha step',
          state: 'running',
          deployment_id: deploymentId,
        }),
        await script('PUT', '/api/v1/deployments/finish', { status: 'failure', deployment_id: deploymentId }),
      ];
      for (const reply of replies) {
        // The same answer as for another deployment of A's own: nothing says B's exists.
        const problem = leakIn(reply) ?? (reply.status !== 403 ? `${reply.status}` : undefined);
        if (problem) wrong.push(`${deploymentId} -> ${problem} ${JSON.stringify(reply.body)}`);
      }
    }
    expect(wrong).toEqual([]);
    // Nor is it a user's credential: B's deployment is 401 to it, not 404.
    expectError(
      await script('GET', `/api/v1/deployments/${b.ids.deployment}`, undefined),
      401,
      'unauthorized',
    );
    // Its own report is taken, on A's deployment: the refusals above were about B.
    const own = await script('POST', '/api/v1/steps', { name: 'alpha step', state: 'running' });
    expect(own.status, JSON.stringify(own.body)).toBe(200);
    const bDeployment = await expectStatus(
      call(server, 'GET', `/api/v1/deployments/${[...b.byKind.deployment][1]}`, { token: b.owner.token }),
      200,
    );
    expect(bDeployment.targets[0].steps.map((step: { name: string }) => step.name)).toEqual(['bravo build']);
  });

  it("access: B's service and config tokens cannot start, read or discover A's deployments", async () => {
    const service = (method: string, route: string, body?: unknown) =>
      call(server, method, route, { token: b.serviceTokenSecret, body });
    const before = await expectStatus(
      call(server, 'GET', '/api/v1/deployments?limit=200', { token: a.owner.token }),
      200,
    );
    // A's service and deployment are as unknown to it as any id it has no right to.
    expectError(
      await service('POST', '/api/v1/deployments', { service_id: a.ids.service }),
      403,
      'forbidden',
    );
    expectError(await service('POST', '/api/v1/deployments', { service: 'alpha-service' }), 403, 'forbidden');
    for (const id of a.byKind.deployment) {
      expectError(await service('GET', `/api/v1/deployments/${id}`), 404, 'not_found');
      expectError(await service('POST', `/api/v1/deployments/${id}/cancel`), 404, 'not_found');
      expectError(await service('POST', `/api/v1/deployments/${id}/continue`), 404, 'not_found');
      expectError(
        await service('GET', `/api/v1/deployments/${id}/targets/${a.targetIds[id]}/output`),
        404,
        'not_found',
      );
    }
    expectError(await service('GET', `/api/v1/deployments?service_id=${a.ids.service}`), 403, 'forbidden');
    const listed = await expectStatus(service('GET', '/api/v1/deployments?limit=200'), 200);
    expect(listed.items.map((d: { id: string }) => d.id).sort()).toEqual([...b.byKind.deployment].sort());
    // B's config token discovers B's services only.
    const discovered = await expectStatus(
      call(server, 'GET', '/api/v1/deployed-services', { token: b.configTokenSecret }),
      200,
    );
    expect(discovered.items.map((d: { service_id: string }) => d.service_id)).toEqual([b.ids.service]);
    expect(uuidsIn(discovered).filter((id) => !bIds.has(id))).toEqual([]);
    const after = await expectStatus(
      call(server, 'GET', '/api/v1/deployments?limit=200', { token: a.owner.token }),
      200,
    );
    expect(after.items).toEqual(before.items);
  });

  it("access: a removed member's session can no longer start or read deployments", async () => {
    const member = await addMember(server, a.owner, 'operator');
    const asMember = (method: string, route: string, body?: unknown) =>
      call(server, method, route, { token: member.token, body });
    await expectStatus(asMember('GET', `/api/v1/deployments/${a.ids.deployment}`), 200);
    await expectStatus(
      call(server, 'DELETE', `/api/v1/access/users/${member.userId}`, { token: a.owner.token }),
      204,
    );
    const before = await expectStatus(
      call(server, 'GET', '/api/v1/deployments?limit=200', { token: a.owner.token }),
      200,
    );
    for (const reply of [
      await asMember('POST', '/api/v1/deployments', { service_id: a.ids.service }),
      await asMember('GET', '/api/v1/deployments'),
      await asMember('GET', `/api/v1/deployments/${a.ids.deployment}`),
      await asMember('POST', `/api/v1/deployments/${a.ids.deployment}/cancel`),
      await asMember('GET', '/api/v1/deployed-services'),
    ])
      expectError(reply, 401, 'unauthorized');
    const after = await expectStatus(
      call(server, 'GET', '/api/v1/deployments?limit=200', { token: a.owner.token }),
      200,
    );
    expect(after.items).toEqual(before.items);
  });

  it("access: a schedule of A cannot name B's agent or group in its target, on create or on edit", async () => {
    const targets = [{ agent_ids: [b.ids.agent] }, { group_id: b.ids.agentGroup }];
    const schedule = (name: string, target: object) => ({
      name,
      action: { kind: 'script', script_id: a.ids.script },
      target,
      interval_seconds: 60,
    });
    const own = await call(server, 'POST', '/api/v1/schedules', {
      token: a.owner.token,
      body: schedule('own target', { all: true }),
    });
    expect(own.status).toBe(201);
    for (const [index, target] of targets.entries()) {
      const created = await call(server, 'POST', '/api/v1/schedules', {
        token: a.owner.token,
        body: schedule(`stray ${index}`, target),
      });
      const edited = await call(server, 'PATCH', `/api/v1/schedules/${own.body.id}`, {
        token: a.owner.token,
        body: { target },
      });
      for (const reply of [created, edited]) {
        expect(reply.status).toBe(422);
        expect(reply.body.error.details[0].field).toMatch(/^target\./);
        expect(leakIn(reply)).toBeUndefined();
      }
    }
    const kept = await call(server, 'GET', `/api/v1/schedules/${own.body.id}`, { token: a.owner.token });
    expect(kept.body.target).toEqual({ all: true });
    await call(server, 'DELETE', `/api/v1/schedules/${own.body.id}`, { token: a.owner.token });
  });
});
