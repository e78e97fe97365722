import type { Kysely } from 'kysely';
import type { DB } from './schema.js';

/** A database handle or an open transaction; services pass it through to repos untouched. */
export type Executor = Kysely<DB>;

export function inTransaction<T>(db: Executor, work: (trx: Executor) => Promise<T>): Promise<T> {
  return db.transaction().execute(work);
}
