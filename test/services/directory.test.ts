import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../support/agents.js';
import { call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

const MASK = '********';
/** The folders the test breaks, each in its own way. */
const BROKEN = [
  'bad name!',
  'bad-json',
  'both-batches',
  'clash',
  'escape',
  'no-script',
  'schema-bad',
  'symlink',
  'too-big',
];

/** Writes a folder of the services directory: its service.json (text or object) and files. */
function folder(dir: string, name: string, definition: unknown, files: Record<string, string> = {}): void {
  const at = path.join(dir, name);
  mkdirSync(at, { recursive: true });
  const text = typeof definition === 'string' ? definition : JSON.stringify(definition, null, 2);
  writeFileSync(path.join(at, 'service.json'), text);
  for (const [file, content] of Object.entries(files)) writeFileSync(path.join(at, file), content);
}

describe.each(dialects)('services: the services directory on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-services-'));
    server = await startTestServer(dialect, { config: { servicesDir: dir } });
    owner = await signup(server, 'directory');
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const as = (method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: owner.token, ...(body === undefined ? {} : { body }) });
  const sync = () => expectStatus(as('POST', '/api/v1/services/sync'), 200);

  it('services: names and sync bring valid folders in and report broken ones; a second sync changes nothing', async () => {
    folder(
      dir,
      'web',
      { steps: ['fetch', 'switch'], script: 'deploy.sh', env: { REGION: 'eu', API_TOKEN: 't-1' } },
      { 'deploy.sh': 'echo web\n' },
    );
    folder(
      dir,
      'py-app',
      {
        name: 'Python app',
        description: 'the python one',
        script: 'bin/run.py',
        steps: ['install'],
        runs_on: { type: 'selector', selector: { tags: ['py'] } },
        rollout: { batch_size: 2 },
        secret_env: { KEY: 'k-1' },
        timeout_seconds: 120,
      },
      {},
    );
    mkdirSync(path.join(dir, 'py-app', 'bin'));
    writeFileSync(path.join(dir, 'py-app', 'bin', 'run.py'), 'print("hi")\n');
    folder(dir, 'bad-json', '{ "steps": [', {});
    folder(dir, 'no-script', { script: 'missing.sh', steps: ['a'] });
    folder(dir, 'escape', { script: '../web/deploy.sh', steps: ['a'] });
    folder(dir, 'symlink', { script: 'link.sh', steps: ['a'] });
    symlinkSync(path.join(dir, 'web', 'deploy.sh'), path.join(dir, 'symlink', 'link.sh'));
    folder(dir, 'bad name!', { script: 'deploy.sh', steps: ['a'] }, { 'deploy.sh': 'echo\n' });
    folder(dir, 'clash', { name: 'api made', script: 'deploy.sh', steps: ['a'] }, { 'deploy.sh': 'echo\n' });
    folder(
      dir,
      'both-batches',
      { script: 'deploy.ps1', steps: ['a'], rollout: { batch_size: 1, batch_percent: 5 } },
      { 'deploy.ps1': 'Write-Host hi\n' },
    );
    folder(dir, 'schema-bad', { script: 'deploy.sh', steps: 'not a list' }, { 'deploy.sh': 'echo\n' });
    folder(
      dir,
      'too-big',
      { script: 'deploy.sh', steps: ['a'] },
      { 'deploy.sh': 'x'.repeat(256 * 1024 + 1) },
    );
    writeFileSync(path.join(dir, 'README.md'), 'not a folder: ignored\n');
    await expectStatus(
      as('POST', '/api/v1/services', {
        name: 'api made',
        script: { interpreter: 'bash', content: 'echo\n' },
        steps: ['a'],
        runs_on: { type: 'server' },
      }),
      201,
    );

    const names = await expectStatus(as('GET', '/api/v1/services/names'), 200);
    const byFolder = Object.fromEntries(names.items.map((i: { folder: string }) => [i.folder, i]));
    expect(Object.keys(byFolder).sort()).toEqual([...BROKEN, 'py-app', 'web'].sort());
    expect(byFolder.web).toEqual({ folder: 'web', name: 'web', valid: true, error: null });
    expect(byFolder['py-app']).toEqual({ folder: 'py-app', name: 'Python app', valid: true, error: null });
    for (const bad of BROKEN)
      expect(byFolder[bad]).toMatchObject({ valid: false, error: expect.any(String) });
    expect(byFolder['bad-json'].error).toContain('not valid JSON');
    expect(byFolder['no-script'].error).toContain('missing.sh is missing');
    expect(byFolder.escape.error).toContain('inside the folder');
    expect(byFolder.symlink.error).toContain('outside the folder');
    expect(byFolder['bad name!'].error).toContain('folder names');
    expect(byFolder.clash.error).toContain('through the API');
    expect(byFolder['both-batches'].error).toContain('rollout.batch_percent');
    expect(byFolder['schema-bad'].error).toContain('/steps');
    expect(byFolder['too-big'].error).toContain('larger than 262144 bytes');

    const first = await sync();
    expect(first.created.sort()).toEqual(['py-app', 'web']);
    expect(first.updated).toEqual([]);
    expect(first.unchanged).toEqual([]);
    expect(first.removed).toEqual([]);
    expect(first.invalid.map((i: { folder: string }) => i.folder).sort()).toEqual([...BROKEN].sort());

    const listed = await expectStatus(as('GET', '/api/v1/services?source=directory'), 200);
    const web = listed.items.find((s: { name: string }) => s.name === 'web');
    const py = listed.items.find((s: { name: string }) => s.name === 'Python app');
    expect(web).toMatchObject({
      source: 'directory',
      folder: 'web',
      script: { interpreter: 'bash', content: 'echo web\n' },
      steps: ['fetch', 'switch'],
      runs_on: { type: 'server' },
      env: { REGION: 'eu', API_TOKEN: MASK },
      timeout_seconds: 3600,
    });
    expect(py).toMatchObject({
      folder: 'py-app',
      description: 'the python one',
      script: { interpreter: 'python', content: 'print("hi")\n' },
      runs_on: { type: 'selector', selector: { tags: ['py'] } },
      rollout: { batch_size: 2, batch_percent: null },
      secret_env: { KEY: MASK },
      timeout_seconds: 120,
    });
    const stored = await server.app.services.deployServices.resolveForDeployment(owner.orgId, web.id);
    expect(stored.env.API_TOKEN).toMatch(/^v1:/);

    const second = await sync();
    expect(second.created).toEqual([]);
    expect(second.updated).toEqual([]);
    expect(second.unchanged.sort()).toEqual(['py-app', 'web']);
    expect(second.removed).toEqual([]);

    // A script change updates; a folder gone removes; a service changed through the API is brought back.
    writeFileSync(path.join(dir, 'web', 'deploy.sh'), 'echo web v2\n');
    rmSync(path.join(dir, 'py-app'), { recursive: true });
    const third = await sync();
    expect(third).toMatchObject({ created: [], updated: ['web'], unchanged: [], removed: ['py-app'] });
    const webNow = await expectStatus(as('GET', `/api/v1/services/${web.id}`), 200);
    expect(webNow.script.content).toBe('echo web v2\n');
    await expectStatus(as('GET', `/api/v1/services/${py.id}`), 404);

    await expectStatus(as('PATCH', `/api/v1/services/${web.id}`, { description: 'edited by hand' }), 200);
    const fourth = await sync();
    expect(fourth).toMatchObject({ updated: ['web'], unchanged: [], created: [], removed: [] });
    expect((await expectStatus(as('GET', `/api/v1/services/${web.id}`), 200)).description).toBe('');
    expect((await sync()).unchanged).toEqual(['web']);

    const syncs = await expectStatus(as('GET', '/api/v1/audit?entity_type=service_directory&limit=200'), 200);
    expect(syncs.items).toHaveLength(5);
    expect(syncs.items.every((e: { action: string }) => e.action === 'synced')).toBe(true);
    const oldest = syncs.items.at(-1);
    expect(oldest.after.created.sort()).toEqual(['py-app', 'web']);
    const pyAudit = await expectStatus(
      as('GET', `/api/v1/audit?entity_type=service&entity_id=${py.id}&limit=200`),
      200,
    );
    expect(pyAudit.items.map((e: { action: string }) => e.action).sort()).toEqual(['created', 'deleted']);
    expect(JSON.stringify(pyAudit.items)).not.toContain('k-1');
  });
});

describe.each(dialects)('services: a directory service in use on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-services-'));
    server = await startTestServer(dialect, { config: { servicesDir: dir } });
    owner = await signup(server, 'inuse');
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('services: while a deployment runs, a service is not deleted and a sync keeps it when its folder is gone', async () => {
    const agentId = await createAgent(server, owner);
    folder(
      dir,
      'api',
      { script: 'deploy.sh', steps: ['go'], runs_on: { type: 'agent', agent_id: agentId } },
      { 'deploy.sh': 'echo\n' },
    );
    const as = (method: string, route: string, body?: unknown) =>
      call(server, method, route, { token: owner.token, ...(body === undefined ? {} : { body }) });
    expect((await expectStatus(as('POST', '/api/v1/services/sync'), 200)).created).toEqual(['api']);
    const [service] = (await expectStatus(as('GET', '/api/v1/services?source=directory'), 200)).items;
    // The agent has no process behind it: the deployment's job waits, so the deployment runs.
    const deployment = await expectStatus(as('POST', '/api/v1/deployments', { service_id: service.id }), 201);
    expect(deployment.status).toBe('running');

    const refused = await as('DELETE', `/api/v1/services/${service.id}`);
    expectError(refused, 409, 'conflict');
    expect(refused.body.error.details).toEqual([expect.objectContaining({ id: deployment.id })]);
    rmSync(path.join(dir, 'api'), { recursive: true });
    const report = await expectStatus(as('POST', '/api/v1/services/sync'), 200);
    expect(report.removed).toEqual([]);
    expect(report.invalid).toEqual([
      { folder: 'api', error: expect.stringContaining('the service is kept') },
    ]);
    await expectStatus(as('GET', `/api/v1/services/${service.id}`), 200);
  });
});

describe.each(dialects)('services: a missing services directory on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;

  beforeAll(async () => {
    const servicesDir = path.join(os.tmpdir(), `fleetplane-no-services-${process.pid}-${Date.now()}`);
    server = await startTestServer(dialect, { config: { servicesDir } });
    owner = await signup(server, 'nodir');
  });
  afterAll(async () => {
    await server.close();
  });

  it('services: a missing directory has no names and a sync reports nothing', async () => {
    const names = await expectStatus(
      call(server, 'GET', '/api/v1/services/names', { token: owner.token }),
      200,
    );
    expect(names).toEqual({ items: [] });
    const report = await expectStatus(
      call(server, 'POST', '/api/v1/services/sync', { token: owner.token }),
      200,
    );
    expect(report).toEqual({ created: [], updated: [], unchanged: [], removed: [], invalid: [] });
  });
});
