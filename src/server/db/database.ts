import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import {
  Kysely,
  Migrator,
  NO_MIGRATIONS,
  PostgresDialect,
  sql,
  type DatabaseIntrospector,
  type DatabaseMetadata,
  type SchemaMetadata,
  type TableMetadata,
} from 'kysely';
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
 * Kysely's migrator learns whether its bookkeeping tables exist from the dialect's introspector,
 * which on PostgreSQL reads every schema of the database and fails when another one is dropped
 * meanwhile (another instance's, another test file's). This one reads only the schema the tables
 * go to: the current one.
 */
class OneSchemaIntrospector implements DatabaseIntrospector {
  constructor(
    private readonly db: Kysely<unknown>,
    private readonly schema: string,
  ) {}

  async getSchemas(): Promise<SchemaMetadata[]> {
    const found = await sql<{ name: string }>`
      select nspname as name from pg_catalog.pg_namespace where nspname = ${this.schema}`.execute(this.db);
    return found.rows;
  }

  async getTables(): Promise<TableMetadata[]> {
    const found = await sql<{ name: string; kind: string }>`
      select c.relname as name, c.relkind as kind from pg_catalog.pg_class c
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ${this.schema} and c.relkind in ('r', 'p', 'v')`.execute(this.db);
    return found.rows.map((row) => ({
      name: row.name,
      schema: this.schema,
      isView: row.kind === 'v',
      columns: [],
    }));
  }

  async getMetadata(): Promise<DatabaseMetadata> {
    return { tables: await this.getTables() };
  }
}

class OneSchemaPostgresDialect extends PostgresDialect {
  constructor(
    pool: pg.Pool,
    private readonly schema: string,
  ) {
    super({ pool });
  }

  override createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new OneSchemaIntrospector(db, this.schema);
  }
}

async function migratorFor(database: Database): Promise<Migrator> {
  if (database.kind !== 'postgres' || !database.pool)
    return new Migrator({ db: database.db, provider: migrationProvider });
  const current = await sql<{ name: string }>`select current_schema() as name`.execute(database.db);
  const schema = current.rows[0]?.name ?? 'public';
  return new Migrator({
    // the same pool; never destroyed here, the database closes it
    db: new Kysely<unknown>({ dialect: new OneSchemaPostgresDialect(database.pool, schema) }),
    provider: migrationProvider,
    migrationTableSchema: schema,
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
