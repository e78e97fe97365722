import { buffer } from 'node:stream/consumers';
import { ZipFile } from 'yazl';
import { expectStatus, call, type Session } from '../support/client.js';
import type { TestServer } from '../support/harness.js';

export interface EntryPoint {
  name: string;
  path: string;
  language: 'python' | 'node' | 'powershell' | 'sh';
  input_schema?: Record<string, unknown>;
}

/** An input schema of the kind a real process declares: a required URL and a bounded count. */
export const REPORT_SCHEMA = {
  type: 'object',
  properties: {
    url: { type: 'string', format: 'uri' },
    count: { type: 'integer', minimum: 1, maximum: 10 },
    dry_run: { type: 'boolean' },
  },
  required: ['url'],
  additionalProperties: false,
};

export const ENTRY_POINTS: EntryPoint[] = [
  { name: 'report', path: 'src/report.py', language: 'python', input_schema: REPORT_SCHEMA },
  { name: 'cleanup', path: 'cleanup.sh', language: 'sh' },
];

/** A real package zip: a manifest at its root and a file for each entry point. */
export async function packageZip(name: string, version: string, entryPoints = ENTRY_POINTS): Promise<Buffer> {
  const zip = new ZipFile();
  const manifest = { name, version, description: `${name} ${version}`, entry_points: entryPoints };
  zip.addBuffer(Buffer.from(JSON.stringify(manifest)), 'fleetplane.json');
  for (const entry of entryPoints) zip.addBuffer(Buffer.from(`# ${entry.name} ${version}\n`), entry.path);
  zip.end();
  return buffer(zip.outputStream);
}

/** Uploads a package as a console would: a multipart form with the zip as its file part. */
export async function uploadPackage(
  server: Pick<TestServer, 'url'>,
  session: Session,
  name: string,
  version: string,
  entryPoints = ENTRY_POINTS,
): Promise<any> {
  const form = new FormData();
  const zip = await packageZip(name, version, entryPoints);
  form.append('file', new Blob([new Uint8Array(zip)], { type: 'application/zip' }), `${name}-${version}.zip`);
  const response = await fetch(`${server.url}/api/v1/packages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${session.token}` },
    body: form,
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`package upload: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** Takes a package version out of "latest active" resolution. */
export function deactivatePackage(
  server: Pick<TestServer, 'url'>,
  session: Session,
  id: string,
): Promise<any> {
  return expectStatus(
    call(server, 'POST', `/api/v1/packages/${id}/deactivate`, { token: session.token }),
    200,
  );
}

/** A process body of the `report` entry point of a package, with a valid default input. */
export function processBody(packageName: string, overrides: Record<string, unknown> = {}) {
  return {
    name: `${packageName} report`,
    package_name: packageName,
    entry_point: 'report',
    default_input: { url: 'https://example.test/data', count: 3 },
    ...overrides,
  };
}
