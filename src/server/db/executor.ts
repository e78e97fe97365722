import { PostgresAdapter, SqliteAdapter, type Kysely } from 'kysely';
import type { DB } from './schema.js';

/** A database handle or an open transaction; services pass it through to repos untouched. */
export type Executor = Kysely<DB>;

export function inTransaction<T>(db: Executor, work: (trx: Executor) => Promise<T>): Promise<T> {
  return db.transaction().execute(work);
}

/** The one table of dialect differences; code asks for a capability, never for a dialect. */
export interface DialectCaps {
  /** `FOR UPDATE SKIP LOCKED` exists, so several nodes can claim rows concurrently. */
  readonly skipLocked: boolean;
  /** `SELECT … FOR UPDATE` exists; without it (SQLite) the single writer already serialises. */
  readonly rowLocks: boolean;
  /** LISTEN/NOTIFY exists, so events can cross server nodes. */
  readonly notify: boolean;
  /** Case-insensitive LIKE operator. */
  readonly ilike: 'ilike' | 'like';
}

export const SQLITE_CAPS: DialectCaps = {
  skipLocked: false,
  rowLocks: false,
  notify: false,
  ilike: 'like',
};

export const POSTGRES_CAPS: DialectCaps = {
  skipLocked: true,
  rowLocks: true,
  notify: true,
  ilike: 'ilike',
};

/**
 * The capabilities of the database behind a handle or a transaction (both share the dialect's
 * adapter), so repositories ask for them where the SQL differs and services never carry them.
 * A class check on a field read: cheap enough for the claim path.
 */
export function capsOf(db: Executor): DialectCaps {
  const adapter = db.getExecutor().adapter;
  if (adapter instanceof PostgresAdapter) return POSTGRES_CAPS;
  if (adapter instanceof SqliteAdapter) return SQLITE_CAPS;
  throw new Error(`no dialect capabilities known for ${adapter.constructor.name}`);
}
