import path from 'node:path';
import { agentSocketsUnder, openFilesLimit } from './lib/open-files.js';
import { outboundRangesFrom, type OutboundRange } from './lib/outbound.js';
import { packageRoot } from './lib/version.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

export type DatabaseConfig =
  { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string; schema: string | undefined };

export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  dataDir: string;
  database: DatabaseConfig;
  /**
   * Where blobs go: `files` under dataDir (one node, or a shared volume), `database` in the
   * database itself, so several nodes on one PostgreSQL share them with nothing else to mount.
   */
  storage: StorageKind;
  /** The services directory: one folder per service (service.json and its script), brought in by a sync. */
  servicesDir: string;
  /** The single-file agents `npm run build:agents` wrote (manifest.json beside them), handed out to installers and updates. */
  agentBuildsDir: string;
  /** 32-byte key as hex; when absent a 0600 key file in dataDir is used. */
  masterKeyHex: string | undefined;
  logLevel: string;
  bodyLimitBytes: number;
  corsOrigins: string[];
  /** Address ranges webhooks and notifications may call besides public ones (FLEETPLANE_OUTBOUND_ALLOW). */
  outboundAllow: OutboundRange[];
  accessTokenTtlMs: number;
  refreshTokenTtlMs: number;
  passwordResetTtlMs: number;
  /**
   * How long a node keeps a session's or API key's principal; changes made through the API drop
   * it at once on every node, changes made behind its back (a manual UPDATE) show within this.
   * 0 turns the cache off.
   */
  principalCacheTtlMs: number;
  authRateLimit: { max: number; windowMs: number };
  shutdownTimeoutMs: number;
  trustProxy: boolean;
  /** The built web console (`web/dist`), served at `/`; when it does not exist only the API is served. */
  consoleDir: string;
  /** The URL clients reach this server at (behind a proxy, say); the OpenAPI document names it. */
  publicUrl: string | undefined;
  /**
   * Agent WebSockets this node holds at most; past it new ones are refused (503 node_full), so
   * the node keeps descriptors for the API. Infinity where no open-files limit is known.
   */
  maxAgentSockets: number;
  fleet: {
    /** How often agents send a heartbeat. */
    heartbeatIntervalMs: number;
    /** An agent not heard from for this long is offline. */
    offlineAfterMs: number;
    /** Heartbeats are buffered and written in one statement per flush. */
    heartbeatFlushMs: number;
    /** A dispatched job's lease; agents renew it with every heartbeat. */
    leaseMs: number;
    /** How often expired leases, offline agents and run deadlines are swept. */
    sweepIntervalMs: number;
  };
  schedules: {
    /** How often each node looks for schedules whose fire time has come. */
    tickMs: number;
  };
  housekeeping: {
    /** How often expired sessions, tokens, old audit events and job output are purged (once across nodes). */
    intervalMs: number;
  };
}

/** Where large files (automation packages) are kept: the data directory, or the database. */
export type StorageKind = 'files' | 'database';

export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new ConfigError(`${name} must be a non-negative integer, got "${raw}"`);
  return value;
}

function databaseFrom(env: Env, dataDir: string): DatabaseConfig {
  const url = env.DATABASE_URL;
  if (!url) return { kind: 'sqlite', file: path.join(dataDir, 'fleetplane.db') };
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    return { kind: 'postgres', url, schema: env.DATABASE_SCHEMA || undefined };
  }
  if (url.startsWith('sqlite:')) return { kind: 'sqlite', file: url.slice('sqlite:'.length) };
  throw new ConfigError('DATABASE_URL must be a postgres:// URL or sqlite:<file>');
}

function storageFrom(raw: string | undefined): StorageKind {
  if (raw === undefined || raw === '' || raw === 'files') return 'files';
  if (raw === 'database') return 'database';
  throw new ConfigError(`FLEETPLANE_STORAGE must be "files" or "database", got "${raw}"`);
}

function outboundAllowFrom(raw: string | undefined): OutboundRange[] {
  const ranges = outboundRangesFrom(raw);
  if (typeof ranges === 'string')
    throw new ConfigError(
      `FLEETPLANE_OUTBOUND_ALLOW takes loopback, private and link-local, comma-separated; got "${ranges}"`,
    );
  return ranges;
}

function publicUrlFrom(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const url = URL.canParse(raw) ? new URL(raw) : null;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash)
    throw new ConfigError(
      `FLEETPLANE_PUBLIC_URL must be an http(s) URL without query or fragment, got "${raw}"`,
    );
  // no trailing slash: the document's paths start with one
  return url.href.replace(/\/+$/, '');
}

/**
 * Parses settings once from an environment; the only place the process environment is interpreted.
 * `openFiles` is this process's open-files limit (null: none known), which bounds the agent sockets.
 */
export function loadConfig(
  env: Env,
  overrides: Partial<Config> = {},
  openFiles: number | null = openFilesLimit(),
): Readonly<Config> {
  const nodeEnv = env.NODE_ENV === 'production' || env.NODE_ENV === 'test' ? env.NODE_ENV : 'development';
  const dataDir = path.resolve(env.FLEETPLANE_DATA_DIR ?? 'data');
  const masterKeyHex = env.FLEETPLANE_MASTER_KEY || undefined;
  if (masterKeyHex !== undefined && !/^[0-9a-fA-F]{64}$/.test(masterKeyHex)) {
    throw new ConfigError('FLEETPLANE_MASTER_KEY must be 64 hex characters (32 bytes)');
  }
  const config: Config = {
    env: nodeEnv,
    host: env.HOST ?? '127.0.0.1',
    port: int(env, 'PORT', 8080),
    dataDir,
    database: databaseFrom(env, dataDir),
    storage: storageFrom(env.FLEETPLANE_STORAGE),
    servicesDir: path.resolve(env.FLEETPLANE_SERVICES_DIR || 'services'),
    agentBuildsDir: path.resolve(env.FLEETPLANE_AGENT_BUILDS_DIR || path.join('dist', 'agents')),
    masterKeyHex,
    logLevel: env.LOG_LEVEL ?? (nodeEnv === 'test' ? 'silent' : 'info'),
    bodyLimitBytes: int(env, 'FLEETPLANE_BODY_LIMIT_BYTES', 1024 * 1024),
    corsOrigins: (env.FLEETPLANE_CORS_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    outboundAllow: outboundAllowFrom(env.FLEETPLANE_OUTBOUND_ALLOW),
    accessTokenTtlMs: int(env, 'FLEETPLANE_ACCESS_TOKEN_TTL_MS', 15 * MINUTE),
    refreshTokenTtlMs: int(env, 'FLEETPLANE_REFRESH_TOKEN_TTL_MS', 30 * DAY),
    passwordResetTtlMs: int(env, 'FLEETPLANE_PASSWORD_RESET_TTL_MS', 30 * MINUTE),
    principalCacheTtlMs: int(env, 'FLEETPLANE_PRINCIPAL_CACHE_TTL_MS', 10 * SECOND),
    authRateLimit: {
      max: int(env, 'FLEETPLANE_AUTH_RATE_LIMIT', 5),
      windowMs: int(env, 'FLEETPLANE_AUTH_RATE_WINDOW_MS', MINUTE),
    },
    shutdownTimeoutMs: int(env, 'FLEETPLANE_SHUTDOWN_TIMEOUT_MS', 10 * SECOND),
    trustProxy: env.FLEETPLANE_TRUST_PROXY === 'true',
    publicUrl: publicUrlFrom(env.FLEETPLANE_PUBLIC_URL),
    consoleDir: path.resolve(env.FLEETPLANE_CONSOLE_DIR ?? path.join(packageRoot() ?? '.', 'web', 'dist')),
    maxAgentSockets: int(env, 'FLEETPLANE_MAX_AGENT_SOCKETS', agentSocketsUnder(openFiles)),
    fleet: {
      heartbeatIntervalMs: int(env, 'FLEETPLANE_HEARTBEAT_INTERVAL_MS', 15 * SECOND),
      offlineAfterMs: int(env, 'FLEETPLANE_OFFLINE_AFTER_MS', 60 * SECOND),
      heartbeatFlushMs: int(env, 'FLEETPLANE_HEARTBEAT_FLUSH_MS', SECOND),
      leaseMs: int(env, 'FLEETPLANE_JOB_LEASE_MS', 90 * SECOND),
      sweepIntervalMs: int(env, 'FLEETPLANE_SWEEP_INTERVAL_MS', 5 * SECOND),
    },
    schedules: {
      tickMs: int(env, 'FLEETPLANE_SCHEDULER_TICK_MS', SECOND),
    },
    housekeeping: {
      intervalMs: int(env, 'FLEETPLANE_HOUSEKEEPING_INTERVAL_MS', 60 * MINUTE),
    },
    ...overrides,
  };
  if (config.authRateLimit.max < 1) throw new ConfigError('FLEETPLANE_AUTH_RATE_LIMIT must be at least 1');
  if (config.accessTokenTtlMs < SECOND)
    throw new ConfigError('FLEETPLANE_ACCESS_TOKEN_TTL_MS must be at least 1000');
  // lease > 3 heartbeats, so one lost heartbeat never re-queues a live job
  if (config.fleet.leaseMs < 3 * config.fleet.heartbeatIntervalMs) {
    throw new ConfigError('FLEETPLANE_JOB_LEASE_MS must be at least 3 × FLEETPLANE_HEARTBEAT_INTERVAL_MS');
  }
  // Every tick of every node reads the due schedules: a busy loop would only load the database.
  if (config.housekeeping.intervalMs < MINUTE)
    throw new ConfigError('FLEETPLANE_HOUSEKEEPING_INTERVAL_MS must be at least 60000');
  if (config.schedules.tickMs < 100)
    throw new ConfigError('FLEETPLANE_SCHEDULER_TICK_MS must be at least 100');
  if (config.maxAgentSockets < 1) throw new ConfigError('FLEETPLANE_MAX_AGENT_SOCKETS must be at least 1');
  // every agent socket holds a descriptor: at the limit the API could accept no connection
  if (openFiles !== null && config.maxAgentSockets >= openFiles)
    throw new ConfigError(
      `FLEETPLANE_MAX_AGENT_SOCKETS must be below the open-files limit (${openFiles}), or agents take ` +
        'every descriptor and the API answers nobody: raise the limit (ulimit -n) or lower it',
    );
  if (config.fleet.offlineAfterMs < 2 * config.fleet.heartbeatIntervalMs) {
    throw new ConfigError(
      'FLEETPLANE_OFFLINE_AFTER_MS must be at least 2 × FLEETPLANE_HEARTBEAT_INTERVAL_MS',
    );
  }
  return Object.freeze(config);
}
