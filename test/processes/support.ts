import { buildZip, upload } from '../packages/zips.js';
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
export function packageZip(name: string, version: string, entryPoints = ENTRY_POINTS): Promise<Buffer> {
  const manifest = { name, version, description: `${name} ${version}`, entry_points: entryPoints };
  return buildZip([
    { name: 'fleetplane.json', data: JSON.stringify(manifest) },
    ...entryPoints.map((entry) => ({ name: entry.path, data: `# ${entry.name} ${version}\n` })),
  ]);
}

/** Uploads a package as a console would (a multipart form); answers the package, failing unless 201. */
export async function uploadPackage(
  server: Pick<TestServer, 'url'>,
  session: Session,
  name: string,
  version: string,
  entryPoints = ENTRY_POINTS,
): Promise<any> {
  const zip = await packageZip(name, version, entryPoints);
  return expectStatus(upload(server, session.token, zip, `${name}-${version}.zip`), 201);
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
