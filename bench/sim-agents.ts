import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import type { AgentFacts, AgentFrame, RegisterResponse, ServerFrame } from '../src/protocol/agent.js';

/**
 * One shard of simulated agents, driven over IPC by fleet-sim.ts. Each agent registers with the
 * enrollment token at its node (agents are spread round-robin over the nodes by their global
 * index), holds a WebSocket there, says hello, sends heartbeats at the rate the driver sets, and
 * answers every job at once: ack, one output line, a `succeeded` result.
 *
 * Bounded by construction: at most as many agents as this process has sockets to spare, only
 * loopback servers, every phase stops starting work at its deadline, and the process exits by
 * itself when its driver goes away or after MAX_LIFETIME_MS.
 *
 * Driver → simulator: register, connect, heartbeats, stats, deliveries, close (one at a time, each answered).
 */

export type SimCommand =
  | {
      type: 'register';
      /** The nodes, in order: agent `i` (global index) belongs to `urls[i % urls.length]`. */
      urls: string[];
      enrollmentToken: string;
      /** Global index of this shard's first agent, and how many it holds. */
      firstIndex: number;
      count: number;
      concurrency: number;
      deadlineMs: number;
    }
  | { type: 'connect'; concurrency: number; deadlineMs: number }
  /** Every connected agent sends one heartbeat per `intervalMs`, spread evenly; 0 stops them. */
  | { type: 'heartbeats'; intervalMs: number }
  | { type: 'stats' }
  /** Date.now() at each job frame's arrival, in arrival order. */
  | { type: 'deliveries' }
  | { type: 'close' };

export interface SimStats {
  open: number;
  dropped: number;
  heartbeatsSent: number;
  jobsReceived: number;
  resultsSent: number;
  resultsAcked: number;
  errorFrames: number;
  firstError: string | null;
  /** Date.now() of the last result sent. */
  lastResultAt: number | null;
}

export interface PhaseResult {
  ok: number;
  failed: number;
  /** Not tried: the phase's deadline came first. */
  skipped: number;
  ms: number;
  firstError: string | null;
}

export type SimReply =
  | { type: 'progress'; phase: string; done: number; total: number }
  | ({ type: 'registered' } & PhaseResult)
  | ({ type: 'connected' } & PhaseResult)
  | { type: 'heartbeats'; intervalMs: number }
  | { type: 'stats'; stats: SimStats }
  | { type: 'deliveries'; arrivals: number[] }
  | { type: 'closed' };

/** The process exits by itself after this long, whatever its driver does. */
const MAX_LIFETIME_MS = 90 * 60_000;
/** One registration, and one socket's handshake up to its welcome, give up after this long. */
const REQUEST_TIMEOUT_MS = 60_000;
/** Descriptors kept for everything but agent sockets (IPC, stdio, timers, DNS). */
const RESERVED_FILES = 200;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

interface SimAgent {
  index: number;
  url: string;
  id: string;
  token: string;
  ws: WebSocket | undefined;
  ready: boolean;
}

const agents: SimAgent[] = [];
/** Tells this simulation's machines from an earlier one's: one fingerprint is one agent. */
const runTag = Date.now().toString(36);

function factsOf(index: number): AgentFacts {
  return {
    hostname: `sim-${index}`,
    fingerprint: `sim-${runTag}-${index}`,
    os_type: 'linux',
    os_version: 'sim',
    arch: 'x64',
    agent_version: '0.0.0-sim',
    interpreters: ['sh', 'bash'],
  };
}
const stats: SimStats = {
  open: 0,
  dropped: 0,
  heartbeatsSent: 0,
  jobsReceived: 0,
  resultsSent: 0,
  resultsAcked: 0,
  errorFrames: 0,
  firstError: null,
  lastResultAt: null,
};
/** Date.now() of every job frame, in arrival order: one run, at most one job per agent. */
const arrivals: number[] = [];
let closing = false;

function reply(message: SimReply): void {
  process.send?.(message);
}

/** fetch() puts the socket error (ECONNRESET, EADDRNOTAVAIL…) in `cause`. */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}

/** The soft open-files limit of this process: each agent holds one socket. */
function openFilesLimit(): number {
  const limits = readFileSync('/proc/self/limits', 'utf8');
  return Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? NaN);
}

function assertLoopback(url: string): void {
  if (!LOOPBACK_HOSTS.has(new URL(url).hostname))
    throw new Error(`refusing ${url}: the simulator talks to loopback servers only`);
}

/**
 * Runs `work` over `count` indexes with at most `concurrency` in flight; reports progress every
 * 2 s. Past `deadlineMs` no new index is started: the rest are counted as skipped.
 */
async function pool(
  phase: string,
  count: number,
  concurrency: number,
  deadlineMs: number,
  work: (index: number) => Promise<void>,
): Promise<PhaseResult> {
  const started = performance.now();
  let next = 0;
  let ok = 0;
  let failed = 0;
  let firstError: string | null = null;
  const ticker = setInterval(() => reply({ type: 'progress', phase, done: ok + failed, total: count }), 2000);
  const worker = async () => {
    while (next < count && performance.now() - started < deadlineMs) {
      const index = next++;
      try {
        await work(index);
        ok += 1;
      } catch (error) {
        failed += 1;
        firstError ??= errorText(error);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  } finally {
    clearInterval(ticker);
  }
  return { ok, failed, skipped: count - ok - failed, ms: performance.now() - started, firstError };
}

async function register(command: Extract<SimCommand, { type: 'register' }>): Promise<void> {
  if (command.urls.length === 0) throw new Error('register: no server urls');
  for (const url of command.urls) assertLoopback(url);
  const room = openFilesLimit() - RESERVED_FILES - agents.length;
  if (!(command.count <= room))
    throw new Error(`register: ${command.count} agents need more sockets than this process has (${room})`);
  const result = await pool(
    'register',
    command.count,
    command.concurrency,
    command.deadlineMs,
    async (offset) => {
      const index = command.firstIndex + offset;
      const url = command.urls[index % command.urls.length]!;
      const response = await fetch(`${url}/api/v1/agent/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ enrollment_token: command.enrollmentToken, facts: factsOf(index) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`register: ${response.status} ${text.slice(0, 200)}`);
      const body = JSON.parse(text) as RegisterResponse;
      agents.push({ index, url, id: body.agent_id, token: body.agent_token, ws: undefined, ready: false });
    },
  );
  reply({ type: 'registered', ...result });
}

function send(agent: SimAgent, frame: AgentFrame): void {
  if (agent.ws?.readyState === WebSocket.OPEN) agent.ws.send(JSON.stringify(frame));
}

function onFrame(agent: SimAgent, frame: ServerFrame): void {
  switch (frame.type) {
    case 'welcome':
      agent.ready = true;
      return;
    case 'job': {
      const { job_id, attempt } = frame.job;
      arrivals.push(Date.now());
      stats.jobsReceived += 1;
      send(agent, { type: 'job_event', event: { type: 'ack', job_id, attempt } });
      send(agent, {
        type: 'job_event',
        event: { type: 'output', job_id, attempt, seq: 0, stream: 'stdout', data: 'ok\n' },
      });
      send(agent, {
        type: 'job_event',
        event: { type: 'result', job_id, attempt, status: 'succeeded', exit_code: 0, duration_ms: 0 },
      });
      stats.resultsSent += 1;
      stats.lastResultAt = Date.now();
      return;
    }
    case 'event_ack':
      if (frame.event === 'result') stats.resultsAcked += 1;
      return;
    // simulated agents run from source: never offered an update
    case 'update':
    case 'cancel':
      return;
    // their facts never change
    case 'refresh_facts':
      return;
    case 'error':
      stats.errorFrames += 1;
      stats.firstError ??= `${frame.code}: ${frame.message}`;
      return;
    default:
      frame satisfies never;
  }
}

/** Opens one agent's socket at its node and resolves at its welcome. */
function connectOne(agent: SimAgent): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${agent.url.replace(/^http/, 'ws')}/api/v1/agent/ws`, {
      headers: { authorization: `Bearer ${agent.token}` },
      handshakeTimeout: REQUEST_TIMEOUT_MS / 2,
      perMessageDeflate: false,
    });
    agent.ws = ws;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no welcome within ${REQUEST_TIMEOUT_MS / 1000} s`));
    }, REQUEST_TIMEOUT_MS);
    ws.on('unexpected-response', (_request, response) => {
      clearTimeout(timer);
      reject(new Error(`upgrade refused: ${response.statusCode}`));
      response.resume();
    });
    ws.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    ws.on('open', () => {
      stats.open += 1;
      send(agent, { type: 'hello', facts: factsOf(agent.index), running_job_ids: [] });
    });
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as ServerFrame;
      onFrame(agent, frame);
      if (frame.type === 'welcome') {
        clearTimeout(timer);
        resolve();
      }
    });
    ws.on('close', () => {
      if (agent.ready) stats.open -= 1;
      if (agent.ready && !closing) stats.dropped += 1;
      agent.ready = false;
    });
  });
}

async function connect(command: Extract<SimCommand, { type: 'connect' }>): Promise<void> {
  const result = await pool('connect', agents.length, command.concurrency, command.deadlineMs, (index) =>
    connectOne(agents[index]!),
  );
  reply({ type: 'connected', ...result });
}

/**
 * Heartbeats at a known rate: each tick sends as many as the elapsed time allows at
 * (ready agents / interval) per second, round-robin, so timer jitter does not change the rate.
 * The budget never exceeds one heartbeat per ready agent, so a stalled loop sends no burst.
 */
const TICK_MS = 20;
let heartbeatIntervalMs = 0;
let heartbeatTimer: NodeJS.Timeout | undefined;
let cursor = 0;
let budget = 0;
let lastTick = 0;
const METRICS = { cpu_percent: 3, memory_percent: 40, disk_percent: 50, uptime_seconds: 1000 };

function tick(): void {
  const now = performance.now();
  const ready = agents.filter((agent) => agent.ready);
  budget = Math.min(budget + ((now - lastTick) * ready.length) / heartbeatIntervalMs, ready.length);
  lastTick = now;
  while (budget >= 1 && ready.length > 0) {
    const agent = ready[cursor++ % ready.length]!;
    send(agent, { type: 'heartbeat', metrics: METRICS });
    stats.heartbeatsSent += 1;
    budget -= 1;
  }
}

function heartbeats(intervalMs: number): void {
  clearInterval(heartbeatTimer);
  heartbeatTimer = undefined;
  heartbeatIntervalMs = intervalMs;
  budget = 0;
  lastTick = performance.now();
  if (intervalMs > 0) heartbeatTimer = setInterval(tick, TICK_MS);
  reply({ type: 'heartbeats', intervalMs });
}

async function close(): Promise<void> {
  closing = true;
  heartbeats(0);
  await Promise.all(
    agents.map(
      (agent) =>
        new Promise<void>((resolve) => {
          const ws = agent.ws;
          if (!ws || ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close(1000, 'simulation over');
          setTimeout(() => ws.terminate(), 5000).unref();
        }),
    ),
  );
  reply({ type: 'closed' });
  process.disconnect?.();
}

// Without its driver nobody would close these sockets: go with it.
process.on('disconnect', () => process.exit(0));
setTimeout(() => {
  process.stderr.write(`sim-agents: still running after ${MAX_LIFETIME_MS / 60_000} min; exiting\n`);
  process.exit(2);
}, MAX_LIFETIME_MS).unref();

process.on('message', (command: SimCommand) => {
  const work = async () => {
    switch (command.type) {
      case 'register':
        return register(command);
      case 'connect':
        return connect(command);
      case 'heartbeats':
        return heartbeats(command.intervalMs);
      case 'stats':
        return reply({ type: 'stats', stats: { ...stats } });
      case 'deliveries':
        return reply({ type: 'deliveries', arrivals });
      case 'close':
        return close();
      default:
        command satisfies never;
    }
  };
  work().catch((error: unknown) => {
    process.stderr.write(`sim-agents: ${errorText(error)}\n`);
    process.exit(1);
  });
});
