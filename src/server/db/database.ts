import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, NO_MIGRATIONS, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { DatabaseConfig } from '../config.js';
import { DatabaseAvailability } from './availability.js';
import { migrationProvider } from './migrations/index.js';
import { POSTGRES_CAPS, SQLITE_CAPS, type DialectCaps } from './executor.js';
import { QueuedSqliteDialect, keepingStatements } from './sqlite-dialect.js';
import type { DB } from './schema.js';

export interface Database {
  db: Kysely<DB>;
  kind: DatabaseConfig['kind'];
  caps: DialectCaps;
  /** Only for PostgreSQL: the pool, for LISTEN connections. */
  pool: pg.Pool | undefined;
  /** Whether the database answers, as the connections tell. */
  availability: DatabaseAvailability;
  close(): Promise<void>;
}

function openSqlite(file: string): Database {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('synchronous = NORMAL');
  const db = new Kysely<DB>({
    dialect: new QueuedSqliteDialect({ database: keepingStatements(sqlite) }),
  });
  return {
    db,
    kind: 'sqlite',
    caps: SQLITE_CAPS,
    pool: undefined,
    availability: new DatabaseAvailability(),
    close: () => db.destroy(),
  };
}

async function openPostgres(url: string, schema: string | undefined): Promise<Database> {
  if (schema !== undefined && !/^[a-z_][a-z0-9_]*$/.test(schema))
    throw new Error(`invalid schema name "${schema}"`);
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  const availability = new DatabaseAvailability();
  // An 'error' event nobody listens to ends the process: a connection the server closes (a
  // restart, pg_terminate_backend) must not take the node with it. Idle ones error on the pool;
  // a checked-out one errors on its client, which pg-pool does not listen to while it is out.
  pool.on('error', (error) => availability.lost(error, 'an idle database connection failed'));
  pool.on('connect', (client) => {
    client.on('error', (error) => availability.lost(error, 'a database connection failed'));
    availability.regained();
  });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  return {
    db,
    kind: 'postgres',
    caps: POSTGRES_CAPS,
    pool,
    availability,
    close: () => db.destroy(),
  };
}

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  return config.kind === 'sqlite' ? openSqlite(config.file) : openPostgres(config.url, config.schema);
}

export interface MigrationOutcome {
  applied: string[];
  error: Error | undefined;
}

function asError(error: unknown): Error | undefined {
  if (error === undefined || error instanceof Error) return error;
  return new Error(typeof error === 'string' ? error : JSON.stringify(error));
}

/**
 * Unless told a schema, Kysely's migrator looks for its bookkeeping tables in every schema of the
 * database, so a second schema (another test file, another instance) would skip creating its own
 * and fail. Name the schema the tables go to: the current one.
 */
async function migratorFor(database: Database): Promise<Migrator> {
  const schema =
    database.kind === 'postgres'
      ? (await sql<{ name: string }>`select current_schema() as name`.execute(database.db)).rows[0]?.name
      : undefined;
  return new Migrator({
    db: database.db,
    provider: migrationProvider,
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
}

export async function migrateToLatest(database: Database): Promise<MigrationOutcome> {
  const migrator = await migratorFor(database);
  const { error, results } = await migrator.migrateToLatest();
  return {
    applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName),
    error: asError(error),
  };
}

/** Rolls every migration back, for `fleetplane db reset`. */
export async function dropEverything(database: Database): Promise<void> {
  const migrator = await migratorFor(database);
  const { error } = await migrator.migrateTo(NO_MIGRATIONS);
  const failure = asError(error);
  if (failure) throw failure;
}

/** A database that has not answered by then counts as unreachable (a dropped network never refuses). */
const PING_TIMEOUT_MS = 2000;

export async function pingDatabase(database: Database): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), PING_TIMEOUT_MS);
  });
  const ping = sql`select 1`.execute(database.db).then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([ping, late]);
  } finally {
    clearTimeout(timer);
  }
}
