import type SQLite from 'better-sqlite3';
import {
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase,
  type SqliteStatement,
} from 'kysely';

/** Statements kept: the SQL texts the server issues are a few hundred. */
const STATEMENTS_KEPT = 1000;

/**
 * Kysely prepares every query anew, and better-sqlite3 compiles the SQL at each prepare: the
 * compiled statements are kept by their text (least recently used dropped first). A statement
 * still being iterated is busy and cannot run twice, so it is prepared afresh.
 */
export function keepingStatements(database: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    close: () => void database.close(),
    prepare(sql: string): SqliteStatement {
      const kept = statements.get(sql);
      if (kept && !kept.busy) {
        statements.delete(sql);
        statements.set(sql, kept);
        return kept;
      }
      const statement = database.prepare(sql);
      statements.set(sql, statement);
      if (statements.size > STATEMENTS_KEPT) statements.delete(statements.keys().next().value!);
      return statement;
    },
  };
}

/**
 * Kysely's SQLite driver hands out its one connection through a mutex that wakes every waiter at
 * each release, in no set order: with the queries of ten thousand agents queued, each release
 * costs ten thousand wake-ups. This gate lets one caller at a time reach the driver, in arrival
 * order, so a release wakes exactly one waiter.
 *
 * States: free → held (acquire) → handed to the next waiter, or free again (release).
 */
class QueuedSqliteDriver extends SqliteDriver {
  readonly #waiting: (() => void)[] = [];
  #held = false;

  override async acquireConnection(): Promise<DatabaseConnection> {
    if (this.#held) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#held = true;
    return super.acquireConnection();
  }

  override async releaseConnection(): Promise<void> {
    await super.releaseConnection();
    const next = this.#waiting.shift();
    // Handed over: the gate stays held, so no newcomer overtakes the queue.
    if (next) next();
    else this.#held = false;
  }
}

/** Kysely's SQLite dialect with its connection handed out in arrival order. */
export class QueuedSqliteDialect extends SqliteDialect {
  readonly #config: ConstructorParameters<typeof SqliteDialect>[0];

  constructor(config: ConstructorParameters<typeof SqliteDialect>[0]) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new QueuedSqliteDriver(this.#config);
  }
}
