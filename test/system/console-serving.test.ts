import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectError } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';

describe('web console serving', () => {
  let server: TestServer;
  let unbuilt: TestServer;
  let empty: string;
  beforeAll(async () => {
    empty = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-no-console-'));
    server = await startTestServer('sqlite');
    unbuilt = await startTestServer('sqlite', { config: { consoleDir: empty } });
  });
  afterAll(async () => {
    await unbuilt.close();
    await server.close();
    rmSync(empty, { recursive: true, force: true });
  });

  const get = (target: TestServer, route: string, headers: Record<string, string> = {}) =>
    fetch(`${target.url}${route}`, { headers });

  it('console: index.html is revalidated, hashed assets are cached a year and sent precompressed', async () => {
    const index = await get(server, '/');
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const html = await index.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await get(server, script ?? '', { 'accept-encoding': 'br' });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(asset.headers.get('content-encoding')).toBe('br');
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(0);
  });

  it('console: a deep link a browser asks for answers index.html; server paths keep their own answers', async () => {
    const deep = await get(server, '/agents/some-id?status=online', { accept: 'text/html' });
    expect(deep.status).toBe(200);
    expect(await deep.text()).toContain('<div id="root">');
    expectError(
      await call(server, 'GET', '/api/v1/no-such-route', { headers: { accept: 'text/html' } }),
      404,
      'not_found',
    );
    expectError(
      await call(server, 'GET', '/assets/missing.js', { headers: { accept: 'text/html' } }),
      404,
      'not_found',
    );
    expect((await call(server, 'GET', '/health', { headers: { accept: 'text/html' } })).body).toEqual({
      status: 'ok',
    });
    // not a page: an API client gets the one error shape
    expectError(await call(server, 'GET', '/agents/some-id'), 404, 'not_found');
  });

  it('console: without a build the API still serves and GET / says how to build the console', async () => {
    const reply = await call(unbuilt, 'GET', '/');
    expectError(reply, 404, 'not_found');
    expect(reply.body.error.message).toContain('npm run build:web');
    expect((await call(unbuilt, 'GET', '/health')).status).toBe(200);
  });
});
