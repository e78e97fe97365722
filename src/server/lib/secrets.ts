/**
 * The one secret policy: which names hold secrets and how a secret is shown. A value under a
 * secret name (an audit field, a setting, a job's `env` variable) is shown as the mask, and an
 * environment value is also stored sealed (SecretBox in crypto.ts). Every value of a
 * `secret_env` map is secret, whatever its name.
 */

/** What a secret is shown as, everywhere. */
export const MASK = '********';

/** The field of jobs, runs, tasks and schedules whose every value is secret. */
const SECRET_ENV = 'secret_env';

/** Secret anywhere in a name: none of these occurs by chance inside a harmless word. */
const SECRET_PART =
  /password|passwd|passphrase|secret|token|credential|private|hash|cookie|(?:api|access|signing|encryption|master|ssh)_?key/i;

/**
 * Secret as a whole word of a name: short words that occur inside harmless ones (PASSENGER,
 * AUTHOR, CONCERT), so `DB_PASS` and `AUTH_HEADER` are secret and `PASSENGER_COUNT` is not.
 */
const SECRET_WORDS = new Set([
  'PASS',
  'AUTH',
  'AUTHORIZATION',
  'SESSION',
  'SESSIONS',
  'CERT',
  'CERTS',
  'CERTIFICATE',
]);

/** Words of a name: split on `_` (and anything else not a letter or digit) and at camelCase humps. */
const WORD_BREAK = /[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])/;

/** Field and environment variable names whose values are secrets: masked when shown, sealed at rest. */
export function isSecretKey(name: string): boolean {
  if (SECRET_PART.test(name)) return true;
  const words = name
    .split(WORD_BREAK)
    .filter((word) => word !== '')
    .map((word) => word.toUpperCase());
  // `PWD` alone is the shell's working directory; as a word of a longer name (`DB_PWD`) a password.
  return words.some((word) => SECRET_WORDS.has(word) || (word === 'PWD' && words.length > 1));
}

/** Every value masked, the names kept: how a `secret_env` map is shown. */
export function maskAll(values: Readonly<Record<string, unknown>>): Record<string, string> {
  return Object.fromEntries(Object.keys(values).map((name) => [name, MASK]));
}

/** Numbers and flags under secret-looking names (`password_min_length`) are settings, not secrets. */
function isSecretValue(value: unknown): boolean {
  return value != null && value !== '' && typeof value !== 'number' && typeof value !== 'boolean';
}

/** Masks every secret-looking field, at any depth, so audit rows and views never hold a secret. */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => {
      if (key === SECRET_ENV && inner !== null && typeof inner === 'object')
        return [key, maskAll(inner as Record<string, unknown>)];
      return [key, isSecretKey(key) && isSecretValue(inner) ? MASK : maskSecrets(inner)];
    }),
  );
}

/**
 * A value given back as the mask (a client sending what it read) keeps the value stored under its
 * name, so an edit of something else does not overwrite a secret with asterisks.
 */
export function keepMasked(
  given: Readonly<Record<string, string>>,
  stored: Readonly<Record<string, string>>,
): Record<string, string> {
  return Object.fromEntries(
    Object.entries(given).map(([name, value]) => {
      const kept = Object.hasOwn(stored, name) ? stored[name] : undefined;
      return [name, value === MASK && kept !== undefined ? kept : value];
    }),
  );
}
