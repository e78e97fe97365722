import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditOf, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { systemClock } from '../../src/server/lib/clock.js';
import type { AppError } from '../../src/server/lib/errors.js';
import type { RequestContext } from '../../src/server/modules/access/context.js';
import { PermissionSet } from '../../src/server/modules/access/permissions.js';
import { ProcessesService } from '../../src/server/modules/processes/processes.service.js';
import { deactivatePackage, processBody, uploadPackage } from './support.js';

describe.each(dialects)('processes: definitions on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  /** The package every test names: 1.0.0 and 1.2.0 uploaded, both active. */
  const pkg = 'invoice-bot';
  let v100: any;
  let v120: any;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'processes');
    v100 = await uploadPackage(server, owner, pkg, '1.0.0');
    v120 = await uploadPackage(server, owner, pkg, '1.2.0');
  });
  afterAll(async () => {
    await server.close();
  });

  const as = (method: string, route: string, body?: unknown, session = owner) =>
    call(server, method, route, { token: session.token, ...(body === undefined ? {} : { body }) });
  const create = (body: unknown, session = owner) => as('POST', '/api/v1/processes', body, session);

  it('processes: create with defaults, get it with the package it resolves to, list and filter it', async () => {
    const created = await expectStatus(
      create(processBody(pkg, { name: 'nightly report', package_version: '1.0.0', assets: ['erp', 'erp'] })),
      201,
    );
    expect(created).toMatchObject({
      name: 'nightly report',
      description: '',
      package_name: pkg,
      package_version: '1.0.0',
      entry_point: 'report',
      default_input: { url: 'https://example.test/data', count: 3 },
      timeout_seconds: 3600,
      max_attempts: 1,
      retry_delay_seconds: 0,
      robot_pool: null,
      assets: ['erp'],
      version: 1,
      created_by: owner.userId,
    });
    const got = await expectStatus(as('GET', `/api/v1/processes/${created.id}`), 200);
    expect(got).toMatchObject({ ...created, resolve_error: null });
    expect(got.current_package).toEqual({
      id: v100.id,
      name: pkg,
      version: '1.0.0',
      hash: v100.hash,
      active: true,
    });
    expect(got.current_entry_point).toEqual({
      name: 'report',
      path: 'src/report.py',
      language: 'python',
      input_schema: expect.objectContaining({ required: ['url'] }),
    });

    const other = await expectStatus(
      create({ name: 'sweeper', package_name: pkg, entry_point: 'cleanup', robot_pool: 'finance' }),
      201,
    );
    expect(other).toMatchObject({ package_version: null, default_input: {}, robot_pool: 'finance' });
    const byText = await expectStatus(as('GET', '/api/v1/processes?q=NIGHTLY'), 200);
    expect(byText.items.map((p: { id: string }) => p.id)).toEqual([created.id]);
    const byPackage = await expectStatus(as('GET', `/api/v1/processes?package_name=${pkg}`), 200);
    expect(byPackage.items.map((p: { id: string }) => p.id)).toEqual(
      expect.arrayContaining([created.id, other.id]),
    );
    const none = await expectStatus(as('GET', '/api/v1/processes?package_name=other-package'), 200);
    expect(none.items).toEqual([]);
    const firstPage = await expectStatus(as('GET', `/api/v1/processes?package_name=${pkg}&limit=1`), 200);
    expect(firstPage.items).toHaveLength(1);
    const secondPage = await expectStatus(
      as('GET', `/api/v1/processes?package_name=${pkg}&limit=1&cursor=${firstPage.next_cursor}`),
      200,
    );
    expect(secondPage.items[0].id).not.toBe(firstPage.items[0].id);
  });

  it('processes: a default input the entry point schema refuses is 422 with one detail per field', async () => {
    const reply = await create(
      processBody(pkg, { name: 'bad input', default_input: { count: 99, dry_run: 'yes', extra: 1 } }),
    );
    expectError(reply, 422, 'unprocessable');
    const fields = reply.body.error.details.map((d: { field: string }) => d.field).sort();
    expect(fields).toEqual([
      'default_input/count',
      'default_input/dry_run',
      'default_input/extra',
      'default_input/url',
    ]);
    const wrongFormat = await create(
      processBody(pkg, { name: 'bad url', default_input: { url: 'not a url' } }),
    );
    expectError(wrongFormat, 422, 'unprocessable');
    expect(wrongFormat.body.error.details).toEqual([
      { field: 'default_input/url', message: expect.any(String) },
    ]);
    // An entry point without a schema takes any object.
    await expectStatus(
      create({
        name: 'free input',
        package_name: pkg,
        entry_point: 'cleanup',
        default_input: { any: [1, 2] },
      }),
      201,
    );
    const list = await expectStatus(as('GET', '/api/v1/processes?q=bad'), 200);
    expect(list.items).toEqual([]);
  });

  it('processes: an unknown entry point, package or version is 422 naming it', async () => {
    const reply = await create(processBody(pkg, { name: 'no entry', entry_point: 'missing-entry' }));
    expectError(reply, 422, 'unprocessable');
    expect(reply.body.error.message).toContain('missing-entry');
    expect(reply.body.error.details[0]).toMatchObject({
      field: 'entry_point',
      entry_point: 'missing-entry',
      known: ['report', 'cleanup'],
    });
    expectError(await create(processBody('no-such-package', { name: 'no package' })), 422, 'unprocessable');
    expectError(
      await create(processBody(pkg, { name: 'no version', package_version: '9.9.9' })),
      422,
      'unprocessable',
    );
    // Not semver: refused by the schema.
    expectError(
      await create(processBody(pkg, { name: 'bad version', package_version: 'v1' })),
      400,
      'validation_failed',
    );
  });

  it('processes: a name is unique in the organisation (409)', async () => {
    await expectStatus(create(processBody(pkg, { name: 'twice' })), 201);
    const again = await create(processBody(pkg, { name: 'twice' }));
    expectError(again, 409, 'conflict');
    expect(again.body.error.details).toEqual([{ field: 'name', message: expect.any(String) }]);
  });

  it('processes: without a version a process runs the latest active version, and follows deactivation', async () => {
    const created = await expectStatus(create(processBody(pkg, { name: 'latest' })), 201);
    const before = await expectStatus(as('GET', `/api/v1/processes/${created.id}`), 200);
    expect(before.current_package).toMatchObject({ id: v120.id, version: '1.2.0' });
    const planBefore = await server.app.services.processes.resolveForRun(owner.orgId, created.id);
    expect(planBefore.package).toEqual({ id: v120.id, name: pkg, version: '1.2.0', hash: v120.hash });

    await deactivatePackage(server, owner, v120.id);
    const after = await expectStatus(as('GET', `/api/v1/processes/${created.id}`), 200);
    expect(after.current_package).toMatchObject({ id: v100.id, version: '1.0.0', active: true });
    const planAfter = await server.app.services.processes.resolveForRun(owner.orgId, created.id);
    expect(planAfter.package.version).toBe('1.0.0');
  });

  it('processes: a change to what runs adds a version, a rename or description does not', async () => {
    const created = await expectStatus(create(processBody(pkg, { name: 'versioned' })), 201);
    const patch = (body: unknown) => as('PATCH', `/api/v1/processes/${created.id}`, body);
    const renamed = await expectStatus(patch({ name: 'versioned renamed', description: 'words' }), 200);
    expect(renamed).toMatchObject({ name: 'versioned renamed', description: 'words', version: 1 });
    const same = await expectStatus(patch({ timeout_seconds: 3600 }), 200);
    expect(same.version).toBe(1);
    const slower = await expectStatus(
      patch({ timeout_seconds: 60, max_attempts: 3, retry_delay_seconds: 30 }),
      200,
    );
    expect(slower).toMatchObject({
      timeout_seconds: 60,
      max_attempts: 3,
      retry_delay_seconds: 30,
      version: 2,
    });
    const pinned = await expectStatus(patch({ package_version: '1.0.0', robot_pool: 'night' }), 200);
    expect(pinned).toMatchObject({ package_version: '1.0.0', robot_pool: 'night', version: 3 });
    // A change that cannot run is refused and changes nothing.
    expectError(await patch({ default_input: { count: 0 } }), 422, 'unprocessable');
    expectError(await patch({ entry_point: 'gone' }), 422, 'unprocessable');

    const versions = await expectStatus(as('GET', `/api/v1/processes/${created.id}/versions`), 200);
    expect(versions.items.map((v: { version: number }) => v.version)).toEqual([3, 2, 1]);
    const first = await expectStatus(as('GET', `/api/v1/processes/${created.id}/versions/1`), 200);
    expect(first).toMatchObject({
      process_id: created.id,
      version: 1,
      package_version: null,
      timeout_seconds: 3600,
      max_attempts: 1,
      robot_pool: null,
      default_input: { url: 'https://example.test/data', count: 3 },
    });
    const third = await expectStatus(as('GET', `/api/v1/processes/${created.id}/versions/3`), 200);
    expect(third).toMatchObject({ package_version: '1.0.0', robot_pool: 'night', timeout_seconds: 60 });
    expectError(await as('GET', `/api/v1/processes/${created.id}/versions/4`), 404, 'not_found');
    const got = await expectStatus(as('GET', `/api/v1/processes/${created.id}`), 200);
    expect(got).toMatchObject({ version: 3, default_input: { count: 3 }, entry_point: 'report' });
  });

  it("processes: another organisation's process is 404 on every route, and its packages do not resolve", async () => {
    const created = await expectStatus(create(processBody(pkg, { name: 'private' })), 201);
    const stranger = await signup(server, 'stranger');
    const routes: [string, string, unknown?][] = [
      ['GET', `/api/v1/processes/${created.id}`],
      ['PATCH', `/api/v1/processes/${created.id}`, { description: 'mine now' }],
      ['DELETE', `/api/v1/processes/${created.id}`],
      ['GET', `/api/v1/processes/${created.id}/versions`],
      ['GET', `/api/v1/processes/${created.id}/versions/1`],
    ];
    for (const [method, route, body] of routes)
      expectError(await as(method, route, body, stranger), 404, 'not_found');
    const theirs = await expectStatus(as('GET', '/api/v1/processes', undefined, stranger), 200);
    expect(theirs.items).toEqual([]);
    expectError(await create(processBody(pkg, { name: 'borrowed' }), stranger), 422, 'unprocessable');
    await expect(
      server.app.services.processes.resolveForRun(stranger.orgId, created.id),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
    const still = await expectStatus(as('GET', `/api/v1/processes/${created.id}`), 200);
    expect(still.description).toBe('');
  });

  it('processes: delete removes the process and its versions, each change audited', async () => {
    const created = await expectStatus(create(processBody(pkg, { name: 'doomed' })), 201);
    await expectStatus(as('PATCH', `/api/v1/processes/${created.id}`, { timeout_seconds: 10 }), 200);
    expect((await as('DELETE', `/api/v1/processes/${created.id}`)).status).toBe(204);
    expectError(await as('GET', `/api/v1/processes/${created.id}`), 404, 'not_found');
    expectError(await as('GET', `/api/v1/processes/${created.id}/versions/1`), 404, 'not_found');
    expectError(await as('DELETE', `/api/v1/processes/${created.id}`), 404, 'not_found');
    const events = await auditOf(server, owner, 'process', created.id);
    expect(events.map((e: { action: string }) => e.action)).toEqual(['created', 'modified', 'deleted']);
    expect(events[1].before).toMatchObject({ timeout_seconds: 3600, version: 1 });
    expect(events[1].after).toMatchObject({ timeout_seconds: 10, version: 2 });
  });

  it('processes: a package version a process pins cannot be deleted (409 naming it)', async () => {
    const pinned = await uploadPackage(server, owner, 'pinned-bot', '2.0.0');
    const created = await expectStatus(
      create(processBody('pinned-bot', { name: 'pins it', package_version: '2.0.0' })),
      201,
    );
    const refused = await as('DELETE', `/api/v1/packages/${pinned.id}`);
    expectError(refused, 409, 'conflict');
    expect(refused.body.error.details).toEqual([
      expect.objectContaining({ field: 'process', id: created.id, name: 'pins it' }),
    ]);
    // Unpinned, the package can go.
    await expectStatus(as('PATCH', `/api/v1/processes/${created.id}`, { package_version: null }), 200);
    expect((await as('DELETE', `/api/v1/packages/${pinned.id}`)).status).toBe(204);
  });

  it('processes: resolveForRun lays the override over the default input and checks the result', async () => {
    const created = await expectStatus(
      create(
        processBody(pkg, { name: 'runnable', package_version: '1.0.0', robot_pool: 'ap', assets: ['erp'] }),
      ),
      201,
    );
    const processes = server.app.services.processes;
    const plan = await processes.resolveForRun(owner.orgId, created.id, { count: 7, dry_run: true });
    expect(plan).toEqual({
      process: {
        id: created.id,
        name: 'runnable',
        version: 1,
        timeout_seconds: 3600,
        max_attempts: 1,
        retry_delay_seconds: 0,
        robot_pool: 'ap',
        assets: ['erp'],
      },
      package: { id: v100.id, name: pkg, version: '1.0.0', hash: v100.hash },
      entry_point: { name: 'report', path: 'src/report.py', language: 'python' },
      input: { url: 'https://example.test/data', count: 7, dry_run: true },
    });
    const plain = await processes.resolveForRun(owner.orgId, created.id);
    expect(plain.input).toEqual({ url: 'https://example.test/data', count: 3 });

    const error = await processes
      .resolveForRun(owner.orgId, created.id, { count: 'many', url: 42 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unprocessable' });
    expect((error as AppError).details.map((d) => d.field).sort()).toEqual(['input/count', 'input/url']);
  });

  it('processes: delete is refused (409 naming them) while jobs of the process are queued or running', async () => {
    const created = await expectStatus(create(processBody(pkg, { name: 'busy' })), 201);
    const { audit, packages } = server.app.services;
    const busy = new ProcessesService({
      db: server.database.db,
      clock: systemClock,
      audit,
      packages,
      jobs: {
        activeJobs: async (_db, orgId, processId) =>
          orgId === owner.orgId && processId === created.id
            ? [{ type: 'process_job', id: created.id, name: 'queued job' }]
            : [],
      },
    });
    const ctx: RequestContext = {
      orgId: owner.orgId,
      actor: { type: 'user', id: owner.userId, label: owner.email },
      userId: owner.userId,
      sessionId: null,
      permissions: new PermissionSet([]),
      meta: { ip: null, userAgent: null, requestId: null },
    };
    await expect(busy.remove(ctx, created.id)).rejects.toMatchObject({
      code: 'conflict',
      details: [{ field: 'process_job', id: created.id, name: 'queued job' }],
    });
    await expectStatus(as('GET', `/api/v1/processes/${created.id}`), 200);
  });
});
