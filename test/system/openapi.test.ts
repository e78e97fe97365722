import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify from 'fastify';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import { installOpenApiConventions } from '../../src/server/http/openapi.js';
import { enroll, METRICS } from '../support/agents.js';
import { call, expectError, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';

const METHODS = ['get', 'put', 'post', 'patch', 'delete'];

interface Operation {
  where: string;
  op: Record<string, any>;
}

function operationsOf(doc: Record<string, any>): Operation[] {
  return Object.entries(doc.paths as Record<string, Record<string, any>>).flatMap(([route, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ where: `${method.toUpperCase()} ${route}`, op })),
  );
}

interface LintProblem {
  ruleId: string;
  severity: 'error' | 'warn';
  message: string;
  location: { pointer: string }[];
}

/** Redocly's lint of a document file with the repository's redocly.yaml: its problems. */
function redoclyLint(file: string): Promise<LintProblem[]> {
  const cli = path.join(
    path.dirname(createRequire(import.meta.url).resolve('@redocly/cli/package.json')),
    'bin/cli.js',
  );
  const args = [
    cli,
    'lint',
    file,
    '--config',
    path.resolve('redocly.yaml'),
    '--format=json',
    '--max-problems=10000',
  ];
  // No usage report and no update check leave this machine.
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
  return new Promise((resolve, reject) => {
    // Exits 1 when it finds errors: the report on stdout is what counts.
    execFile(process.execPath, args, { env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      try {
        resolve((JSON.parse(stdout) as { problems: LintProblem[] }).problems);
      } catch {
        reject(new Error(`redocly lint gave no report: ${error?.message ?? ''}\n${stderr}`));
      }
    });
  });
}

// The document depends on the routes, not on the database: one dialect is enough.
describe('openapi', () => {
  let server: TestServer;
  let owner: Session;
  let doc: Record<string, any>;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    owner = await signup(server);
    doc = (await call(server, 'GET', '/openapi.json')).body;
  });
  afterAll(async () => {
    await server.close();
  });

  it('openapi: every operation has an operationId, unique and fit for a function name', () => {
    const operations = operationsOf(doc);
    expect(operations.length).toBeGreaterThan(100);
    const ids = operations.map(({ where, op }) => [where, op.operationId]);
    for (const [where, id] of ids) expect(id, where).toMatch(/^[a-z][A-Za-z0-9]*$/);
    expect(new Set(ids.map(([, id]) => id)).size).toBe(ids.length);
    expect(doc.paths['/api/v1/agents'].get.operationId).toBe('listAgents');
    expect(doc.paths['/api/v1/runs/{id}/cancel'].post.operationId).toBe('cancelRun');
    expect(doc.paths['/api/v1/templates/{id}/tasks/{taskId}'].patch.operationId).toBe('updateTemplateTask');
  });

  it('openapi: error responses use the one error schema, and say what the route can answer', () => {
    const ref = { $ref: '#/components/schemas/ErrorBody' };
    expect(doc.components.schemas.ErrorBody.properties.error.required).toEqual([
      'code',
      'message',
      'details',
    ]);
    for (const { where, op } of operationsOf(doc)) {
      const errors = Object.entries(op.responses as Record<string, any>).filter(
        ([status]) => Number(status) >= 400,
      );
      for (const [status, response] of errors)
        expect(response.content['application/json'].schema, `${where} ${status}`).toEqual(ref);
      const statuses = errors.map(([status]) => Number(status));
      const isPublic = op['x-permission'] === 'public';
      if (!isPublic) expect(statuses, where).toEqual(expect.arrayContaining([401, 503]));
      if (where.includes('{')) expect(statuses, where).toContain(404);
      if (op.requestBody) expect(statuses, where).toEqual(expect.arrayContaining([400, 413]));
    }
    const statusesOf = (route: string, method: string) => Object.keys(doc.paths[route][method].responses);
    // Public routes claim no 401 unless they check a credential; a permission brings 403.
    expect(statusesOf('/health', 'get')).toEqual(['200']);
    expect(statusesOf('/api/v1/auth/password-reset', 'post')).not.toContain('401');
    expect(statusesOf('/api/v1/auth/login', 'post')).toEqual(expect.arrayContaining(['401', '429']));
    expect(statusesOf('/api/v1/auth/me', 'get')).not.toContain('403');
    expect(statusesOf('/api/v1/agents', 'get')).toEqual(expect.arrayContaining(['401', '403']));
    expect(statusesOf('/api/v1/scripts', 'post')).toEqual(expect.arrayContaining(['409', '422']));
    expect(statusesOf('/api/v1/agent/heartbeat', 'post')).toContain('410');
    // A route answering 204 says so, rather than a 200 with no body.
    expect(statusesOf('/api/v1/agents/{id}', 'delete')).toContain('204');
    expect(statusesOf('/api/v1/agents/{id}', 'delete')).not.toContain('200');
  });

  it('openapi: real error bodies match the documented schema and keep every detail', async () => {
    const validate = new Ajv({ strict: false }).compile(doc.components.schemas.ErrorBody);
    const role = await call(server, 'POST', '/api/v1/access/roles', {
      token: owner.token,
      body: { name: 'held', description: 'held by an invite', permissions: ['agents:read'] },
    });
    await call(server, 'POST', '/api/v1/access/invites', {
      token: owner.token,
      body: { email: 'held-role@example.test', role_id: role.body.id },
    });
    const agent = await enroll(server, owner);
    await call(server, 'DELETE', `/api/v1/agents/${agent.agentId}`, { token: owner.token });
    const replies = [
      await call(server, 'GET', '/api/v1/agents'),
      await call(server, 'GET', `/api/v1/agents/${randomUUID()}`, { token: owner.token }),
      await call(server, 'POST', '/api/v1/agents', { token: owner.token, body: { name: 7 } }),
      await call(server, 'DELETE', `/api/v1/access/roles/${role.body.id}`, { token: owner.token }),
      await call(server, 'POST', '/api/v1/agent/heartbeat', {
        token: agent.agentToken,
        body: { metrics: METRICS, running_job_ids: [] },
      }),
    ];
    for (const reply of replies) expect(validate(reply.body), JSON.stringify(validate.errors)).toBe(true);
    const [anonymous, missing, invalid, inUse, deleted] = replies as [any, any, any, any, any];
    expectError(anonymous, 401, 'unauthorized');
    expectError(missing, 404, 'not_found');
    expectError(invalid, 400, 'validation_failed');
    expect(invalid.body.error.details).toContainEqual({ field: 'body.name', message: expect.any(String) });
    expectError(inUse, 409, 'conflict');
    // Properties a detail has beyond field and message are not stripped by the response schema.
    expect(inUse.body.error.details[0]).toEqual({ message: 'in use', members: 0, api_keys: 0, invites: 1 });
    expectError(deleted, 410, 'gone');
    expect(deleted.body.error.details[0]).toMatchObject({ uninstall: true });
  });

  it('openapi: info, servers and tags are filled in, every tag described', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Fleetplane API', license: { name: 'Apache-2.0' } });
    expect(doc.servers).toEqual([expect.objectContaining({ url: '/' })]);
    const described = new Map(
      (doc.tags as { name: string; description: string }[]).map((t) => [t.name, t.description]),
    );
    for (const { where, op } of operationsOf(doc))
      for (const tag of op.tags as string[]) expect(described.get(tag), `${where}: ${tag}`).toBeTruthy();
  });

  it("openapi: Redocly's recommended rules find no error, and warn only of the probes' lack of a 4xx", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-openapi-'));
    try {
      const file = path.join(dir, 'openapi.json');
      writeFileSync(file, JSON.stringify(doc));
      const problems = await redoclyLint(file);
      const found = problems.map((p) => `${p.severity} ${p.ruleId} ${p.location[0]?.pointer}`).sort();
      // /health and /ready answer 200 or 503, never a 4xx.
      expect(found, JSON.stringify(problems, null, 2)).toEqual([
        'warn operation-4xx-response #/paths/~1health/get/responses',
        'warn operation-4xx-response #/paths/~1ready/get/responses',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('openapi conventions', () => {
  it('openapi: a documented route without an operationId, with one taken or an undescribed tag stops the start', async () => {
    const app = Fastify();
    installOpenApiConventions(app);
    app.get('/a', { schema: { operationId: 'getA', tags: ['system'] } }, () => 'a');
    expect(() => app.get('/b', { schema: { tags: ['system'] } }, () => 'b')).toThrow(/no schema.operationId/);
    expect(() => app.get('/c', { schema: { operationId: 'getA' } }, () => 'c')).toThrow(
      /share the operationId/,
    );
    expect(() => app.get('/d', { schema: { operationId: 'getD', tags: ['nope'] } }, () => 'd')).toThrow(
      /tag "nope" is not described/,
    );
    // Hidden routes are not in the document, so they need none.
    app.get('/e', { schema: { hide: true } }, () => 'e');
    await app.close();
  });

  it('openapi: servers names FLEETPLANE_PUBLIC_URL when it is set', async () => {
    const config = loadConfig({ FLEETPLANE_PUBLIC_URL: 'https://fleet.example.com/plane/' });
    expect(config.publicUrl).toBe('https://fleet.example.com/plane');
    const server = await startTestServer('sqlite', { config: { publicUrl: config.publicUrl } });
    try {
      const doc = (await call(server, 'GET', '/openapi.json')).body;
      expect(doc.servers).toEqual([expect.objectContaining({ url: 'https://fleet.example.com/plane' })]);
      // Paths stay as routed: the public URL's path is the proxy's prefix, not part of them.
      expect(doc.paths['/api/v1/agents']).toBeDefined();
    } finally {
      await server.close();
    }
  });

  it('config: FLEETPLANE_PUBLIC_URL must be an http(s) URL without query or fragment', () => {
    for (const bad of ['fleet.example.com', 'ftp://fleet.example.com', 'https://fleet.example.com/?a=1'])
      expect(() => loadConfig({ FLEETPLANE_PUBLIC_URL: bad }), bad).toThrow(ConfigError);
  });
});
