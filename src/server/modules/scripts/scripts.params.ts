import { AppError, type ErrorDetail } from '../../lib/errors.js';
import { MASK } from '../../lib/secrets.js';
import type { ParameterDefinition, ParameterValue } from './scripts.schemas.js';

/**
 * Script parameters reach the script only as environment variables: `FP_PARAM_<NAME>`, or
 * `FP_SECRET_<NAME>` for secrets (a key the API and the audit log mask). The script text is
 * sent exactly as written, so no value can add shell, PowerShell or Python code: a value is
 * data wherever the script expands it, as long as the script quotes it (`"$FP_PARAM_HOST"`,
 * `$env:FP_PARAM_HOST`, `os.environ["FP_PARAM_HOST"]`).
 */
export const PARAM_ENV_PREFIX = 'FP_PARAM_';
export const SECRET_ENV_PREFIX = 'FP_SECRET_';

export function envNameOf(definition: Pick<ParameterDefinition, 'name' | 'type'>): string {
  const prefix = definition.type === 'secret' ? SECRET_ENV_PREFIX : PARAM_ENV_PREFIX;
  return `${prefix}${definition.name.toUpperCase()}`;
}

/**
 * The values with each secret parameter's value passed through `change`: masked when shown,
 * sealed when stored. `definitions` are the script's; none when the script is gone.
 */
export function mapSecretValues(
  values: Readonly<Record<string, ParameterValue>>,
  definitions: readonly ParameterDefinition[] | null,
  change: (value: string, name: string) => string,
): Record<string, ParameterValue> {
  const secrets = new Set((definitions ?? []).filter((d) => d.type === 'secret').map((d) => d.name));
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [
      name,
      secrets.has(name) && typeof value === 'string' ? change(value, name) : value,
    ]),
  );
}

/**
 * A secret given back as the mask (a client sending what it read) keeps the value stored for it,
 * so editing something else does not overwrite the secret with asterisks.
 */
export function restoreMaskedSecrets(
  values: Readonly<Record<string, ParameterValue>>,
  stored: Readonly<Record<string, ParameterValue>>,
  definitions: readonly ParameterDefinition[] | null,
): Record<string, ParameterValue> {
  return mapSecretValues(values, definitions, (value, name) => {
    const kept = stored[name];
    return value === MASK && typeof kept === 'string' ? kept : value;
  });
}

/** Why a value does not fit its definition, or null when it does. */
function mismatch(definition: ParameterDefinition, value: ParameterValue): string | null {
  switch (definition.type) {
    case 'number':
      return typeof value === 'number' ? null : 'must be a number';
    case 'boolean':
      return typeof value === 'boolean' ? null : 'must be true or false';
    case 'enum':
      return typeof value === 'string' && (definition.values ?? []).includes(value)
        ? null
        : `must be one of: ${(definition.values ?? []).join(', ')}`;
    case 'string':
    case 'secret':
      if (typeof value !== 'string') return 'must be a string';
      // An environment variable cannot hold NUL: refused here rather than failing on the agent.
      return value.includes('\0') ? 'must not contain a NUL character' : null;
  }
}

/** Problems with a set of parameter definitions, as 422 details; empty when they are sound. */
export function checkDefinitions(definitions: readonly ParameterDefinition[]): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const seen = new Set<string>();
  definitions.forEach((definition, i) => {
    const field = `parameters.${i}`;
    // Upper-cased in the env name, and Windows environments ignore case: `host` and `HOST` would clash.
    const key = definition.name.toUpperCase();
    if (seen.has(key)) details.push({ field: `${field}.name`, message: 'is used twice (names ignore case)' });
    seen.add(key);
    if (definition.type === 'enum' && !definition.values)
      details.push({ field: `${field}.values`, message: 'an enum parameter lists its values' });
    if (definition.type !== 'enum' && definition.values)
      details.push({ field: `${field}.values`, message: 'only enum parameters have values' });
    if (definition.default === undefined) return;
    if (definition.type === 'secret') {
      // A default would be stored with the script and shown to everyone who can read it.
      details.push({ field: `${field}.default`, message: 'a secret parameter has no default' });
      return;
    }
    const wrong = mismatch(definition, definition.default);
    if (wrong) details.push({ field: `${field}.default`, message: wrong });
  });
  return details;
}

/**
 * Definitions in one key order, without absent keys: stored this way, re-sending the same
 * parameters in another order is no change, and so no new version.
 */
export function normalizeDefinitions(definitions: readonly ParameterDefinition[]): ParameterDefinition[] {
  return definitions.map((d) => ({
    name: d.name,
    type: d.type,
    ...(d.description === undefined ? {} : { description: d.description }),
    ...(d.default === undefined ? {} : { default: d.default }),
    ...(d.required === undefined ? {} : { required: d.required }),
    ...(d.values === undefined ? {} : { values: d.values }),
  }));
}

/** A saved command is one line, so the console can show and run it as such. */
export function checkKind(kind: string, content: string): ErrorDetail[] {
  return kind === 'command' && /[\r\n]/.test(content.trimEnd())
    ? [{ field: 'content', message: 'a saved command is one line' }]
    : [];
}

export function unprocessable(message: string, details: ErrorDetail[]): AppError {
  return new AppError('unprocessable', message, { details });
}

/**
 * Checks the values given against the definitions and renders them as environment variables.
 * Every problem is reported at once (422), one detail per parameter, before anything is queued.
 * A parameter with no value and no default is left unset, so a script can tell it was not given.
 */
export function renderParameters(
  definitions: readonly ParameterDefinition[],
  values: Readonly<Record<string, ParameterValue>> = {},
): Record<string, string> {
  const details: ErrorDetail[] = [];
  const known = new Set(definitions.map((d) => d.name));
  for (const name of Object.keys(values))
    if (!known.has(name)) details.push({ field: `parameters.${name}`, message: 'unknown parameter' });
  const env: Record<string, string> = {};
  for (const definition of definitions) {
    const field = `parameters.${definition.name}`;
    // hasOwn: a parameter named like an Object member (`constructor`) must not read the prototype.
    const value = Object.hasOwn(values, definition.name) ? values[definition.name] : definition.default;
    if (value === undefined) {
      if (definition.required) details.push({ field, message: 'is required' });
      continue;
    }
    const wrong = mismatch(definition, value);
    if (wrong) details.push({ field, message: wrong, type: definition.type });
    else env[envNameOf(definition)] = String(value);
  }
  if (details.length > 0) throw unprocessable('script parameters are not valid', details);
  return env;
}
