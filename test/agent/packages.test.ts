import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PackageCache } from '../../src/agent/packages.js';
import { buildZip, renamed } from '../packages/zips.js';

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * The agent's package cache against a real HTTP server: a package is fetched with the agent's
 * token, checked against its hash, unpacked once and reused; a package whose bytes do not match
 * its hash, or whose entries would leave its directory, is refused and leaves nothing behind.
 */
describe('agent: package cache', () => {
  const blobs = new Map<string, Buffer>();
  const requests: { url: string; authorization: string | undefined }[] = [];
  let server: Server;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    server = createServer((request, response) => {
      requests.push({ url: request.url ?? '', authorization: request.headers.authorization });
      const hash = (request.url ?? '').split('/').pop() ?? '';
      const blob = blobs.get(hash);
      if (!blob) {
        response.writeHead(404).end();
        return;
      }
      response.writeHead(200, { 'content-type': 'application/zip' }).end(blob);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-packages-'));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const cache = () => new PackageCache({ dir, server: url, token: () => 'agent-token' });

  it('fetches with the agent token, unpacks once, and serves the same directory after', async () => {
    const zip = await buildZip([
      { name: 'fleetplane.json', data: '{}' },
      { name: 'bin/main.sh', data: 'echo hi\n' },
    ]);
    const hash = sha256(zip);
    blobs.set(hash, zip);
    const before = requests.length;
    const root = await cache().unpacked(hash);
    expect(readFileSync(path.join(root, 'bin/main.sh'), 'utf8')).toBe('echo hi\n');
    expect(requests.slice(before)).toEqual([
      { url: `/api/v1/agent/packages/${hash}`, authorization: 'Bearer agent-token' },
    ]);
    expect(await cache().unpacked(hash)).toBe(root);
    expect(requests.length).toBe(before + 1);
  });

  it('refuses bytes that do not match the hash, and keeps nothing', async () => {
    const zip = await buildZip([{ name: 'a.txt', data: 'a' }]);
    const claimed = sha256(Buffer.from('something else'));
    blobs.set(claimed, zip);
    await expect(cache().unpacked(claimed)).rejects.toThrow(/arrived with hash/);
    expect(readdirSync(dir)).not.toContain(claimed);
    expect(readdirSync(dir).filter((name) => name.startsWith('.incoming-'))).toEqual([]);
  });

  it('refuses entries and symbolic links that leave the package', async () => {
    const escaping = renamed(await buildZip([{ name: 'xx/evil.sh', data: 'x' }]), {
      'xx/evil.sh': '../evil.sh',
    });
    const link = await buildZip([{ name: 'link', data: '/etc/passwd', mode: 0o120777 }]);
    for (const [zip, reason] of [
      [escaping, /leaves the package|invalid relative path/],
      [link, /links outside the package/],
    ] as const) {
      const hash = sha256(zip);
      blobs.set(hash, zip);
      await expect(cache().unpacked(hash)).rejects.toThrow(reason);
      expect(readdirSync(dir)).not.toContain(hash);
    }
    expect(readdirSync(path.dirname(dir)).some((name) => name === 'evil.sh')).toBe(false);
  });

  it('keeps a symbolic link that points inside the package', async () => {
    const zip = await buildZip([
      { name: 'lib/real.sh', data: 'echo real\n' },
      { name: 'bin/run.sh', data: '../lib/real.sh', mode: 0o120777 },
    ]);
    const hash = sha256(zip);
    blobs.set(hash, zip);
    const root = await cache().unpacked(hash);
    expect(readFileSync(path.join(root, 'bin/run.sh'), 'utf8')).toBe('echo real\n');
  });

  it('refuses a hash that is not a SHA-256 without asking the server', async () => {
    const before = requests.length;
    await expect(cache().unpacked('../../etc')).rejects.toThrow(/not a SHA-256/);
    expect(requests.length).toBe(before);
  });
});
