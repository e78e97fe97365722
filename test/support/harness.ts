import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { sql, type KyselyPlugin } from 'kysely';
import { buildApp } from '../../src/server/app.js';
import { loadConfig, type Config, type DatabaseConfig } from '../../src/server/config.js';
import { migrateToLatest, openDatabase, type Database } from '../../src/server/db/database.js';
import type { Clock } from '../../src/server/lib/clock.js';

export type Dialect = 'sqlite' | 'postgres';

const pgUrl = process.env.FLEETPLANE_TEST_PG_URL;
if (!pgUrl && process.env.CI) {
  throw new Error('CI must run the PostgreSQL tests: FLEETPLANE_TEST_PG_URL is not set');
}
if (!pgUrl) {
  console.warn(
    '\n*** PostgreSQL tests SKIPPED: set FLEETPLANE_TEST_PG_URL to run them (CI always does) ***\n',
  );
}

/** Every DB test runs on SQLite, and on PostgreSQL whenever it is configured (always in CI). */
export const dialects: Dialect[] = pgUrl ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestServer {
  url: string;
  app: FastifyInstance;
  database: Database;
  config: Readonly<Config>;
  /** Every log line the server wrote, parsed. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** A settable clock for tests that move time. */
export class TestClock implements Clock {
  constructor(private current = new Date()) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

const HOUR = 3_600_000;
/** The job lease of a hand-driven server (below). */
export const LEASE_MS = 90_000;

/**
 * A server whose timers never fire during a test: it flushes heartbeats, sweeps leases and ticks
 * schedules only when the test says so, so every step happens in the order it is written, and a
 * statement count sees nothing of the server's own.
 */
export const HAND_DRIVEN: Pick<Config, 'fleet' | 'schedules' | 'housekeeping'> = {
  fleet: {
    heartbeatIntervalMs: 15_000,
    offlineAfterMs: 60_000,
    heartbeatFlushMs: HOUR,
    leaseMs: LEASE_MS,
    sweepIntervalMs: HOUR,
  },
  schedules: { tickMs: HOUR },
  // a check every two hours: never during a test
  housekeeping: { intervalMs: 24 * HOUR },
};

export function isolatedDatabase(dialect: Dialect, dir: string, url = pgUrl): DatabaseConfig {
  if (dialect === 'sqlite') return { kind: 'sqlite', file: path.join(dir, 'fleetplane.db') };
  if (!url) throw new Error('PostgreSQL is not configured');
  return { kind: 'postgres', url, schema: `t_${randomBytes(6).toString('hex')}` };
}

export interface TestServerOptions {
  config?: Partial<Config>;
  clock?: Clock;
  /**
   * Another node of the same deployment: the first server's database (SQLite file or PostgreSQL
   * schema), master key and data dir, with a connection of its own. It is not migrated again,
   * and closing it leaves the database to the first server, which must be closed last.
   */
  shareDatabaseWith?: TestServer;
  /** PostgreSQL only: reach the test database through this URL instead (a proxy the test can cut). */
  databaseUrl?: string;
  /** Kysely plugins every query of the app goes through (a statement counter, say). */
  plugins?: KyselyPlugin[];
}

/** Starts the real app on a fresh database (a new SQLite file or PostgreSQL schema), listening on a free port. */
export async function startTestServer(
  dialect: Dialect,
  options: TestServerOptions = {},
): Promise<TestServer> {
  const first = options.shareDatabaseWith;
  if (first && first.config.database.kind !== (dialect === 'sqlite' ? 'sqlite' : 'postgres'))
    throw new Error(
      `shareDatabaseWith: the first server runs on ${first.config.database.kind}, not ${dialect}`,
    );
  const dir = first ? first.config.dataDir : mkdtempSync(path.join(os.tmpdir(), 'fleetplane-test-'));
  const databaseConfig = first
    ? first.config.database
    : isolatedDatabase(dialect, dir, options.databaseUrl ?? pgUrl);
  const config = loadConfig(
    { NODE_ENV: 'test', FLEETPLANE_DATA_DIR: dir, LOG_LEVEL: 'info' },
    {
      database: databaseConfig,
      masterKeyHex: first?.config.masterKeyHex ?? randomBytes(32).toString('hex'),
      authRateLimit: { max: 10_000, windowMs: 60_000 },
      ...options.config,
    },
  );
  const database = await openDatabase(config.database);
  if (!first) {
    const outcome = await migrateToLatest(database);
    if (outcome.error) throw outcome.error;
  }
  const logs: Record<string, unknown>[] = [];
  const logStream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  for (const plugin of options.plugins ?? []) database.db = database.db.withPlugin(plugin);
  const app = await buildApp({
    config,
    database,
    logStream,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    app,
    database,
    config,
    logs,
    async close() {
      await app.close();
      if (first) {
        await database.close();
        return;
      }
      if (databaseConfig.kind === 'postgres' && databaseConfig.schema) {
        await sql`drop schema ${sql.id(databaseConfig.schema)} cascade`.execute(database.db);
      }
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
