import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { ErrorDetail } from '../../lib/errors.js';
import { jsonValidator } from '../../http/validation.js';
import { Manifest } from './packages.schemas.js';
import { isSemver } from '../../lib/semver.js';
import { MANIFEST_NAME, refused, unsafePath } from './zip.js';

const validManifest = jsonValidator<Manifest>(Manifest);

function field(path: string): string {
  return `${MANIFEST_NAME}${path.replaceAll('/', '.')}`;
}

/** Why an input schema is not a JSON Schema, or undefined when ajv compiles it. */
function schemaProblem(schema: object): string | undefined {
  // A fresh instance each time: one package's `$id` must not clash with another's.
  const ajv = new Ajv({ strict: false, allErrors: false });
  addFormats.default(ajv);
  try {
    ajv.compile(schema);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function entryPointProblems(manifest: Manifest, files: Set<string>): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const seen = new Set<string>();
  manifest.entry_points.forEach((entry, i) => {
    const at = (key: string) => field(`/entry_points/${i}/${key}`);
    if (seen.has(entry.name))
      details.push({ field: at('name'), entry_point: entry.name, message: 'is used by another entry point' });
    seen.add(entry.name);
    const unsafe = unsafePath(entry.path);
    if (unsafe) details.push({ field: at('path'), entry_point: entry.name, message: unsafe });
    else if (!files.has(entry.path))
      details.push({
        field: at('path'),
        entry_point: entry.name,
        message: `"${entry.path}" is not a file of the package`,
      });
    const problem = entry.input_schema && schemaProblem(entry.input_schema);
    if (problem)
      details.push({
        field: at('input_schema'),
        entry_point: entry.name,
        message: `is not a valid JSON Schema: ${problem}`,
      });
  });
  return details;
}

/**
 * The manifest of a package, checked: its shape, a strict semantic version, and entry points
 * whose files exist in the zip (`files`) and whose input schemas compile. Refusals are 422 with
 * a detail per problem naming the field (and the entry point).
 */
export function parseManifest(text: string, files: Set<string>): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw refused(`${MANIFEST_NAME} is not valid JSON`, [
      { field: MANIFEST_NAME, message: (error as Error).message },
    ]);
  }
  if (!validManifest(value))
    throw refused(
      `${MANIFEST_NAME} is not valid`,
      (validManifest.errors ?? []).map((e) => {
        const missing = typeof e.params.missingProperty === 'string' ? `/${e.params.missingProperty}` : '';
        const extra =
          typeof e.params.additionalProperty === 'string' ? `/${e.params.additionalProperty}` : '';
        return { field: field(`${e.instancePath}${missing}${extra}`), message: e.message ?? 'is not valid' };
      }),
    );
  const manifest = value;
  if (!isSemver(manifest.version))
    throw refused(`${MANIFEST_NAME}: "${manifest.version}" is not a semantic version`, [
      { field: field('/version'), message: 'must be a semantic version such as 1.2.3 or 1.2.3-beta.1' },
    ]);
  const problems = entryPointProblems(manifest, files);
  if (problems.length > 0) throw refused(`${MANIFEST_NAME}: an entry point is not valid`, problems);
  return manifest;
}
