import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import yazl from 'yazl';
import { call, type Reply } from '../support/client.js';
import type { TestServer } from '../support/harness.js';

export interface ZipEntry {
  name: string;
  data: Buffer | string;
  /** Unix mode, file type bits included (0o120777 for a symlink). */
  mode?: number;
  /** Deflate (default) or store. */
  compress?: boolean;
}

/** A zip of these entries, built with yazl as a developer's tool would. */
export function buildZip(entries: ZipEntry[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const entry of entries)
    zip.addBuffer(Buffer.isBuffer(entry.data) ? entry.data : Buffer.from(entry.data), entry.name, {
      compress: entry.compress ?? true,
      ...(entry.mode === undefined ? {} : { mode: entry.mode }),
    });
  zip.end();
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    zip.outputStream.on('data', (chunk: Buffer) => chunks.push(chunk));
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    zip.outputStream.on('error', reject);
  });
}

export function manifest(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    name: 'invoice-bot',
    version: '1.0.0',
    description: 'reads invoices',
    entry_points: [
      {
        name: 'main',
        path: 'src/main.py',
        language: 'python',
        input_schema: { type: 'object', properties: { folder: { type: 'string' } } },
      },
    ],
    ...overrides,
  });
}

/** A valid package: its manifest, the entry point's file, and more files if given. */
export function packageZip(overrides: Record<string, unknown> = {}, more: ZipEntry[] = []): Promise<Buffer> {
  return buildZip([
    { name: 'fleetplane.json', data: manifest(overrides) },
    { name: 'src/main.py', data: 'print("hello")\n' },
    ...more,
  ]);
}

/**
 * A zip whose entry names no zip tool would write: built with same-length placeholders, which
 * are then replaced in the local and central headers alike.
 */
export function renamed(zip: Buffer, names: Record<string, string>): Buffer {
  let bytes = Buffer.from(zip);
  for (const [placeholder, name] of Object.entries(names)) {
    if (Buffer.byteLength(placeholder) !== Buffer.byteLength(name))
      throw new Error(`${placeholder} and ${name} differ in length`);
    const from = Buffer.from(placeholder);
    const to = Buffer.from(name);
    let at = bytes.indexOf(from);
    if (at < 0) throw new Error(`${placeholder} is not in the zip`);
    while (at >= 0) {
      to.copy(bytes, at);
      at = bytes.indexOf(from, at + to.length);
    }
    bytes = Buffer.from(bytes);
  }
  return bytes;
}

const CENTRAL_HEADER = 0x02014b50;

/** A zip whose central directory claims `size` uncompressed bytes for the entry: a bomb's lie. */
export function lyingAboutSize(zip: Buffer, name: string, size: number): Buffer {
  const bytes = Buffer.from(zip);
  for (let at = 0; at + 46 <= bytes.length; at += 1) {
    if (bytes.readUInt32LE(at) !== CENTRAL_HEADER) continue;
    const nameLength = bytes.readUInt16LE(at + 28);
    if (bytes.subarray(at + 46, at + 46 + nameLength).toString('utf8') !== name) continue;
    bytes.writeUInt32LE(size, at + 24);
    return bytes;
  }
  throw new Error(`no central directory entry for ${name}`);
}

/** Uploads a zip as a browser form would: multipart/form-data with one `file` part. */
export async function upload(
  server: Pick<TestServer, 'url'>,
  token: string,
  zip: Buffer,
  filename = 'package.zip',
): Promise<Reply> {
  const form = new FormData();
  form.append('file', new Blob([zip], { type: 'application/zip' }), filename);
  const response = await fetch(`${server.url}/api/v1/packages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: form,
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body, headers: response.headers };
}

/** A GET answered as bytes. */
export async function download(
  server: Pick<TestServer, 'url'>,
  route: string,
  token: string,
): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const response = await fetch(`${server.url}${route}`, { headers: { authorization: `Bearer ${token}` } });
  return {
    status: response.status,
    bytes: Buffer.from(await response.arrayBuffer()),
    headers: response.headers,
  };
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
}

/** Every blob the server keeps, wherever it keeps them: files in the data dir, rows in the database. */
export async function storedBlobs(server: TestServer): Promise<string[]> {
  const files = filesUnder(path.join(server.config.dataDir, 'blobs')).map((file) => path.basename(file));
  const rows = await server.database.db.selectFrom('blobs').select('hash').execute();
  const chunks = await server.database.db.selectFrom('blob_chunks').select('hash').distinct().execute();
  return [...files, ...rows.map((r) => `row:${r.hash}`), ...chunks.map((r) => `chunks:${r.hash}`)].sort();
}

/** Temporary files of uploads still on disk. */
export function leftoverUploads(server: TestServer): string[] {
  return filesUnder(path.join(server.config.dataDir, 'uploads'));
}

export async function listPackages(server: Pick<TestServer, 'url'>, token: string): Promise<any[]> {
  const reply = await call(server, 'GET', '/api/v1/packages?limit=200', { token });
  if (reply.status !== 200) throw new Error(`list: ${reply.status}`);
  return reply.body.items;
}
