import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageKind } from '../../src/server/config.js';
import { systemClock } from '../../src/server/lib/clock.js';
import { PermissionSet } from '../../src/server/modules/access/permissions.js';
import { PackagesService } from '../../src/server/modules/packages/packages.service.js';
import { openBlobStore } from '../../src/server/modules/storage/storage.js';
import { enroll } from '../support/agents.js';
import { addMember, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import {
  buildZip,
  download,
  leftoverUploads,
  listPackages,
  lyingAboutSize,
  manifest,
  packageZip,
  renamed,
  storedBlobs,
  upload,
} from './zips.js';

const MIB = 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const main = { name: 'src/main.py', data: 'print(1)\n' };

/** Small limits, so the limit cases stay small: 1 MiB upload, 1 MiB unpacked, 5 entries. */
async function strictOrg(server: TestServer): Promise<Session> {
  const org = await signup(server, 'strict');
  await expectStatus(
    call(server, 'PUT', '/api/v1/settings/packages', {
      token: org.token,
      body: { max_upload_mib: 1, max_unpacked_mib: 1, max_files: 5 },
    }),
    200,
  );
  return org;
}

interface Refusal {
  zip: () => Promise<Buffer>;
  status: number;
  message: RegExp;
  /** The entry (or entry point, or field) a detail must name. */
  names?: string;
}

const refusals: Record<string, Refusal> = {
  'zip slip ../x': {
    zip: async () => renamed(await packageZip({}, [{ name: 'zz/x', data: 'x' }]), { 'zz/x': '../x' }),
    status: 422,
    message: /"\.\.\/x" has a "\.\." segment/,
    names: '../x',
  },
  'an absolute path /etc/x': {
    zip: async () => renamed(await packageZip({}, [{ name: 'zzzz/x', data: 'x' }]), { 'zzzz/x': '/etc/x' }),
    status: 422,
    message: /absolute path/,
    names: '/etc/x',
  },
  'a drive letter C:\\x': {
    zip: async () => renamed(await packageZip({}, [{ name: 'zz/x', data: 'x' }]), { 'zz/x': 'C:\\x' }),
    status: 422,
    message: /backslash|drive letter/,
    names: 'C:\\x',
  },
  'a backslash climb a\\..\\..\\x': {
    zip: async () =>
      renamed(await packageZip({}, [{ name: 'z/zz/zz/x', data: 'x' }]), { 'z/zz/zz/x': 'a\\..\\..\\x' }),
    status: 422,
    message: /backslash/,
    names: 'a\\..\\..\\x',
  },
  'a symlink to /etc/passwd': {
    zip: () => packageZip({}, [{ name: 'passwd', data: '/etc/passwd', mode: 0o120777 }]),
    status: 422,
    message: /"passwd" is a symbolic link pointing outside/,
    names: 'passwd',
  },
  'a relative symlink climbing out': {
    zip: () => packageZip({}, [{ name: 'src/up', data: '../../secret', mode: 0o120777 }]),
    status: 422,
    message: /symbolic link pointing outside/,
    names: 'src/up',
  },
  'more files than max_files': {
    zip: () =>
      packageZip(
        {},
        [1, 2, 3, 4].map((n) => ({ name: `extra/${n}.txt`, data: `${n}` })),
      ),
    status: 422,
    message: /6 entries, more than the 5 allowed/,
  },
  'a bomb that declares its size': {
    zip: () => packageZip({}, [{ name: 'bomb.bin', data: Buffer.alloc(2 * MIB) }]),
    status: 422,
    message: /declares more unpacked bytes/,
    names: 'bomb.bin',
  },
  'a bomb whose headers lie': {
    zip: async () =>
      lyingAboutSize(
        await packageZip({}, [{ name: 'bomb.bin', data: Buffer.alloc(2 * MIB) }]),
        'bomb.bin',
        100,
      ),
    status: 422,
    message: /unpacks to more than the allowed size/,
    names: 'bomb.bin',
  },
  'no manifest': {
    zip: () => buildZip([main]),
    status: 422,
    message: /no fleetplane\.json at its root/,
  },
  'a manifest in a folder only': {
    zip: () => buildZip([{ name: 'pkg/fleetplane.json', data: manifest() }, main]),
    status: 422,
    message: /no fleetplane\.json at its root/,
  },
  'a manifest that is not JSON': {
    zip: () => buildZip([{ name: 'fleetplane.json', data: '{"name": ' }, main]),
    status: 422,
    message: /fleetplane\.json is not valid JSON/,
  },
  'a manifest with a version that is not semver': {
    zip: () => packageZip({ version: '1.0' }),
    status: 422,
    message: /"1\.0" is not a semantic version/,
  },
  'a manifest with an unknown language': {
    zip: () => packageZip({ entry_points: [{ name: 'main', path: 'src/main.py', language: 'ruby' }] }),
    status: 422,
    message: /fleetplane\.json is not valid/,
    names: 'fleetplane.json.entry_points.0.language',
  },
  'a manifest with a name that is not a slug': {
    zip: () => packageZip({ name: 'Invoice Bot!' }),
    status: 422,
    message: /fleetplane\.json is not valid/,
    names: 'fleetplane.json.name',
  },
  'a manifest without entry points': {
    zip: () => packageZip({ entry_points: [] }),
    status: 422,
    message: /fleetplane\.json is not valid/,
    names: 'fleetplane.json.entry_points',
  },
  'an input schema that is no JSON Schema': {
    zip: () =>
      packageZip({
        entry_points: [
          { name: 'main', path: 'src/main.py', language: 'python', input_schema: { type: 'nope' } },
        ],
      }),
    status: 422,
    message: /an entry point is not valid/,
    names: 'main',
  },
  'an entry point whose file is missing': {
    zip: () =>
      packageZip({
        entry_points: [
          { name: 'main', path: 'src/main.py', language: 'python' },
          { name: 'report', path: 'src/report.py', language: 'python' },
        ],
      }),
    status: 422,
    message: /an entry point is not valid/,
    names: 'report',
  },
  'a manifest over 1 MiB': {
    zip: () => packageZip({ description: 'x'.repeat(MIB) }),
    status: 422,
    message: /"fleetplane\.json" is larger than 1048576 bytes/,
    names: 'fleetplane.json',
  },
  'a file that is not a zip': {
    zip: async () => Buffer.from('this is not a zip archive, only text'),
    status: 422,
    message: /not a zip archive/,
  },
  'an upload over max_upload_mib': {
    zip: () => packageZip({}, [{ name: 'big.bin', data: randomBytes(MIB + 1024), compress: false }]),
    status: 413,
    message: /larger than 1 MiB/,
  },
};

function namesIt(details: any[], name: string): boolean {
  return details.some((d) => d.entry === name || d.entry_point === name || d.field === name);
}

const setups: [string, StorageKind][] = dialects.flatMap((d) => [
  [d, 'files'] as [string, StorageKind],
  [d, 'database'] as [string, StorageKind],
]);

describe.each(setups)('packages on %s, blobs in %s', (dialect, storage) => {
  let server: TestServer;
  let owner: Session;
  let strict: Session;

  beforeAll(async () => {
    server = await startTestServer(dialect as 'sqlite' | 'postgres', { config: { storage } });
    owner = await signup(server, 'packager');
    strict = await strictOrg(server);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('packages: an upload is kept by its hash, listed, read with its manifest and downloaded byte for byte', async () => {
    const zip = await packageZip({ name: 'roundtrip', version: '2.1.0-rc.1+build.5' });
    const created = await expectStatus(upload(server, owner.token, zip), 201);
    expect(created).toMatchObject({
      name: 'roundtrip',
      version: '2.1.0-rc.1+build.5',
      description: 'reads invoices',
      hash: sha256(zip),
      size: zip.length,
      active: true,
      created_by: owner.userId,
      entry_points: [{ name: 'main', path: 'src/main.py', language: 'python' }],
      manifest: { name: 'roundtrip', entry_points: [expect.objectContaining({ name: 'main' })] },
    });
    expect((await listPackages(server, owner.token)).map((p) => p.id)).toContain(created.id);
    const one = await expectStatus(
      call(server, 'GET', `/api/v1/packages/${created.id}`, { token: owner.token }),
      200,
    );
    expect(one.manifest.entry_points[0].input_schema).toEqual({
      type: 'object',
      properties: { folder: { type: 'string' } },
    });
    const got = await download(server, `/api/v1/packages/${created.id}/download`, owner.token);
    expect(got.status).toBe(200);
    expect(got.bytes.equals(zip)).toBe(true);
    expect(got.headers.get('content-type')).toBe('application/zip');
    expect(got.headers.get('x-content-sha256')).toBe(sha256(zip));
    expect(got.headers.get('content-length')).toBe(String(zip.length));
    expect(got.headers.get('content-disposition')).toBe(
      'attachment; filename="roundtrip-2.1.0-rc.1+build.5.zip"',
    );
    expect(await storedBlobs(server)).toEqual(
      storage === 'files' ? [sha256(zip)] : [`chunks:${sha256(zip)}`, `row:${sha256(zip)}`],
    );
    await expectStatus(call(server, 'DELETE', `/api/v1/packages/${created.id}`, { token: owner.token }), 204);
    expect(await storedBlobs(server)).toEqual([]);
  });

  for (const [label, refusal] of Object.entries(refusals))
    it(`packages: ${label} is refused (${refusal.status}) and nothing is kept`, async () => {
      const reply = await upload(server, strict.token, await refusal.zip());
      expectError(reply, refusal.status, refusal.status === 413 ? 'payload_too_large' : 'unprocessable');
      expect(reply.body.error.message).toMatch(refusal.message);
      if (refusal.names)
        expect(namesIt(reply.body.error.details, refusal.names), JSON.stringify(reply.body)).toBe(true);
      expect(await listPackages(server, strict.token)).toEqual([]);
      expect(await storedBlobs(server)).toEqual([]);
      expect(leftoverUploads(server)).toEqual([]);
    });

  it('packages: a name and version the organisation has is 409, and the store keeps one blob', async () => {
    const first = await expectStatus(upload(server, owner.token, await packageZip({ name: 'twice' })), 201);
    const again = await upload(
      server,
      owner.token,
      await packageZip({ name: 'twice', description: 'other bytes' }),
    );
    expectError(again, 409, 'conflict');
    expect(await storedBlobs(server)).toHaveLength(storage === 'files' ? 1 : 2);
    expect((await listPackages(server, owner.token)).filter((p) => p.name === 'twice')).toHaveLength(1);
    // Another organisation may use the same name and version.
    const other = await signup(server, 'other');
    await expectStatus(upload(server, other.token, await packageZip({ name: 'twice' })), 201);
    await expectStatus(call(server, 'DELETE', `/api/v1/packages/${first.id}`, { token: owner.token }), 204);
  });

  it('packages: equal bytes in two organisations are one blob, removed with the last package holding it', async () => {
    const zip = await packageZip({ name: 'shared' });
    const other = await signup(server, 'sharer');
    const mine = await expectStatus(upload(server, owner.token, zip), 201);
    const theirs = await expectStatus(upload(server, other.token, zip), 201);
    expect(theirs.hash).toBe(mine.hash);
    const holding = async () => (await storedBlobs(server)).filter((b) => b.endsWith(mine.hash));
    expect(await holding()).not.toEqual([]);
    await expectStatus(call(server, 'DELETE', `/api/v1/packages/${mine.id}`, { token: owner.token }), 204);
    expect(await holding()).not.toEqual([]);
    const got = await download(server, `/api/v1/packages/${theirs.id}/download`, other.token);
    expect(got.bytes.equals(zip)).toBe(true);
    await expectStatus(call(server, 'DELETE', `/api/v1/packages/${theirs.id}`, { token: other.token }), 204);
    expect(await holding()).toEqual([]);
  });

  it("packages: another organisation's package answers 404 everywhere, its blob too", async () => {
    const mine = await expectStatus(upload(server, owner.token, await packageZip({ name: 'private' })), 201);
    const other = await signup(server, 'stranger');
    for (const [method, route] of [
      ['GET', `/api/v1/packages/${mine.id}`],
      ['GET', `/api/v1/packages/${mine.id}/download`],
      ['POST', `/api/v1/packages/${mine.id}/deactivate`],
      ['POST', `/api/v1/packages/${mine.id}/activate`],
      ['DELETE', `/api/v1/packages/${mine.id}`],
    ] as const)
      expectError(await call(server, method, route, { token: other.token }), 404, 'not_found');
    expect(await listPackages(server, other.token)).toEqual([]);
    const theirAgent = await enroll(server, other);
    const myAgent = await enroll(server, owner);
    const agentRoute = `/api/v1/agent/packages/${mine.hash}`;
    expect((await download(server, agentRoute, theirAgent.agentToken)).status).toBe(404);
    const got = await download(server, agentRoute, myAgent.agentToken);
    expect(got.status).toBe(200);
    expect(sha256(got.bytes)).toBe(mine.hash);
    expect(got.headers.get('x-content-sha256')).toBe(mine.hash);
    expect(
      (await download(server, `/api/v1/agent/packages/${'0'.repeat(64)}`, myAgent.agentToken)).status,
    ).toBe(404);
    // A user's token is not an agent's.
    expect((await download(server, agentRoute, owner.token)).status).toBe(401);
  });

  it('packages: the latest active version is picked by semantic version order; inactive ones are skipped', async () => {
    const ids: Record<string, string> = {};
    for (const version of ['1.2.0', '1.10.0', '1.10.0-beta.1', '1.9.9'])
      ids[version] = (
        await expectStatus(upload(server, owner.token, await packageZip({ name: 'picker', version })), 201)
      ).id;
    const service = server.app.services.packages;
    const latest = async () => (await service.resolve(owner.orgId, { name: 'picker' })).version;
    expect(await latest()).toBe('1.10.0');
    const off = await expectStatus(
      call(server, 'POST', `/api/v1/packages/${ids['1.10.0']}/deactivate`, { token: owner.token }),
      200,
    );
    expect(off.active).toBe(false);
    expect(await latest()).toBe('1.10.0-beta.1');
    const inactive = await expectStatus(
      call(server, 'GET', '/api/v1/packages?name=picker&active=false', { token: owner.token }),
      200,
    );
    expect(inactive.items.map((p: { version: string }) => p.version)).toEqual(['1.10.0']);
    expect((await service.resolve(owner.orgId, { name: 'picker', version: '1.10.0' })).id).toBe(
      ids['1.10.0'],
    );
    for (const version of ['1.2.0', '1.10.0-beta.1', '1.9.9'])
      await expectStatus(
        call(server, 'POST', `/api/v1/packages/${ids[version]}/deactivate`, { token: owner.token }),
        200,
      );
    await expect(service.resolve(owner.orgId, { name: 'picker' })).rejects.toMatchObject({
      code: 'unprocessable',
      message: expect.stringMatching(/no active version/),
    });
    await expect(service.resolve(owner.orgId, { name: 'picker', version: '9.9.9' })).rejects.toMatchObject({
      code: 'unprocessable',
    });
    const on = await expectStatus(
      call(server, 'POST', `/api/v1/packages/${ids['1.9.9']}/activate`, { token: owner.token }),
      200,
    );
    expect(on.active).toBe(true);
    expect(await latest()).toBe('1.9.9');
    // An inactive version still downloads: a process pinned to it keeps running.
    expect((await download(server, `/api/v1/packages/${ids['1.10.0']}/download`, owner.token)).status).toBe(
      200,
    );
  });

  it('packages: a package a process uses is not deleted (409 naming it), nor its blob', async () => {
    const pkg = await expectStatus(upload(server, owner.token, await packageZip({ name: 'in-use' })), 201);
    const { services } = server.app;
    // The service as app.ts builds it, with a process holding on to the package.
    const packages = new PackagesService({
      db: server.database.db,
      clock: systemClock,
      audit: services.audit,
      settings: services.settings,
      store: openBlobStore({
        kind: storage,
        dataDir: server.config.dataDir,
        db: server.database.db,
        clock: systemClock,
      }),
      usage: {
        usersOf: async (_db, _org, id) =>
          id === pkg.id ? [{ type: 'process', id: pkg.id, name: 'nightly' }] : [],
      },
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      tmpDir: path.join(server.config.dataDir, 'uploads'),
    });
    const ctx = {
      orgId: owner.orgId,
      actor: { type: 'user' as const, id: owner.userId, label: null },
      userId: owner.userId,
      sessionId: null,
      permissions: PermissionSet.fromRoles([]),
      meta: { ip: null, userAgent: null, requestId: null },
    };
    await expect(packages.remove(ctx, pkg.id)).rejects.toMatchObject({
      code: 'conflict',
      message: 'package is used by process "nightly"',
    });
    expect((await download(server, `/api/v1/packages/${pkg.id}/download`, owner.token)).status).toBe(200);
    await expectStatus(call(server, 'DELETE', `/api/v1/packages/${pkg.id}`, { token: owner.token }), 204);
  });

  it('packages: the list filters by name, text and active, and pages', async () => {
    for (const n of [1, 2, 3])
      await expectStatus(
        upload(
          server,
          owner.token,
          await packageZip({ name: 'paged', version: `0.0.${n}`, description: `needle ${n}` }),
        ),
        201,
      );
    const page1 = await expectStatus(
      call(server, 'GET', '/api/v1/packages?name=paged&limit=2', { token: owner.token }),
      200,
    );
    expect(page1.items.map((p: { version: string }) => p.version)).toEqual(['0.0.3', '0.0.2']);
    const page2 = await expectStatus(
      call(server, 'GET', `/api/v1/packages?name=paged&limit=2&cursor=${page1.next_cursor}`, {
        token: owner.token,
      }),
      200,
    );
    expect(page2.items.map((p: { version: string }) => p.version)).toEqual(['0.0.1']);
    expect(page2.next_cursor).toBeNull();
    const text = await expectStatus(
      call(server, 'GET', '/api/v1/packages?q=NEEDLE%202', { token: owner.token }),
      200,
    );
    expect(text.items.map((p: { version: string }) => p.version)).toEqual(['0.0.2']);
  });

  it('packages: what is not a multipart upload with a file part is a 400', async () => {
    const json = await call(server, 'POST', '/api/v1/packages', { token: owner.token, body: { file: 'x' } });
    expectError(json, 400, 'bad_request');
    const empty = await call(server, 'POST', '/api/v1/packages', { token: owner.token });
    expect(empty.status).toBe(400);
    const form = new FormData();
    form.append('note', 'no file here');
    const noFile = await fetch(`${server.url}/api/v1/packages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.token}` },
      body: form,
    });
    expect(noFile.status).toBe(400);
    expect(((await noFile.json()) as any).error.message).toMatch(/no `file` part/);
  });

  it('packages: a viewer may read but not upload or delete', async () => {
    const pkg = await expectStatus(upload(server, owner.token, await packageZip({ name: 'guarded' })), 201);
    const viewer = await addMember(server, owner, 'viewer');
    expectError(await upload(server, viewer.token, await packageZip({ name: 'sneaky' })), 403, 'forbidden');
    expectError(
      await call(server, 'DELETE', `/api/v1/packages/${pkg.id}`, { token: viewer.token }),
      403,
      'forbidden',
    );
    expect((await download(server, `/api/v1/packages/${pkg.id}/download`, viewer.token)).status).toBe(200);
  });
});
