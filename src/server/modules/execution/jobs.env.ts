import { AppError, type ErrorDetail } from '../../lib/errors.js';

/**
 * Fleetplane's own variables start with this: script parameters (`FP_PARAM_*`, `FP_SECRET_*`)
 * and file copies (`FP_FILE_*`). A name a user gives may not, so it can never replace one of them.
 */
export const RESERVED_ENV_PREFIX = 'FP_';

/** The environment a user gives a job, run, task, schedule or script run. */
export interface EnvInput {
  env?: Readonly<Record<string, string>>;
  secret_env?: Readonly<Record<string, string>>;
}

/**
 * Problems with the names a user gives, as 422 details under `prefix` (their syntax is the
 * schema's, 400): a reserved name, or a name given twice, in `env` and `secret_env` or in two
 * cases, since Windows environments ignore case and one value would silently replace the other.
 */
export function envProblems(input: EnvInput, prefix = ''): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const seen = new Map<string, string>();
  for (const field of ['env', 'secret_env'] as const) {
    for (const name of Object.keys(input[field] ?? {})) {
      const at = `${field}.${name}`;
      const key = name.toUpperCase();
      if (key.startsWith(RESERVED_ENV_PREFIX))
        details.push({
          field: `${prefix}${at}`,
          message: `is reserved: names starting with ${RESERVED_ENV_PREFIX} are Fleetplane's own (script parameters, file copies)`,
        });
      const first = seen.get(key);
      if (first === undefined) seen.set(key, at);
      else
        details.push({
          field: `${prefix}${at}`,
          message: `is given twice: also as ${first} (names ignore case)`,
        });
    }
  }
  return details;
}

/** Refuses (422) the names envProblems finds wrong. */
export function assertEnvNames(input: EnvInput, prefix = ''): void {
  const details = envProblems(input, prefix);
  if (details.length > 0)
    throw new AppError('unprocessable', 'environment variable names are not valid', { details });
}
