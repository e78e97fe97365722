import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { probeFiles } from './probe-report.js';
import {
  ROOT,
  api,
  onInterrupt,
  onServer,
  openFiles,
  parseMetrics,
  procSample,
  sleep,
  startFleetplane,
  type Fleetplane,
} from './support.js';

/**
 * The servers under test: one node on SQLite, or N nodes on one fresh PostgreSQL database, each
 * node a `fleetplane server` child process on its own port. All nodes share the master key, so a
 * session made on one is honoured by all, as behind a load balancer.
 */

export type BenchDb = 'sqlite' | 'postgres';

/** The PostgreSQL server the bench creates its databases on, when FLEETPLANE_BENCH_PG_URL names none. */
export const DEFAULT_BENCH_PG_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

export interface ClusterOptions {
  db: BenchDb;
  nodes: number;
  /** A database on the PostgreSQL server to connect to while creating and dropping the bench's own. */
  pgUrl: string;
  /** Server settings (FLEETPLANE_*), the same on every node. */
  env: Record<string, string>;
  /** A directory for each node's run-window CPU profile and statement timings (node-probe.ts), when profiling. */
  profileDir: string | undefined;
}

export interface Cluster {
  db: BenchDb;
  /** The PostgreSQL database created for this run, dropped by stop(). */
  databaseName: string | undefined;
  /** Node 1 first: it migrated the database and holds the first-start credentials. */
  nodes: Fleetplane[];
  stop(): Promise<void>;
}

/** A fresh database, `fleetplane_bench_<random>`; answers its URL and how to drop it. */
async function createDatabase(
  adminUrl: string,
): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const server = new URL(adminUrl);
  // The bench creates and drops databases: never on a server of another machine.
  if (!LOOPBACK_HOSTS.has(server.hostname))
    throw new Error(`refusing ${server.hostname}: the bench uses a PostgreSQL server on this machine only`);
  const name = `fleetplane_bench_${randomBytes(4).toString('hex')}`;
  await onServer(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: url.toString(),
    // with (force): a node killed mid-run may leave connections behind
    drop: () => (dropped ??= onServer(adminUrl, `drop database if exists ${name} with (force)`)),
  };
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  if (options.nodes > 1 && options.db !== 'postgres')
    throw new Error('several nodes share one PostgreSQL database: --nodes above 1 needs --db postgres');
  const database = options.db === 'postgres' ? await createDatabase(options.pgUrl) : undefined;
  const unregister = database ? onInterrupt(database.drop) : () => false;
  const env = {
    ...options.env,
    FLEETPLANE_MASTER_KEY: randomBytes(32).toString('hex'),
    ...(database ? { DATABASE_URL: database.url } : {}),
    ...(options.profileDir ? { BENCH_PROBE_DIR: path.resolve(options.profileDir) } : {}),
  };
  if (options.profileDir) mkdirSync(options.profileDir, { recursive: true });
  const nodeFlags = options.profileDir ? ['--import', path.join(ROOT, 'bench/node-probe.ts')] : undefined;
  const nodes: Fleetplane[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await database?.drop();
    unregister();
  };
  try {
    // Node 1 migrates and creates the admin; the others join the migrated database together.
    nodes.push(await startFleetplane({ env, ...(nodeFlags ? { nodeFlags } : {}) }));
    const others = await Promise.allSettled(
      Array.from({ length: options.nodes - 1 }, () =>
        startFleetplane({ env, bootstrap: false, ...(nodeFlags ? { nodeFlags } : {}) }),
      ),
    );
    for (const other of others) if (other.status === 'fulfilled') nodes.push(other.value);
    const failed = others.find((other) => other.status === 'rejected');
    if (failed) throw failed.reason;
    return { db: options.db, databaseName: database?.name, nodes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface NodeSample {
  rssKb: number;
  cpuSeconds: number;
  openFiles: number;
  openFilesLimit: number;
}

/** Every node's /proc figures, in node order. */
export function sampleNodes(cluster: Cluster): NodeSample[] {
  return cluster.nodes.map((node) => ({ ...procSample(node.pid), openFiles: openFiles(node.pid) }));
}

export async function metricsOf(node: Fleetplane): Promise<Map<string, number>> {
  return parseMetrics((await api(node.url, 'GET', '/metrics', { expect: 200 })).body as string);
}

/**
 * Agent sockets each node holds (`fleetplane_agent_sockets`) and has refused because it was full
 * (`fleetplane_agent_sockets_refused_total`), in node order.
 */
export async function socketsByNode(cluster: Cluster): Promise<{ held: number; refused: number }[]> {
  const all = await Promise.all(cluster.nodes.map(metricsOf));
  return all.map((metrics) => ({
    held: metrics.get('fleetplane_agent_sockets') ?? NaN,
    refused: metrics.get('fleetplane_agent_sockets_refused_total') ?? NaN,
  }));
}

/** Each node's highest RSS, read from /proc every `everyMs` until stop(), which answers the peaks in KB. */
export function watchPeakRss(cluster: Cluster, everyMs = 250): { stop: () => number[] } {
  const peaks = cluster.nodes.map(() => 0);
  const read = () => {
    for (const [i, node] of cluster.nodes.entries()) {
      try {
        peaks[i] = Math.max(peaks[i]!, procSample(node.pid).rssKb);
      } catch {
        // the node has exited: its exit is logged where it was started
      }
    }
  };
  read();
  const timer = setInterval(read, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      read();
      return peaks;
    },
  };
}

/**
 * Opens (`start`) or closes (`stop`) every node's probe window (node-probe.ts); on `stop`, waits
 * until each node wrote its files and answers their paths, in node order.
 */
export async function probeWindow(
  cluster: Cluster,
  dir: string,
  step: 'start' | 'stop',
): Promise<ReturnType<typeof probeFiles>[]> {
  const files = cluster.nodes.map((node) => probeFiles(path.resolve(dir), node.pid));
  for (const node of cluster.nodes) process.kill(node.pid, 'SIGUSR2');
  if (step === 'start') {
    // the profiler starts within a few ms; the run must not begin before it
    await sleep(500);
    return files;
  }
  for (let waited = 0; waited < 30_000; waited += 100) {
    if (files.every((f) => existsSync(f.statements))) break;
    await sleep(100);
  }
  return files;
}
