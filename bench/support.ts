import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { v7 as uuidv7 } from 'uuid';
import type { Database } from '../src/server/db/database.js';
import type { AgentsTable } from '../src/server/db/schema.js';

/** The repository root: children run from here so `--import tsx` resolves. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const log = (line: string): void => void process.stdout.write(`${line}\n`);

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `work`, or undefined once `ms` have passed; the timer never keeps the process alive. */
export function within<T>(work: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Starts a TypeScript entry point in a node of its own. A bash wrapper first raises the soft
 * open-files limit (10,000 sockets need 10,000 descriptors): to 65536 where allowed, else to the
 * hard limit; `exec` keeps the pid, so /proc/<pid> is the node process itself.
 */
export function spawnTs(
  entry: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; ipc?: boolean; nodeFlags?: string[] } = {},
): ChildProcess {
  const script = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"';
  const command = [process.execPath, '--import', 'tsx', ...(options.nodeFlags ?? []), entry, ...args];
  return spawn('bash', ['-c', script, 'bash', ...command], {
    cwd: ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'inherit', ...(options.ipc ? ['ipc' as const] : [])],
  });
}

const interruptCleanups = new Set<() => Promise<void>>();

/**
 * Work to do if the bench is interrupted (Ctrl-C) before it tidies up by itself, such as
 * dropping its PostgreSQL database; answers the function that unregisters it.
 */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  interruptCleanups.add(cleanup);
  return () => interruptCleanups.delete(cleanup);
}

/** On SIGINT or SIGTERM: runs the registered cleanups (each bounded to 20 s), then exits. */
export function exitCleanlyOnInterrupt(): void {
  const handler = (signal: NodeJS.Signals) => {
    log(`\n${signal}: cleaning up`);
    void Promise.allSettled([...interruptCleanups].map((cleanup) => within(cleanup(), 20_000))).then(() =>
      process.exit(130),
    );
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

/** Resolves when the child exits; after `graceMs` it is killed. */
export function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

const readers = new WeakMap<ChildProcess, ReturnType<typeof createInterface>>();

/** One line reader per child's stdout, shared by everyone who listens to it. */
export function linesOf(child: ChildProcess): ReturnType<typeof createInterface> {
  let reader = readers.get(child);
  if (!reader) {
    if (!child.stdout) throw new Error('child has no stdout');
    reader = createInterface({ input: child.stdout });
    readers.set(child, reader);
  }
  return reader;
}

/** Reads the child's stdout until `match` returns a value; rejects on exit or timeout. */
export function waitForLine<T>(
  child: ChildProcess,
  match: (line: string) => T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const lines = linesOf(child);
  return new Promise((resolve, reject) => {
    const done = (finish: () => void) => {
      clearTimeout(timer);
      lines.off('line', onLine);
      child.off('exit', onExit);
      finish();
    };
    const onLine = (line: string) => {
      const value = match(line);
      if (value !== undefined) done(() => resolve(value));
    };
    const onExit = (code: number | null) =>
      done(() => reject(new Error(`child exited (${code}) before it was ready`)));
    const timer = setTimeout(
      () => done(() => reject(new Error('child did not get ready in time'))),
      timeoutMs,
    );
    lines.on('line', onLine);
    child.once('exit', onExit);
  });
}

export interface ProcSample {
  rssKb: number;
  /** User + system CPU time, in seconds. */
  cpuSeconds: number;
  openFilesLimit: number;
}

/** Descriptors a process holds now (Linux): its sockets, files and pipes. */
export const openFiles = (pid: number): number => readdirSync(`/proc/${pid}/fd`).length;

/** This process's hard open-files limit: no child can raise its soft limit above it. */
export function hardOpenFilesLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  return Number(/^Max open files\s+\d+\s+(\d+)/m.exec(limits)?.[1] ?? NaN);
}

/** Linux only: resident memory from /proc/<pid>/status, CPU time from /proc/<pid>/stat. */
export function procSample(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? NaN);
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticksPerSecond = 100; // USER_HZ, 100 on every mainstream Linux build
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const openFilesLimit = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? NaN);
  return { rssKb, cpuSeconds, openFilesLimit };
}

/** How many local ports outgoing connections can use (Linux); each simulated agent holds one. */
export function ephemeralPorts(): number {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return Number(high) - Number(low) + 1;
  } catch {
    return NaN;
  }
}

/** Runs one statement on the PostgreSQL server, connected to the database `serverUrl` names there. */
export async function onServer(serverUrl: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A fresh database `fleetplane_bench_<label>_<random>` on the PostgreSQL server of `serverUrl`:
 * its URL, and `drop`, which removes it (as an interrupt does before the bench gets to it).
 */
export async function freshPostgres(
  serverUrl: string,
  label: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  // The bench creates and drops databases: never on a server of another machine.
  const server = new URL(serverUrl);
  if (!LOOPBACK_HOSTS.has(server.hostname))
    throw new Error(`refusing ${server.hostname}: the bench uses a PostgreSQL server on this machine only`);
  const name = `fleetplane_bench_${label}_${randomBytes(4).toString('hex')}`;
  await onServer(serverUrl, `create database ${name}`);
  server.pathname = `/${name}`;
  const drop = () => onServer(serverUrl, `drop database if exists ${name} with (force)`);
  const unregister = onInterrupt(drop);
  return {
    url: server.toString(),
    drop: async () => {
      unregister();
      await drop();
    },
  };
}

/** Rows per insert: under SQLite's and PostgreSQL's parameter limits. */
const AGENT_ROWS = 500;

/**
 * Writes `count` agents of the organisation straight into the database, named
 * `<prefix>-00000` on (hostname `<name>.bench.internal`), seen at `now`; `agent(n)` sets
 * what else the bench needs of the n-th (its OS, tags, status...).
 */
export async function insertAgents(
  database: Database,
  orgId: string,
  count: number,
  options: { prefix: string; now: string; agent: (n: number) => Partial<AgentsTable> },
): Promise<void> {
  for (let i = 0; i < count; i += AGENT_ROWS)
    await database.db
      .insertInto('agents')
      .values(
        Array.from({ length: Math.min(AGENT_ROWS, count - i) }, (_, j) => {
          const n = i + j;
          const name = `${options.prefix}-${String(n).padStart(5, '0')}`;
          return {
            id: uuidv7(),
            org_id: orgId,
            name,
            hostname: `${name}.bench.internal`,
            fingerprint: null,
            os_type: 'ubuntu',
            os_version: '24.04',
            arch: 'x86_64',
            ip: null,
            agent_version: null,
            interpreters: '["bash"]',
            tags: '[]',
            group_id: null,
            notes: '',
            status: 'online',
            connected: 0,
            last_seen_at: options.now,
            metrics: null,
            system_info: null,
            token_hash: null,
            machine_key_hash: null,
            enrolled_via: null,
            created_at: options.now,
            updated_at: options.now,
            deleted_at: null,
            delete_reason: null,
            profile_id: null,
            facts_requested_at: null,
            ...options.agent(n),
          };
        }),
      )
      .execute();
}

export interface Reply {
  status: number;
  body: any;
}

/** One JSON call; throws unless the status is the one expected. */
export async function api(
  url: string,
  method: string,
  route: string,
  options: { token?: string; apiKey?: string; body?: unknown; expect?: number } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.apiKey) headers['x-api-key'] = options.apiKey;
  const response = await fetch(`${url}${route}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON (metrics): keep the text
  }
  if (options.expect !== undefined && response.status !== options.expect)
    throw new Error(`${method} ${route}: ${response.status} ${text.slice(0, 300)}`);
  return { status: response.status, body };
}

export interface Fleetplane {
  url: string;
  pid: number;
  /** Its data directory: the SQLite database is `fleetplane.db` there unless DATABASE_URL says otherwise. */
  dataDir: string;
  child: ChildProcess;
  /** The first-start credentials, printed by the node that created the database's first admin. */
  admin: { email: string; password: string } | undefined;
  /** Server log lines seen (warn and above), and the first and last few of them. */
  logLines: { count: number; first: string[]; last: string[] };
  stop(): Promise<void>;
}

/**
 * The real server (`fleetplane server`) as a child process in a fresh temp dir (its SQLite
 * database unless `env` names a DATABASE_URL), on a free port, logging at warn. With
 * `bootstrap` (the first node of a deployment) the first-start admin credentials are read from
 * its output; later nodes of the same database print none.
 */
export async function startFleetplane(
  options: { env?: Record<string, string>; nodeFlags?: string[]; bootstrap?: boolean } = {},
): Promise<Fleetplane> {
  const bootstrap = options.bootstrap ?? true;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-bench-'));
  const env: NodeJS.ProcessEnv = {};
  // Only the basics of this environment: a DATABASE_URL or a FLEETPLANE_* setting must not leak in.
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[name]) env[name] = process.env[name];
  Object.assign(env, {
    HOST: '127.0.0.1',
    PORT: '0',
    FLEETPLANE_DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    ...options.env,
  });
  const child = spawnTs('src/cli/main.ts', ['server'], {
    env,
    ...(options.nodeFlags ? { nodeFlags: options.nodeFlags } : {}),
  });
  const admin = { email: '', password: '' };
  const logLines = { count: 0, first: [] as string[], last: [] as string[] };
  linesOf(child).on('line', (line) => {
    if (!line.startsWith('{')) return; // pino's JSON lines; the rest is the start banner
    logLines.count += 1;
    if (logLines.first.length < 5) logLines.first.push(line.slice(0, 300));
    logLines.last.push(line.slice(0, 300));
    if (logLines.last.length > 5) logLines.last.shift();
  });
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (stopping) return;
    log(`  !! the server exited (code ${code}, signal ${signal}); its last log lines:`);
    for (const line of logLines.last) log(`     ${line}`);
  });
  try {
    const url = await waitForLine(child, (line) => {
      const email = /^\s+email:\s+(\S+)/.exec(line)?.[1];
      const password = /^\s+password:\s+(\S+)/.exec(line)?.[1];
      if (email) admin.email = email;
      if (password) admin.password = password;
      return /listening at (http:\/\/\S+)/.exec(line)?.[1];
    });
    if (bootstrap && (!admin.email || !admin.password))
      throw new Error('the server printed no first-start credentials');
    return {
      url,
      pid: child.pid!,
      dataDir,
      child,
      admin: bootstrap ? admin : undefined,
      logLines,
      stop: async () => {
        stopping = true;
        await stopChild(child);
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    stopping = true;
    await stopChild(child);
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** Logs in with the first-start admin; answers the access token. */
export async function loginAdmin(server: Pick<Fleetplane, 'url' | 'admin'>): Promise<string> {
  if (!server.admin) throw new Error(`${server.url} printed no first-start credentials`);
  const reply = await api(server.url, 'POST', '/api/v1/auth/login', { body: server.admin, expect: 200 });
  return reply.body.access_token as string;
}

/** A sample of a Prometheus text exposition: `name{labels}` → value. */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)));
  const line = (row: string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export const fixed = (value: number, digits = 1): string =>
  Number.isFinite(value) ? value.toFixed(digits) : '-';

/** The 1-minute load average against the CPU count: other work on the machine skews every figure. */
export const machineLoad = (): string => `load ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} CPUs`;

/** Seconds since `start` (a performance.now() reading), as text. */
export const secondsSince = (start: number): string => `${((performance.now() - start) / 1000).toFixed(1)} s`;
