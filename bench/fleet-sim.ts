import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { SimCommand, SimReply, SimStats } from './sim-agents.js';
import {
  api,
  ephemeralPorts,
  fixed,
  log,
  loginAdmin,
  machineLoad,
  parseMetrics,
  procSample,
  secondsSince,
  sleep,
  spawnTs,
  startFleetplane,
  stopChild,
  table,
  within,
  type Fleetplane,
} from './support.js';

/**
 * The fleet under load: the real server in one child process, N simulated agents in another
 * (sim-agents.ts), this process driving both and reading the server's /proc entries and /metrics.
 * Phases: register N agents, connect N sockets, heartbeats at a known rate for 10 s, and one
 * run over all agents, timed from POST /api/v1/runs to its final `run.progress` event.
 */

export interface FleetOptions {
  agents: number;
  /** Registration requests in flight. */
  registerConcurrency: number;
  /** Sockets being opened (until their welcome) at once. */
  connectConcurrency: number;
  /** Per agent, during the heartbeat measurement. */
  heartbeatMs: number;
  heartbeatWindowS: number;
  /** The run gives up waiting after this long. */
  runTimeoutS: number;
  /** A directory for the server's --cpu-prof output, when profiling. */
  profileDir: string | undefined;
}

export interface FleetResult {
  agents: number;
  registered: number;
  registerS: number;
  connected: number;
  connectS: number;
  /** Server CPU time (user + system) per phase, in seconds: steadier than wall time on a busy machine. */
  serverCpuS: { register: number; connect: number; run: number };
  /** `agents_connected` in /api/v1/system/info: sockets the server holds. */
  held: number;
  openFilesLimit: { server: number; simulator: number };
  rssMb: { idle: number; registered: number; connected: number };
  rssPerAgentKb: number;
  heartbeats: {
    sentPerS: number;
    receivedPerS: number;
    writtenPerS: number;
    serverCpuPercent: number;
    loopLagP99Ms: number;
  };
  run: {
    status: string;
    succeeded: number;
    total: number;
    createMs: number;
    firstJobMs: number;
    lastJobMs: number;
    lastResultMs: number;
    finalMs: number;
    /** `run.progress` events of the run (one per settle pass), and all events the console got meanwhile. */
    progressEvents: number;
    consoleEvents: number;
  };
  serverLogLines: number;
}

/** The server's fleet timings, short so the bench sees offline detection and leases work. */
const SERVER_ENV = {
  FLEETPLANE_HEARTBEAT_INTERVAL_MS: '5000',
  FLEETPLANE_OFFLINE_AFTER_MS: '30000',
  FLEETPLANE_JOB_LEASE_MS: '30000',
  FLEETPLANE_AUTH_RATE_LIMIT: '1000000',
};
const NORMAL_HEARTBEAT_MS = 5000;
const FINAL_RUN_STATUSES = new Set(['succeeded', 'failed', 'canceled']);

/** The simulator child, one command at a time. */
class Simulator {
  readonly #child: ChildProcess;

  constructor(child: ChildProcess) {
    this.#child = child;
    child.on('message', (message: SimReply) => {
      if (message.type === 'progress') log(`    ${message.phase}: ${message.done} of ${message.total}`);
    });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  request<T extends SimReply['type']>(
    command: SimCommand,
    answer: T,
  ): Promise<Extract<SimReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: SimReply) => {
        if (message.type !== answer) return;
        this.#child.off('message', onMessage);
        this.#child.off('exit', onExit);
        resolve(message as Extract<SimReply, { type: T }>);
      };
      const onExit = (code: number | null) => reject(new Error(`simulator exited (${code})`));
      this.#child.on('message', onMessage);
      this.#child.once('exit', onExit);
      this.#child.send(command);
    });
  }

  async stats(): Promise<SimStats> {
    return (await this.request({ type: 'stats' }, 'stats')).stats;
  }

  async close(): Promise<void> {
    if (this.#child.connected)
      await within(this.request({ type: 'close' }, 'closed'), 30_000).catch(() => undefined);
    await stopChild(this.#child, 5000);
  }
}

/** Run progress as the console stream reports it; events may arrive before POST /runs answers. */
class RunWatcher {
  readonly #ws: WebSocket;
  readonly latest = new Map<
    string,
    { status: string; counts: Record<string, number>; at: number; events: number }
  >();
  /** Every event the console stream delivered. */
  events = 0;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data: Buffer) => {
      this.events += 1;
      const event = JSON.parse(data.toString('utf8'));
      if (event.type !== 'run.progress') return;
      const events = (this.latest.get(event.run_id)?.events ?? 0) + 1;
      this.latest.set(event.run_id, { status: event.status, counts: event.counts, at: Date.now(), events });
    });
  }

  static open(url: string, token: string): Promise<RunWatcher> {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/events/ws?access_token=${token}`);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RunWatcher(ws)));
      ws.once('error', reject);
    });
  }

  /** Resolves with the run's final event, or its latest one once `timeoutMs` has passed. */
  async final(runId: string, timeoutMs: number) {
    const deadline = Date.now() + timeoutMs;
    let lastLog = Date.now();
    for (;;) {
      const progress = this.latest.get(runId);
      if (progress && FINAL_RUN_STATUSES.has(progress.status)) return progress;
      if (Date.now() > deadline) return progress;
      if (Date.now() - lastLog >= 5000) {
        lastLog = Date.now();
        const c = progress?.counts;
        log(
          `    run: ${c ? `${c.succeeded} succeeded, ${c.running} running, ${c.dispatched} dispatched, ${c.queued} queued` : 'no progress yet'}`,
        );
      }
      await sleep(20);
    }
  }

  close(): void {
    this.#ws.close();
  }
}

async function metrics(url: string): Promise<Map<string, number>> {
  return parseMetrics((await api(url, 'GET', '/metrics', { expect: 200 })).body as string);
}

const mb = (kb: number) => kb / 1024;

async function heldCount(server: Fleetplane, token: string): Promise<number> {
  const info = await api(server.url, 'GET', '/api/v1/system/info', { token, expect: 200 });
  return Number(info.body.counts.agents_connected);
}

async function measureHeartbeats(
  server: Fleetplane,
  sim: Simulator,
  options: FleetOptions,
): Promise<FleetResult['heartbeats']> {
  await sim.request({ type: 'heartbeats', intervalMs: options.heartbeatMs }, 'heartbeats');
  await sleep(2000);
  // Each reading carries its own time: a scrape of a busy server may take a while to answer.
  const snapshot = async () => {
    const cpu = { at: performance.now(), seconds: procSample(server.pid).cpuSeconds };
    const sent = { value: (await sim.stats()).heartbeatsSent, at: performance.now() };
    const scraped = { values: await metrics(server.url), at: performance.now() };
    return { cpu, sent, scraped };
  };
  const before = await snapshot();
  await sleep(options.heartbeatWindowS * 1000);
  const after = await snapshot();
  await sim.request({ type: 'heartbeats', intervalMs: NORMAL_HEARTBEAT_MS }, 'heartbeats');
  const perSecond = (delta: number, from: number, to: number) => (delta * 1000) / (to - from);
  const counter = (name: string) =>
    perSecond(
      (after.scraped.values.get(name) ?? NaN) - (before.scraped.values.get(name) ?? NaN),
      before.scraped.at,
      after.scraped.at,
    );
  return {
    sentPerS: perSecond(after.sent.value - before.sent.value, before.sent.at, after.sent.at),
    receivedPerS: counter('fleetplane_heartbeats_total{stage="received"}'),
    writtenPerS: counter('fleetplane_heartbeats_total{stage="written"}'),
    serverCpuPercent: perSecond(after.cpu.seconds - before.cpu.seconds, before.cpu.at, after.cpu.at) * 100,
    // prom-client resets the event-loop histogram at each scrape: this is the window's p99.
    loopLagP99Ms: (after.scraped.values.get('nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
  };
}

async function measureRun(
  server: Fleetplane,
  sim: Simulator,
  token: string,
  options: FleetOptions,
): Promise<FleetResult['run']> {
  const watcher = await RunWatcher.open(server.url, token);
  try {
    const started = Date.now();
    const created = await api(server.url, 'POST', '/api/v1/runs', {
      token,
      body: {
        name: `bench ${options.agents}`,
        target: { all: true },
        job: { interpreter: 'sh', command: 'true' },
        concurrency: Math.min(options.agents, 10_000),
      },
      expect: 202,
    });
    const createMs = Date.now() - started;
    const runId = created.body.id as string;
    log(`    run ${runId} created in ${createMs} ms`);
    const final = await watcher.final(runId, options.runTimeoutS * 1000);
    const stats = await sim.stats();
    const run = await api(server.url, 'GET', `/api/v1/runs/${runId}`, { token, expect: 200 });
    const since = (at: number | null) => (at === null ? NaN : at - started);
    return {
      status:
        final && FINAL_RUN_STATUSES.has(final.status) ? final.status : `unfinished (${run.body.status})`,
      succeeded: Number(run.body.counts.succeeded),
      total: Number(run.body.counts.total),
      createMs,
      firstJobMs: since(stats.firstJobAt),
      lastJobMs: since(stats.lastJobAt),
      lastResultMs: since(stats.lastResultAt),
      finalMs: final && FINAL_RUN_STATUSES.has(final.status) ? final.at - started : NaN,
      progressEvents: final?.events ?? 0,
      consoleEvents: watcher.events,
    };
  } finally {
    watcher.close();
  }
}

export async function benchFleet(options: FleetOptions): Promise<FleetResult> {
  const n = options.agents;
  const started = performance.now();
  log(`\n== Fleet: ${n} agents (${machineLoad()})`);
  const server = await startFleetplane({
    env: SERVER_ENV,
    ...(options.profileDir
      ? { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${path.resolve(options.profileDir)}`] }
      : {}),
  });
  const sim = new Simulator(spawnTs('bench/sim-agents.ts', [], { ipc: true }));
  try {
    const token = await loginAdmin(server);
    const enrollment = await api(server.url, 'POST', '/api/v1/enrollment-tokens', {
      token,
      body: { name: 'bench' },
      expect: 201,
    });
    const openFilesLimit = { server: procSample(server.pid).openFilesLimit, simulator: 0 };
    openFilesLimit.simulator = procSample(sim.pid).openFilesLimit;
    const ports = ephemeralPorts();
    log(
      `  open files limit: server ${openFilesLimit.server}, simulator ${openFilesLimit.simulator}; ` +
        `ephemeral ports: ${ports}`,
    );
    if (Math.min(openFilesLimit.server, openFilesLimit.simulator) < n + 1000)
      log(`  WARNING: ${n} sockets need an open files limit above ${n + 1000}; raise the hard limit`);
    if (ports < n + 2000)
      log(`  WARNING: ${n} sockets need more ephemeral ports; widen net.ipv4.ip_local_port_range`);
    await sleep(1000);
    const idle = procSample(server.pid);

    log(`  registering ${n} agents (${options.registerConcurrency} in flight) [${secondsSince(started)}]`);
    const registered = await sim.request(
      {
        type: 'register',
        url: server.url,
        enrollmentToken: enrollment.body.secret as string,
        count: n,
        concurrency: options.registerConcurrency,
      },
      'registered',
    );
    log(
      `    ${registered.ok} registered, ${registered.failed} failed in ${fixed(registered.ms / 1000)} s` +
        (registered.firstError ? `; first error: ${registered.firstError}` : ''),
    );
    const afterRegister = procSample(server.pid);

    log(
      `  connecting ${registered.ok} sockets (${options.connectConcurrency} at once) [${secondsSince(started)}]`,
    );
    await sim.request({ type: 'heartbeats', intervalMs: NORMAL_HEARTBEAT_MS }, 'heartbeats');
    const connected = await sim.request(
      { type: 'connect', concurrency: options.connectConcurrency },
      'connected',
    );
    log(
      `    ${connected.ok} connected, ${connected.failed} failed in ${fixed(connected.ms / 1000)} s` +
        (connected.firstError ? `; first error: ${connected.firstError}` : ''),
    );
    const afterConnect = procSample(server.pid);
    await sleep(3000);
    const rssConnected = procSample(server.pid).rssKb;
    const held = await heldCount(server, token);
    log(`    server holds ${held} sockets; RSS ${fixed(mb(rssConnected))} MB`);

    log(
      `  heartbeats: every ${options.heartbeatMs} ms per agent for ${options.heartbeatWindowS} s [${secondsSince(started)}]`,
    );
    const heartbeats = await measureHeartbeats(server, sim, options);
    log(
      `    sent ${Math.round(heartbeats.sentPerS)}/s, server received ${Math.round(heartbeats.receivedPerS)}/s, ` +
        `wrote ${Math.round(heartbeats.writtenPerS)} rows/s at ${fixed(heartbeats.serverCpuPercent, 0)}% CPU`,
    );

    log(`  run over ${n} agents, concurrency ${n} [${secondsSince(started)}]`);
    const beforeRun = procSample(server.pid).cpuSeconds;
    const run = await measureRun(server, sim, token, options);
    const runCpuS = procSample(server.pid).cpuSeconds - beforeRun;
    log(
      `    ${run.status}: ${run.succeeded} of ${run.total} succeeded; final after ${fixed(run.finalMs / 1000, 2)} s`,
    );
    const simStats = await sim.stats();
    if (simStats.dropped > 0 || simStats.errorFrames > 0)
      log(
        `    simulator: ${simStats.dropped} sockets dropped, ${simStats.errorFrames} error frames (${simStats.firstError})`,
      );
    if (server.logLines.count > 0)
      log(`    server logged ${server.logLines.count} warn+ lines, first: ${server.logLines.first[0]}`);
    log(`  done in ${secondsSince(started)} (${machineLoad()})`);
    return {
      agents: n,
      registered: registered.ok,
      registerS: registered.ms / 1000,
      connected: connected.ok,
      connectS: connected.ms / 1000,
      serverCpuS: {
        register: afterRegister.cpuSeconds - idle.cpuSeconds,
        connect: afterConnect.cpuSeconds - afterRegister.cpuSeconds,
        run: runCpuS,
      },
      held,
      openFilesLimit,
      rssMb: { idle: mb(idle.rssKb), registered: mb(afterRegister.rssKb), connected: mb(rssConnected) },
      rssPerAgentKb: (rssConnected - afterRegister.rssKb) / Math.max(connected.ok, 1),
      heartbeats,
      run,
      serverLogLines: server.logLines.count,
    };
  } finally {
    const closing = performance.now();
    await sim.close();
    log(`  simulator closed its sockets in ${secondsSince(closing)}`);
    const stopping = performance.now();
    await server.stop();
    log(`  server stopped in ${secondsSince(stopping)}`);
  }
}

export function fleetTable(results: FleetResult[]): string {
  const rows: [string, (r: FleetResult) => string | number][] = [
    [
      'agents registered',
      (r) => `${r.registered} in ${fixed(r.registerS)} s (${Math.round(r.registered / r.registerS)}/s)`,
    ],
    [
      'sockets connected',
      (r) => `${r.connected} in ${fixed(r.connectS)} s (${Math.round(r.connected / r.connectS)}/s)`,
    ],
    ['server CPU registering', (r) => `${fixed(r.serverCpuS.register)} s`],
    ['server CPU connecting', (r) => `${fixed(r.serverCpuS.connect)} s`],
    ['agents held (server)', (r) => r.held],
    ['server RSS idle', (r) => `${fixed(r.rssMb.idle)} MB`],
    ['server RSS registered', (r) => `${fixed(r.rssMb.registered)} MB`],
    ['server RSS connected', (r) => `${fixed(r.rssMb.connected)} MB`],
    ['RSS per connected agent', (r) => `${fixed(r.rssPerAgentKb)} KB`],
    ['heartbeats sent', (r) => `${Math.round(r.heartbeats.sentPerS)}/s`],
    ['heartbeats received', (r) => `${Math.round(r.heartbeats.receivedPerS)}/s`],
    ['heartbeat rows written', (r) => `${Math.round(r.heartbeats.writtenPerS)}/s`],
    ['server CPU (heartbeats)', (r) => `${fixed(r.heartbeats.serverCpuPercent, 0)}%`],
    ['event loop lag p99', (r) => `${fixed(r.heartbeats.loopLagP99Ms)} ms`],
    ['run: POST /runs answered', (r) => `${fixed(r.run.createMs / 1000, 2)} s`],
    ['run: first job at agent', (r) => `${fixed(r.run.firstJobMs / 1000, 2)} s`],
    ['run: last job at agent', (r) => `${fixed(r.run.lastJobMs / 1000, 2)} s`],
    ['run: last result sent', (r) => `${fixed(r.run.lastResultMs / 1000, 2)} s`],
    ['run: final status', (r) => `${fixed(r.run.finalMs / 1000, 2)} s`],
    ['run: server CPU', (r) => `${fixed(r.serverCpuS.run)} s`],
    ['run: outcome', (r) => `${r.run.status} ${r.run.succeeded}/${r.run.total}`],
    ['run: progress events', (r) => r.run.progressEvents],
    ['run: console events', (r) => r.run.consoleEvents],
  ];
  return table(
    ['fleet', ...results.map((r) => `N = ${r.agents}`)],
    rows.map(([label, value]) => [label, ...results.map(value)]),
  );
}

export const defaultFleetOptions: Omit<FleetOptions, 'agents'> = {
  registerConcurrency: 50,
  connectConcurrency: 100,
  heartbeatMs: 1000,
  heartbeatWindowS: 10,
  runTimeoutS: 300,
  profileDir: undefined,
};

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { agents: { type: 'string', default: '1000' }, profile: { type: 'string' } },
  });
  const result = await benchFleet({
    ...defaultFleetOptions,
    agents: Number(values.agents),
    profileDir: values.profile,
  });
  log(`\n${fleetTable([result])}`);
}
