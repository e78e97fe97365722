import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import yazl from 'yazl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StorageKind } from '../../src/server/config.js';
import { expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { manifest, packageZip, upload } from './zips.js';

const MIB = 1024 * 1024;
const PAYLOAD_MIB = 50;

// The server runs in this process: a forced collection before each sample leaves only live memory.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function liveBytes(): number {
  // V8 frees dead buffers' memory on a background thread after a collection, and finishes that at
  // the start of the next one: the second collection makes the count exact on a busy machine.
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/** A package of about PAYLOAD_MIB of random (incompressible) bytes, written to disk as it is built. */
async function bigPackage(file: string): Promise<void> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(manifest({ name: 'big-bot' })), 'fleetplane.json');
  zip.addBuffer(Buffer.from('print(1)\n'), 'src/main.py');
  const data = Readable.from(
    (function* () {
      for (let i = 0; i < PAYLOAD_MIB; i += 1) yield randomBytes(MIB);
    })(),
  );
  zip.addReadStream(data, 'data.bin', { compress: false });
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(file));
}

/**
 * Uploads the file with curl: the client is another process, so what this process holds is the
 * server's alone (and undici's fetch reads a streamed body ahead of the socket without bound).
 */
function curlUpload(url: string, token: string, file: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', [
      '-sS',
      '-w',
      '\n%{http_code}',
      '-H',
      `authorization: Bearer ${token}`,
      '-F',
      `file=@${file};type=application/zip`,
      url,
    ]);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', () => {
      const at = out.lastIndexOf('\n');
      resolve({ status: Number(out.slice(at + 1)), body: JSON.parse(out.slice(0, at) || 'null') });
    });
  });
}

const setups = dialects.flatMap((d) => (['files', 'database'] as StorageKind[]).map((s) => [d, s] as const));

describe.each(setups)('packages: a %s server with blobs in %s streams uploads', (dialect, storage) => {
  let server: TestServer;
  let owner: Session;
  let dir: string;
  let zipFile: string;

  beforeAll(async () => {
    server = await startTestServer(dialect, { config: { storage } });
    owner = await signup(server, 'streamer');
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-big-'));
    zipFile = path.join(dir, 'big.zip');
    await bigPackage(zipFile);
  });
  afterAll(async () => {
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it(`packages: a ${PAYLOAD_MIB} MiB upload never holds the file in memory, and downloads whole`, async () => {
    const size = statSync(zipFile).size;
    expect(size).toBeGreaterThan(PAYLOAD_MIB * MIB);
    // A small upload first: what the first request loads and compiles is not the file's doing.
    await expectStatus(upload(server, owner.token, await packageZip({ name: 'warm-up' })), 201);
    const baseline = liveBytes();
    let peak = baseline;
    // Each sample is a full collection: the next waits for the last to end, else on a busy machine
    // the collections run back to back and the upload crawls. A file held whole stays until the
    // request ends, so a sample every half second sees it.
    let sampler: NodeJS.Timeout | undefined;
    const sample = () => {
      peak = Math.max(peak, liveBytes());
      sampler = setTimeout(sample, 500);
    };
    sampler = setTimeout(sample, 500);
    let reply: { status: number; body: any };
    try {
      reply = await curlUpload(`${server.url}/api/v1/packages`, owner.token, zipFile);
    } finally {
      clearTimeout(sampler);
    }
    const created = reply.body;
    expect(reply.status, JSON.stringify(created)).toBe(201);
    const growthMib = (peak - baseline) / MIB;
    console.log(
      `${dialect}/${storage}: ${(size / MIB).toFixed(1)} MiB upload, live memory grew at most ${growthMib.toFixed(1)} MiB`,
    );
    // Holding the file would add at least its size; streaming stays within buffers of a few MiB.
    expect(growthMib).toBeLessThan(PAYLOAD_MIB / 2);

    const hash = createHash('sha256');
    for await (const chunk of createReadStream(zipFile)) hash.update(chunk as Buffer);
    expect(created).toMatchObject({ size, hash: hash.digest('hex') });

    const down = await fetch(`${server.url}/api/v1/packages/${created.id}/download`, {
      headers: { authorization: `Bearer ${owner.token}` },
    });
    expect(down.status).toBe(200);
    const back = createHash('sha256');
    let bytes = 0;
    for await (const chunk of Readable.fromWeb(down.body as any)) {
      back.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    expect({ bytes, hash: back.digest('hex') }).toEqual({ bytes: size, hash: created.hash });
    await expectStatus(
      fetch(`${server.url}/api/v1/packages/${created.id}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${owner.token}` },
      }).then((r) => ({ status: r.status, body: null, headers: r.headers })),
      204,
    );
  }, 180_000);
});
