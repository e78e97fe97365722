import type { Logger } from '../lib/logger.js';

/** SQLSTATEs of a server going away: admin or crash shutdown, starting up, no connection slot left. */
const GONE_CODES = new Set(['57P01', '57P02', '57P03', '53300']);
/** Socket errors on the way to the database. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** What `pg` itself says when a connection died under a query or could not be made in time. */
const DRIVER_MESSAGES = [
  /^Connection terminated/,
  /not queryable/,
  /timeout exceeded when trying to connect/,
];

/**
 * Whether an error means the database cannot be reached now (as opposed to a query it refused):
 * the one place that tells, for the HTTP edge (503) and for background work (wait and retry).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  if (typeof code === 'string') {
    // class 08: connection exceptions
    if (code.startsWith('08') || GONE_CODES.has(code) || NETWORK_CODES.has(code)) return true;
  }
  // A FATAL error ends the session whatever its code (a database refusing connections says 55000).
  if (severity === 'FATAL' || severity === 'PANIC') return true;
  return DRIVER_MESSAGES.some((pattern) => pattern.test(error.message));
}

export type AvailabilityChange = { reachable: true } | { reachable: false; error: unknown; during: string };

/**
 * Whether this node reaches its database, as its connections tell. States: reachable →
 * (a connection fails) unreachable → (a new connection is made) reachable. SQLite never leaves
 * `reachable`: it is a file inside the process.
 */
export class DatabaseAvailability {
  readonly #listeners = new Set<(change: AvailabilityChange) => void>();
  #reachable = true;

  get reachable(): boolean {
    return this.#reachable;
  }

  lost(error: unknown, during: string): void {
    if (!this.#reachable) return;
    this.#reachable = false;
    for (const listener of this.#listeners) listener({ reachable: false, error, during });
  }

  regained(): void {
    if (this.#reachable) return;
    this.#reachable = true;
    for (const listener of this.#listeners) listener({ reachable: true });
  }

  onChange(listener: (change: AvailabilityChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * The logger services write to: a line whose `err` says the database is unreachable marks the
 * outage and is not written, so every loop ticking through an outage does not log each tick;
 * the outage itself is logged once, by whoever listens to the availability. Other lines pass.
 */
export function outageAwareLogger(logger: Logger, availability: DatabaseAvailability): Logger {
  const absorbed = (obj: object, msg: string | undefined): boolean => {
    const { err } = obj as { err?: unknown };
    if (!isDatabaseUnavailable(err)) return false;
    availability.lost(err, msg ?? 'background work');
    return true;
  };
  return {
    info: (obj, msg) => logger.info(obj, msg),
    warn: (obj, msg) => {
      if (!absorbed(obj, msg)) logger.warn(obj, msg);
    },
    error: (obj, msg) => {
      if (!absorbed(obj, msg)) logger.error(obj, msg);
    },
  };
}
