import type { DeleteResult } from 'kysely';
import type { Executor } from '../../db/executor.js';

/**
 * What housekeeping deletes. Each module that owns a table says how its expired rows are found
 * and deleted (it owns the table, so it owns the rule); housekeeping runs them in bounded batches,
 * once across server nodes, and records how many rows each deleted.
 */

/** Rows that expire by a time of their own (a session's `expires_at`). */
export interface ExpiryPurge {
  /** The name the run's counts use. */
  kind: string;
  /** Deletes at most `limit` rows expired at `now` (ISO); answers how many it deleted. */
  deleteExpired(db: Executor, now: string, limit: number): Promise<number>;
}

/** Rows an organisation keeps for as many days as one of its settings says. */
export interface RetentionPurge {
  kind: string;
  /** The days `orgId` keeps these rows (null: rows of no organisation, kept as the instance says); 0 keeps them. */
  retentionDays(orgId: string | null): Promise<number>;
  /** Whether rows of no organisation exist (instance events in the audit log). */
  orphans: boolean;
  /** Deletes at most `limit` rows of `orgId` older than `before` (ISO); answers how many it deleted. */
  deleteOlder(db: Executor, orgId: string | null, before: string, limit: number): Promise<number>;
}

export function deletedRows(result: DeleteResult): number {
  return Number(result.numDeletedRows);
}
