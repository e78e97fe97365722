import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeEach } from 'vitest';
import WebSocket from 'ws';
import { startAgent as startAgentProcess, type AgentOptions, type AgentProcess } from '../support/agents.js';
import { call, expectStatus, type CallOptions, type Reply } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import type { Dialect } from '../support/harness.js';
import { fleetplane, freePort, isRunning, stopProcess, type Proc } from '../support/processes.js';

/**
 * End-to-end fixtures: the real `fleetplane server` and `fleetplane agent` as child processes,
 * spoken to over real HTTP and WebSockets. Every process and socket opened here is tracked and
 * ended by the leak guard, whatever the test's outcome.
 */

/** Short fleet timings so liveness, leases and sweeps play out in seconds. */
export const FAST_FLEET = {
  FLEETPLANE_HEARTBEAT_INTERVAL_MS: '500',
  FLEETPLANE_OFFLINE_AFTER_MS: '2000',
  FLEETPLANE_JOB_LEASE_MS: '2000',
  FLEETPLANE_SWEEP_INTERVAL_MS: '250',
  FLEETPLANE_HEARTBEAT_FLUSH_MS: '200',
};

// ---------------------------------------------------------------------------------------------
// leak guard

interface Tracked {
  proc: Proc;
  /** Started inside a test (stopped after it) or in a beforeAll (stopped after the file). */
  scope: 'test' | 'file';
  label: string;
}

const children = new Set<Tracked>();
const sockets = new Set<{ socket: WebSocket; scope: 'test' | 'file' }>();
/** Process groups of job scripts a test left behind on purpose (an agent killed mid-job). */
const orphanGroups = new Set<number>();
let inTest = false;
/** Cleanup of directories and schemas, after the processes using them have ended. */
const fileEndWork: (() => Promise<void> | void)[] = [];
function onFileEnd(work: () => Promise<void> | void): void {
  fileEndWork.push(work);
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: already gone
  }
}

async function release(scope: 'test' | 'file'): Promise<void> {
  for (const entry of [...sockets]) {
    if (scope === 'file' || entry.scope === 'test') {
      entry.socket.terminate();
      sockets.delete(entry);
    }
  }
  const mine = [...children].filter((c) => scope === 'file' || c.scope === 'test');
  // agents first, so they do not spend their last seconds reconnecting to a stopped server
  const agents = mine.filter((c) => c.label.startsWith('agent'));
  const others = mine.filter((c) => !c.label.startsWith('agent'));
  await Promise.all(agents.map((c) => stopProcess(c.proc)));
  await Promise.all(others.map((c) => stopProcess(c.proc)));
  for (const c of mine) children.delete(c);
  for (const pgid of orphanGroups) killGroup(pgid);
  orphanGroups.clear();
}

/** What the processes said last, to tell why a test failed. */
function printOutputs(): void {
  for (const { proc, label } of children) {
    const state = isRunning(proc) ? 'running' : `exited ${proc.child.exitCode ?? proc.child.signalCode}`;
    console.error(`--- ${label} ${proc.child.pid} (${state}):\n${proc.output.slice(-40).join('\n')}`);
  }
}

/** Registers the hooks that end, after each test and after the file, what was started for them. */
export function useLeakGuard(): void {
  beforeEach(() => {
    inTest = true;
  });
  afterEach(async ({ task }) => {
    inTest = false;
    if (task.result?.state === 'fail') printOutputs();
    await release('test');
  });
  afterAll(async () => {
    await release('file');
    // processes are gone by now: their directories and schemas can go too
    for (const work of fileEndWork.splice(0).reverse()) await work();
  });
}

// The last resort if the worker itself goes away: no child outlives it.
process.once('exit', () => {
  for (const c of children) if (isRunning(c.proc)) c.proc.child.kill('SIGKILL');
  for (const pgid of orphanGroups) killGroup(pgid);
});

function spawnTracked(
  label: string,
  args: string[],
  env: Record<string, string>,
  scope: Tracked['scope'] = inTest ? 'test' : 'file',
): Proc {
  const proc = fleetplane(args, env);
  // kept until released, exited or not, so a failure can show what each process said
  children.add({ proc, scope, label });
  return proc;
}

/** A socket a test opened itself (a CI client, say): ended by the guard like the others. */
export function trackSocket(socket: WebSocket): WebSocket {
  sockets.add({ socket, scope: inTest ? 'test' : 'file' });
  return socket;
}

/** A job script's process group, killed by the guard (its agent was killed and cannot). */
export function adoptOrphanGroup(pgid: number): void {
  orphanGroups.add(pgid);
}

export function tempDir(label: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `fleetplane-e2e-${label}-`));
  onFileEnd(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---------------------------------------------------------------------------------------------
// waiting

/** Resolves with the exit code, or fails when the process is still running after timeoutMs. */
export async function exitOf(proc: Proc, timeoutMs = 15_000): Promise<number | null> {
  await eventually(() => !isRunning(proc), { timeoutMs, what: 'the process to exit' }).catch(
    (error: Error) => {
      throw new Error(`${error.message}; output:\n${proc.output.slice(-30).join('\n')}`);
    },
  );
  return proc.child.exitCode;
}

/** Alive means running: a pid that is gone, or a zombie waiting to be reaped, is not. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
  try {
    // "pid (comm) S ...": the state follows the last ')'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The pids a job script wrote to its pid file, one per line. */
export function pidsIn(file: string): number[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => /^\d+$/.test(line.trim()))
    .map(Number);
}

// ---------------------------------------------------------------------------------------------
// the server

export interface E2EServer {
  dialect: Dialect;
  url: string;
  dataDir: string;
  /** The environment it runs with: another node of the deployment starts from it. */
  env: Readonly<Record<string, string>>;
  /** The bootstrap administrator's access token. */
  token: string;
  proc: Proc;
  api<T = any>(method: string, route: string, options?: Omit<CallOptions, 'token'>): Promise<Reply<T>>;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** Starts the server again on the same port and data (and schema). */
  start(): Promise<void>;
}

/** Runs one statement on its own connection. */
async function runSql(url: string, text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text, params);
  } finally {
    await client.end();
  }
}

async function dropSchema(url: string, schema: string): Promise<void> {
  await runSql(url, `drop schema if exists "${schema}" cascade`);
}

export interface TestDatabase {
  name: string;
  /** For DATABASE_URL. */
  url: string;
  /** Runs one statement from the server's maintenance database (`postgres`), never from this one. */
  admin(text: string, params?: unknown[]): Promise<pg.QueryResult>;
}

/**
 * A PostgreSQL database of the test file's own, on the server FLEETPLANE_TEST_PG_URL names, for
 * tests that break connections: other files share the test database and must keep theirs.
 * Dropped at the end of the file, after the processes using it have ended.
 */
export async function createTestDatabase(prefix: string): Promise<TestDatabase> {
  const base = process.env.FLEETPLANE_TEST_PG_URL;
  if (!base) throw new Error('PostgreSQL is not configured');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const at = (database: string) => {
    const url = new URL(base);
    url.pathname = `/${database}`;
    return url.toString();
  };
  const adminUrl = at('postgres');
  await runSql(adminUrl, `create database "${name}"`);
  onFileEnd(() => runSql(adminUrl, `drop database if exists "${name}" with (force)`).then(() => undefined));
  return { name, url: at(name), admin: (text, params) => runSql(adminUrl, text, params) };
}

/**
 * Starts `fleetplane server` on a fresh data dir (and, on PostgreSQL, a fresh schema, dropped at
 * the end of the file), reads the bootstrap admin's credentials from its first-start banner
 * and logs in.
 */
export async function startServer(
  dialect: Dialect,
  fleet: Record<string, string> = FAST_FLEET,
  options: { database?: TestDatabase } = {},
): Promise<E2EServer> {
  const dataDir = tempDir('server');
  const port = await freePort();
  const env: Record<string, string> = {
    PORT: String(port),
    HOST: '127.0.0.1',
    FLEETPLANE_DATA_DIR: dataDir,
    FLEETPLANE_AUTH_RATE_LIMIT: '1000',
    LOG_LEVEL: 'warn',
    ...fleet,
  };
  if (dialect === 'postgres' && options.database) {
    env.DATABASE_URL = options.database.url;
  } else if (dialect === 'postgres') {
    const url = process.env.FLEETPLANE_TEST_PG_URL;
    if (!url) throw new Error('PostgreSQL is not configured');
    const schema = `e2e_${randomBytes(6).toString('hex')}`;
    env.DATABASE_URL = url;
    env.DATABASE_SCHEMA = schema;
    onFileEnd(() => dropSchema(url, schema));
  }
  const url = `http://127.0.0.1:${port}`;
  // a restart inside a test keeps the scope of the first start
  const scope = inTest ? 'test' : 'file';
  let proc = spawnTracked('server', ['server'], env, scope);
  const email = (await proc.waitFor(/email:\s+(\S+)/, 60_000))[1] ?? '';
  const password = (await proc.waitFor(/password:\s+(\S+)/))[1] ?? '';
  await proc.waitFor(/listening at http/, 60_000);
  const login = await call({ url }, 'POST', '/api/v1/auth/login', { body: { email, password } });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  const server: E2EServer = {
    dialect,
    url,
    dataDir,
    env,
    token: login.body.access_token,
    get proc() {
      return proc;
    },
    api: (method, route, options = {}) => call({ url }, method, route, { ...options, token: server.token }),
    stop: () => stopProcess(proc),
    async start() {
      if (isRunning(proc)) throw new Error('the server is running');
      proc = spawnTracked('server', ['server'], env, scope);
      await proc.waitFor(/listening at http/, 60_000);
    },
  };
  return server;
}

/**
 * Another node of the same deployment, as behind a load balancer: the first one's database, data
 * dir and master key, its own port. The first one's administrator token works on it.
 */
export async function startNode(first: E2EServer, extraEnv: Record<string, string> = {}): Promise<E2EServer> {
  const port = await freePort();
  const env = { ...first.env, ...extraEnv, PORT: String(port) };
  const url = `http://127.0.0.1:${port}`;
  const scope = inTest ? 'test' : 'file';
  let proc = spawnTracked('server', ['server'], env, scope);
  await proc.waitFor(/listening at http/, 60_000);
  const node: E2EServer = {
    ...first,
    url,
    env,
    get proc() {
      return proc;
    },
    api: (method, route, options = {}) => call({ url }, method, route, { ...options, token: first.token }),
    stop: () => stopProcess(proc),
    async start() {
      if (isRunning(proc)) throw new Error('the server is running');
      proc = spawnTracked('server', ['server'], env, scope);
      await proc.waitFor(/listening at http/, 60_000);
    },
  };
  return node;
}

export async function enrollmentToken(server: E2EServer, name = 'e2e'): Promise<string> {
  return (await expectStatus(server.api('POST', '/api/v1/enrollment-tokens', { body: { name } }), 201))
    .secret;
}

export async function agentRecord(server: E2EServer, id: string): Promise<any> {
  return expectStatus(server.api('GET', `/api/v1/agents/${id}`), 200);
}

export async function job(server: E2EServer, id: string): Promise<any> {
  return expectStatus(server.api('GET', `/api/v1/jobs/${id}`), 200);
}

export function untilJob(
  server: E2EServer,
  id: string,
  accept: (job: any) => boolean,
  timeoutMs = 30_000,
): Promise<any> {
  return eventually(
    async () => {
      const current = await job(server, id);
      return accept(current) ? current : undefined;
    },
    { timeoutMs, what: `job ${id}` },
  );
}

export async function outputText(server: E2EServer, jobId: string): Promise<string> {
  return expectStatus<string>(server.api('GET', `/api/v1/jobs/${jobId}/output`), 200);
}

// ---------------------------------------------------------------------------------------------
// agents

/** Starts `fleetplane agent` with its own state dir (unless given), ended by the leak guard. */
export function startAgent(server: E2EServer, options: Partial<AgentOptions> = {}): Promise<AgentProcess> {
  const stateDir = options.stateDir ?? path.join(tempDir('agent'), 'state');
  return startAgentProcess(server.url, { ...options, stateDir }, (args, env) =>
    spawnTracked('agent', args, env),
  );
}

/** The agent's saved state file (`<state-dir>/agent.json`). */
export function agentState(agent: Pick<AgentProcess, 'stateDir'>): {
  fingerprint: string;
  server?: string;
  agent_id?: string;
  agent_token?: string;
} {
  return JSON.parse(readFileSync(path.join(agent.stateDir, 'agent.json'), 'utf8'));
}

// ---------------------------------------------------------------------------------------------
// the console's event stream

export interface FleetEventMessage {
  type: string;
  [field: string]: any;
}

/** A console client of /api/v1/events/ws: every message it gets, in order, with when it came. */
export class EventsClient {
  readonly events: (FleetEventMessage & { received_at: number })[] = [];
  private readonly waiters: { match: (e: FleetEventMessage) => boolean; resolve: () => void }[] = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: WebSocket.RawData) => {
      const text = (
        Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
      ).toString('utf8');
      const event = { ...(JSON.parse(text) as FleetEventMessage), received_at: Date.now() };
      this.events.push(event);
      for (const waiter of [...this.waiters]) {
        if (waiter.match(event)) {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          waiter.resolve();
        }
      }
    });
  }

  static async open(server: E2EServer): Promise<EventsClient> {
    const url = `${server.url.replace(/^http/, 'ws')}/api/v1/events/ws?access_token=${encodeURIComponent(server.token)}`;
    const socket = new WebSocket(url);
    sockets.add({ socket, scope: inTest ? 'test' : 'file' });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) =>
        reject(new Error(`events socket refused: HTTP ${res.statusCode}`)),
      );
    });
    return new EventsClient(socket);
  }

  /** Resolves with the first event (already received or to come) that matches. */
  async next(
    match: (e: FleetEventMessage) => boolean,
    timeoutMs = 15_000,
  ): Promise<FleetEventMessage & { received_at: number }> {
    const seen = () => this.events.find(match);
    if (!seen()) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(new Error(`no matching event within ${timeoutMs} ms; got ${this.events.length} events`));
        }, timeoutMs);
        const waiter = {
          match,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        this.waiters.push(waiter);
      });
    }
    const found = seen();
    if (!found) throw new Error('matched event vanished');
    return found;
  }

  async subscribe(jobId: string): Promise<void> {
    this.socket.send(JSON.stringify({ type: 'subscribe', job_id: jobId }));
    await this.next((e) => e.type === 'subscribed' && e.job_id === jobId);
  }

  close(): void {
    this.socket.close();
  }
}
