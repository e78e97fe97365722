import { randomUUID } from 'node:crypto';
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

/** Methods that change state; they are also the ones sent with a body. */
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The path with every `{param}` replaced by a fresh UUID: a plausible id that names nothing. */
function concrete(path: string): string {
  return path.replace(/\{[^}]+\}/g, () => randomUUID());
}

function label(op: ApiOperation): string {
  return `${op.method} ${op.path}`;
}

/** Calls an operation as a client would, with `{}` as the body where a body is expected. */
function callOperation(server: TestServer, op: ApiOperation, auth: { token?: string; apiKey?: string }) {
  return call(server, op.method, concrete(op.path), {
    ...auth,
    ...(MUTATING.has(op.method) ? { body: {} } : {}),
  });
}

/** Runs every call, then fails once listing every operation that answered something unexpected. */
async function expectEvery(
  ops: ApiOperation[],
  run: (op: ApiOperation) => Promise<{ status: number; body: any }>,
  expected: (op: ApiOperation) => { status: number; code: string },
): Promise<void> {
  const wrong: string[] = [];
  for (const op of ops) {
    const reply = await run(op);
    const want = expected(op);
    const shapeOk =
      reply.body?.error?.code === want.code &&
      typeof reply.body?.error?.message === 'string' &&
      Array.isArray(reply.body?.error?.details) &&
      typeof reply.body?.request_id === 'string' &&
      Object.keys(reply.body).sort().join() === 'error,request_id';
    if (reply.status !== want.status || !shapeOk)
      wrong.push(`${label(op)} -> ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  expect(wrong).toEqual([]);
}

/**
 * Operations any signed-in user may call whatever their roles: the guard checks no permission, so
 * the 403 walks below skip them. Each was reviewed; a route marked `authenticated` by mistake
 * (a mutation that forgot its permission) fails the test below until someone reviews it here.
 */
const AUTHENTICATED: Record<string, string> = {
  'GET /api/v1/system/info': 'version and enabled features; nothing of the organisation',
  'GET /api/v1/auth/me': "the caller's own user, organisations, roles and permissions",
  'POST /api/v1/auth/logout': "ends the caller's own session",
  'POST /api/v1/auth/password': "changes the caller's own password, given the current one",
  'POST /api/v1/auth/switch-org': 'a session in another organisation the caller is a member of',
  'GET /api/v1/orgs': 'the organisations the caller is a member of',
  'POST /api/v1/orgs': 'a new organisation, which the caller owns; nothing of the current one',
  'GET /api/v1/access/permissions': 'the catalogue of permissions, the same for everyone',
  'POST /api/v1/sdk/device/confirm': "an SDK sign-in for the caller's own user, or its denial",
  'GET /api/v1/sdk/tokens': "the caller's own SDK tokens, masked",
  'DELETE /api/v1/sdk/tokens/{id}': "revokes one of the caller's own SDK tokens",
  'GET /api/v1/agent-builds': "the instance's agent executables: versions and hashes, the same for everyone",
};

/** Operations open without credentials, reviewed likewise: the 401 walks below skip them. */
const PUBLIC: Record<string, string> = {
  'GET /health': 'liveness probe',
  'GET /ready': 'readiness probe',
  'POST /api/v1/auth/signup': 'a new user and organisation, or joining one with an invite token',
  'POST /api/v1/auth/login': 'trades a password for a session',
  'POST /api/v1/auth/token': 'the same, for tools (OAuth2 password and refresh grants)',
  'POST /api/v1/auth/refresh': 'trades a refresh token for new tokens',
  'POST /api/v1/auth/password-reset': 'mails a reset token; answers the same for any email',
  'POST /api/v1/auth/password-reset/confirm': 'sets a password with a reset token',
  'POST /api/v1/agent/register': 'an agent trades an enrollment token or machine key for its credential',
  'POST /api/v1/runner/register': "a runner trades its robot's name and one-time machine key for its token",
  'POST /api/v1/sdk/device/start': 'an SDK asks to sign in; nothing is granted until a user confirms',
  'POST /api/v1/sdk/device/token': 'an SDK trades its device code, once a user confirmed it, for its token',
  'GET /api/v1/agent-builds/{os}/{arch}/download':
    'an agent executable for a new machine, which holds no credential yet; the executable holds no secret',
};

describe.each(dialects)('access: RBAC walk over the OpenAPI document on %s', (dialect) => {
  let server: TestServer;
  let ops: ApiOperation[];
  let owner: Session;
  let viewer: Session;
  /** Every permission of the catalogue (`artifact:action`): what a role can grant. */
  let catalogue: Set<string>;

  /** Operations that a user's permission guards: not public, not any signed-in user, not agents, runners or deploy scripts. */
  const guarded = (op: ApiOperation) => catalogue.has(op.permission ?? '');
  const guardedMutations = () => ops.filter((op) => MUTATING.has(op.method) && guarded(op));

  beforeAll(async () => {
    server = await startTestServer(dialect);
    ops = await openApiOperations(server);
    owner = await signup(server);
    viewer = await addMember(server, owner, 'viewer');
    const permissions = await call(server, 'GET', '/api/v1/access/permissions', { token: owner.token });
    catalogue = new Set(
      Object.entries(permissions.body.artifacts as Record<string, string[]>).flatMap(([artifact, actions]) =>
        actions.map((action) => `${artifact}:${action}`),
      ),
    );
  });
  afterAll(async () => {
    await server.close();
  });

  /** A deploy token of the owner's: its secret. */
  async function deployToken(body: { kind: 'service' | 'config'; service_id?: string }): Promise<string> {
    const reply = await call(server, 'POST', '/api/v1/deploy-tokens', {
      token: owner.token,
      body: { origin: 'ci', expires_in_days: 1, ...body },
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    return reply.body.secret;
  }

  it('access: every operation declares an x-permission of the catalogue and the walk is not vacuous', () => {
    expect(ops.length).toBeGreaterThan(20);
    expect(ops.filter((op) => typeof op.permission !== 'string').map(label)).toEqual([]);
    // Nothing but the principal classes and real permissions: a typo would lock a route for everyone.
    const classes = new Set(['public', 'authenticated', 'agent', 'robot', 'deployment', 'enrollment']);
    expect(ops.filter((op) => !classes.has(op.permission ?? '') && !guarded(op)).map(label)).toEqual([]);
    const protectedOps = ops.filter((op) => op.permission !== 'public');
    expect(protectedOps.length).toBeGreaterThan(20);
    expect(guardedMutations().length).toBeGreaterThan(10);
    // The walk must reach the routes that matter most, whatever else is added later.
    expect(ops.map(label)).toEqual(
      expect.arrayContaining([
        'POST /api/v1/access/roles',
        'DELETE /api/v1/access/users/{id}',
        'PUT /api/v1/settings/email',
        'GET /api/v1/audit',
      ]),
    );
  });

  it('access: only the reviewed operations are open to any signed-in user, or to anyone', () => {
    const declared = (permission: string) =>
      ops
        .filter((op) => op.permission === permission)
        .map(label)
        .sort();
    expect(declared('authenticated')).toEqual(Object.keys(AUTHENTICATED).sort());
    expect(declared('public')).toEqual(Object.keys(PUBLIC).sort());
  });

  it('access: a member whose role grants nothing passes the guard of every authenticated read', async () => {
    const role = await call(server, 'POST', '/api/v1/access/roles', {
      token: owner.token,
      body: { name: 'nothing', permissions: [] },
    });
    expect(role.status, JSON.stringify(role.body)).toBe(201);
    const member = await addMember(server, owner, 'nothing');
    const reads = ops.filter((op) => op.method === 'GET' && op.permission === 'authenticated');
    expect(reads.length).toBeGreaterThanOrEqual(3);
    const wrong: string[] = [];
    for (const op of reads) {
      const reply = await callOperation(server, op, { token: member.token });
      if (reply.status !== 200) wrong.push(`${label(op)} -> ${reply.status}`);
    }
    expect(wrong).toEqual([]);
  });

  it('access: every non-public operation answers 401 unauthorized to an anonymous caller', async () => {
    const protectedOps = ops.filter((op) => op.permission !== 'public');
    await expectEvery(
      protectedOps,
      (op) => callOperation(server, op, {}),
      () => ({ status: 401, code: 'unauthorized' }),
    );
  });

  it('access: every non-public operation answers 401 to a forged bearer token and a bogus API key', async () => {
    const protectedOps = ops.filter((op) => op.permission !== 'public');
    const forged = `${owner.token.slice(0, -4)}AAAA`;
    await expectEvery(
      protectedOps,
      (op) => callOperation(server, op, { token: forged }),
      () => ({ status: 401, code: 'unauthorized' }),
    );
    await expectEvery(
      protectedOps,
      (op) => callOperation(server, op, { apiKey: `fpk_${'x'.repeat(43)}` }),
      () => ({ status: 401, code: 'unauthorized' }),
    );
  });

  it('access: a viewer gets 403 forbidden on every mutating operation that needs a permission', async () => {
    await expectEvery(
      guardedMutations(),
      (op) => callOperation(server, op, { token: viewer.token }),
      () => ({ status: 403, code: 'forbidden' }),
    );
  });

  it('access: an API key with the viewer role gets 403 on every mutating operation that needs a permission', async () => {
    const key = await call(server, 'POST', '/api/v1/api-keys', {
      token: owner.token,
      body: { name: 'viewer key', role_id: await roleId(server, owner.token, 'viewer') },
    });
    expect(key.status).toBe(201);
    await expectEvery(
      guardedMutations(),
      (op) => callOperation(server, op, { apiKey: key.body.secret }),
      () => ({ status: 403, code: 'forbidden' }),
    );
  });

  it('access: service and config tokens get 403 on every mutating operation beyond deployments:execute', async () => {
    const agent = await call(server, 'POST', '/api/v1/agents', {
      token: owner.token,
      body: { name: 'rbac machine' },
    });
    expect(agent.status).toBe(201);
    const service = await call(server, 'POST', '/api/v1/services', {
      token: owner.token,
      body: {
        name: 'rbac-service',
        script: { interpreter: 'sh', content: 'true' },
        steps: ['one'],
        runs_on: { type: 'agent', agent_id: agent.body.agent.id },
      },
    });
    expect(service.status, JSON.stringify(service.body)).toBe(201);
    const serviceToken = await deployToken({ kind: 'service', service_id: service.body.id });
    const configToken = await deployToken({ kind: 'config' });
    const beyond = guardedMutations().filter((op) => op.permission !== 'deployments:execute');
    expect(beyond.length).toBeLessThan(guardedMutations().length);
    for (const token of [serviceToken, configToken])
      await expectEvery(
        token === configToken ? guardedMutations() : beyond,
        (op) => callOperation(server, op, { token }),
        () => ({ status: 403, code: 'forbidden' }),
      );
  });

  it('access: a viewer passes the guard on exactly the read operations whose permission it holds', async () => {
    const me = await call(server, 'GET', '/api/v1/auth/me', { token: viewer.token });
    expect(me.status).toBe(200);
    const held = new Set<string>(me.body.permissions);
    expect(held.has('audit:read')).toBe(false);
    const reads = ops.filter((op) => op.method === 'GET' && guarded(op));
    const wrong: string[] = [];
    for (const op of reads) {
      const reply = await callOperation(server, op, { token: viewer.token });
      const mayRead = held.has(op.permission ?? '');
      // A held permission leads past the guard (a list answers, a random id is not found).
      const ok = mayRead
        ? reply.status !== 401 && reply.status !== 403 && reply.status < 500
        : reply.status === 403 && reply.body?.error?.code === 'forbidden';
      if (!ok) wrong.push(`${label(op)} (holds: ${mayRead}) -> ${reply.status}`);
    }
    expect(wrong).toEqual([]);
    expect(reads.some((op) => !held.has(op.permission ?? ''))).toBe(true);
  });

  it("access: agent-only, robot-only, deploy-script and enrollment-token operations answer 401 to every user credential, even an owner's", async () => {
    const tokenOnly = new Set(['agent', 'robot', 'deployment', 'enrollment']);
    const agentOps = ops.filter((op) => tokenOnly.has(op.permission ?? ''));
    for (const permission of tokenOnly)
      expect(agentOps.some((op) => op.permission === permission)).toBe(true);
    const key = await call(server, 'POST', '/api/v1/api-keys', {
      token: owner.token,
      body: { name: 'owner key', role_id: await roleId(server, owner.token, 'owner') },
    });
    expect(key.status).toBe(201);
    // A config token is a CI credential, not a deploy script's.
    const config = await deployToken({ kind: 'config' });
    for (const auth of [{ token: owner.token }, { apiKey: key.body.secret as string }, { token: config }]) {
      await expectEvery(
        agentOps,
        (op) => callOperation(server, op, auth),
        () => ({ status: 401, code: 'unauthorized' }),
      );
    }
  });

  it('access: an operator cannot create a role (403) while an admin can (201)', async () => {
    const operator = await addMember(server, owner, 'operator');
    const admin = await addMember(server, owner, 'admin');
    const body = { name: 'auditors', description: 'reads the audit log', permissions: ['audit:read'] };
    const denied = await call(server, 'POST', '/api/v1/access/roles', { token: operator.token, body });
    expectError(denied, 403, 'forbidden');
    const roles = await call(server, 'GET', '/api/v1/access/roles?limit=200', { token: owner.token });
    expect(roles.body.items.map((r: { name: string }) => r.name)).not.toContain('auditors');
    const created = await call(server, 'POST', '/api/v1/access/roles', { token: admin.token, body });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'auditors', builtin: false, permissions: ['audit:read'] });
  });
});
