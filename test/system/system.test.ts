import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectError, roleId, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

const packageVersion = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;

/** A request whose body is sent exactly as given, for bodies `call` would not produce. */
async function rawPost(
  server: TestServer,
  route: string,
  body: string,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${server.url}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

describe.each(dialects)('system on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server);
  });
  afterAll(async () => {
    await server.close();
  });

  it('system: /health and /ready answer 200 without credentials', async () => {
    const health = await call(server, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok' });
    const ready = await call(server, 'GET', '/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready' });
  });

  it('system: /api/v1/system/info gives version, database kind and counts of the organisation', async () => {
    expectError(await call(server, 'GET', '/api/v1/system/info'), 401, 'unauthorized');
    const info = await call(server, 'GET', '/api/v1/system/info', { token: owner.token });
    expect(info.status).toBe(200);
    expect(info.body).toMatchObject({
      version: packageVersion,
      database: dialect,
      uptime_seconds: expect.any(Number),
      counts: { members: 1, api_keys: 0 },
    });
    const key = await call(server, 'POST', '/api/v1/api-keys', {
      token: owner.token,
      body: { name: 'counted', role_id: await roleId(server, owner.token, 'viewer') },
    });
    expect(key.status).toBe(201);
    const after = await call(server, 'GET', '/api/v1/system/info', { token: owner.token });
    expect(after.body.counts).toMatchObject({ members: 1, api_keys: 1 });
    // Counts are per organisation.
    const other = await signup(server, 'other');
    const otherInfo = await call(server, 'GET', '/api/v1/system/info', { token: other.token });
    expect(otherInfo.body.counts).toMatchObject({ members: 1, api_keys: 0 });
  });

  it('system: /openapi.json is an OpenAPI 3 document with paths and security schemes', async () => {
    const doc = await call(server, 'GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.headers.get('content-type')).toMatch(/application\/json/);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(doc.body.info.version).toBe(packageVersion);
    expect(Object.keys(doc.body.paths).length).toBeGreaterThan(20);
    expect(doc.body.paths['/api/v1/access/roles'].post['x-permission']).toBe('roles:create');
    expect(doc.body.paths['/health'].get.security).toEqual([]);
    expect(Object.keys(doc.body.components.securitySchemes).sort()).toEqual([
      'apiKey',
      'bearer',
      'robotToken',
    ]);
    // a runner's routes take its robot token, as X-Robot-Token or a bearer token
    expect(doc.body.paths['/api/v1/runner/jobs/claim'].post.security).toEqual([
      { robotToken: [] },
      { bearer: [] },
    ]);
  });

  it('system: /docs serves the interactive HTML documentation', async () => {
    const response = await fetch(`${server.url}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    const html = await response.text();
    expect(html).toMatch(/<html/i);
    expect(html.toLowerCase()).toContain('swagger');
  });

  it('system: /metrics serves Prometheus text with the HTTP duration histogram', async () => {
    await call(server, 'GET', '/health');
    const metrics = await call<string>(server, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/text\/plain/);
    expect(metrics.body).toContain('# TYPE fleetplane_http_request_duration_seconds histogram');
    expect(metrics.body).toMatch(
      /fleetplane_http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} [1-9]/,
    );
    expect(metrics.body).toContain('process_cpu_user_seconds_total');
  });

  it('system: an unknown route is 404 in the one error shape', async () => {
    const reply = await call(server, 'GET', '/api/v1/no-such-thing?x=1', { token: owner.token });
    expectError(reply, 404, 'not_found');
    expect(reply.body.error.message).toContain('/api/v1/no-such-thing');
    expect(reply.body.error.message).not.toContain('x=1');
    expectError(await call(server, 'POST', '/nowhere', { body: {} }), 404, 'not_found');
  });

  it('system: an invalid JSON body is 400 bad_request', async () => {
    const anonymous = await rawPost(server, '/api/v1/auth/login', '{"email": "a@b.test", ');
    expect(anonymous.status).toBe(400);
    expect(anonymous.body).toMatchObject({ error: { code: 'bad_request' }, request_id: expect.any(String) });
    const authed = await rawPost(server, '/api/v1/access/roles', '{not json', {
      authorization: `Bearer ${owner.token}`,
    });
    expect(authed.status).toBe(400);
    expect(authed.body).toEqual({
      error: { code: 'bad_request', message: expect.any(String), details: [] },
      request_id: expect.any(String),
    });
    // The guard still runs first: an anonymous caller learns nothing about the body.
    const guarded = await rawPost(server, '/api/v1/access/roles', '{not json');
    expect(guarded.status).toBe(401);
  });

  it('system: a body that fails validation is 400 validation_failed with field details', async () => {
    const reply = await call(server, 'POST', '/api/v1/access/roles', {
      token: owner.token,
      body: { name: 'Not Valid!', permissions: 'users:read' },
    });
    expectError(reply, 400, 'validation_failed');
    expect(reply.body.error.details.length).toBeGreaterThan(0);
    expect(reply.body.error.details[0].field).toMatch(/^body/);
  });

  it('system: the x-request-id sent is echoed back and used as request_id in errors', async () => {
    const id = 'client-req.0042';
    const ok = await call(server, 'GET', '/health', { headers: { 'x-request-id': id } });
    expect(ok.headers.get('x-request-id')).toBe(id);
    const error = await call(server, 'GET', '/api/v1/access/roles', { headers: { 'x-request-id': id } });
    expect(error.status).toBe(401);
    expect(error.headers.get('x-request-id')).toBe(id);
    expect(error.body.request_id).toBe(id);

    // Without one, or with one that is not safe to log, the server makes its own.
    const generated = await call(server, 'GET', '/nowhere');
    expect(generated.body.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(generated.headers.get('x-request-id')).toBe(generated.body.request_id);
    const unsafe = await call(server, 'GET', '/nowhere', { headers: { 'x-request-id': 'evil id; drop' } });
    expect(unsafe.body.request_id).not.toBe('evil id; drop');
    expect(unsafe.body.request_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe.each(dialects)('system with a small body limit on %s', (dialect) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect, { config: { bodyLimitBytes: 1024 } });
  });
  afterAll(async () => {
    await server.close();
  });

  it('system: a body over the limit is 413 payload_too_large', async () => {
    const big = JSON.stringify({ email: 'a@b.test', password: 'x'.repeat(2048) });
    const reply = await rawPost(server, '/api/v1/auth/login', big);
    expect(reply.status).toBe(413);
    expect(reply.body).toEqual({
      error: { code: 'payload_too_large', message: expect.any(String), details: [] },
      request_id: expect.any(String),
    });
    // Under the limit the same route works as usual.
    const owner = await signup(server);
    const small = await call(server, 'POST', '/api/v1/auth/login', {
      body: { email: owner.email, password: owner.password },
    });
    expect(small.status).toBe(200);
    const bigAuthed = await rawPost(server, '/api/v1/access/roles', big, {
      authorization: `Bearer ${owner.token}`,
    });
    expect(bigAuthed.status).toBe(413);
    expect(bigAuthed.body.error.code).toBe('payload_too_large');
  });
});

describe.each(dialects)('system CORS on %s', (dialect) => {
  let server: TestServer;
  let closed: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect, { config: { corsOrigins: ['https://console.example'] } });
    closed = await startTestServer(dialect);
  });
  afterAll(async () => {
    await server.close();
    await closed.close();
  });

  function preflight(target: TestServer, origin: string) {
    return fetch(`${target.url}/api/v1/access/roles`, {
      method: 'OPTIONS',
      headers: {
        origin,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
  }

  it('system: a CORS preflight from an allowed origin is allowed', async () => {
    const response = await preflight(server, 'https://console.example');
    expect(response.status).toBeLessThan(300);
    expect(response.headers.get('access-control-allow-origin')).toBe('https://console.example');
    expect(response.headers.get('access-control-allow-methods')).toMatch(/POST/);
    const simple = await fetch(`${server.url}/health`, { headers: { origin: 'https://console.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBe('https://console.example');
  });

  it('system: a CORS preflight from another origin gets no access-control-allow-origin', async () => {
    const response = await preflight(server, 'https://evil.example');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await fetch(`${server.url}/health`, { headers: { origin: 'https://evil.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('system: without configured origins no origin is allowed', async () => {
    const response = await preflight(closed, 'https://console.example');
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });
});
