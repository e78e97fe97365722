import { agentSocketsUnder } from '../src/server/lib/open-files.js';
import { Simulators } from './fleet-agents.js';
import type { PhaseResult } from './sim-agents.js';
import {
  metricsOf,
  probeWindow,
  sampleNodes,
  socketsByNode,
  startCluster,
  watchPeakRss,
  type BenchDb,
  type Cluster,
  type NodeSample,
} from './fleet-cluster.js';
import type { FleetResult, NodeFigures } from './fleet-report.js';
import { measureRun } from './fleet-run.js';
import { allocationSummary, profileSummary, statementsTable } from './probe-report.js';
import {
  api,
  ephemeralPorts,
  fixed,
  log,
  loginAdmin,
  machineLoad,
  procSample,
  secondsSince,
  sleep,
  type Fleetplane,
} from './support.js';

/**
 * The fleet under load: the real server as N node processes (one on SQLite, or N on one
 * PostgreSQL database), the agents in simulator processes (fleet-agents.ts) spread round-robin
 * over the nodes, this process driving them and reading the nodes' /proc entries and /metrics.
 * Phases: register the agents, connect their sockets, heartbeats at a known rate for a window,
 * and one run over all agents started on node 1, timed from POST /api/v1/runs to its final
 * `run.progress` event on node 1's console stream, with each job's arrival taken at its agent.
 */

export interface FleetOptions {
  agents: number;
  db: BenchDb;
  nodes: number;
  /** A database to connect to on the PostgreSQL server the bench creates its own database on. */
  pgUrl: string;
  /** The agents' heartbeat interval, told to the server; the window below sends faster. */
  heartbeatMs: number;
  /** Per agent, during the heartbeat measurement window. */
  windowHeartbeatMs: number;
  heartbeatWindowS: number;
  /** Registration requests in flight, across all simulators. */
  registerConcurrency: number;
  /** Sockets being opened (until their welcome) at once, across all simulators. */
  connectConcurrency: number;
  /** Registering, and connecting, each stop starting new agents after this long. */
  phaseTimeoutS: number;
  /** The run gives up waiting after this long. */
  runTimeoutS: number;
  /** A directory for the nodes' run-window CPU profiles and statement timings, when profiling. */
  profileDir: string | undefined;
}

/** Heartbeats are buffered and written once per flush: the bound on rows per agent. */
const HEARTBEAT_FLUSH_MS = 1000;

/** The server's fleet timings: offline and lease at six heartbeats, as the bench has always run. */
function serverEnv(options: FleetOptions): Record<string, string> {
  return {
    FLEETPLANE_HEARTBEAT_INTERVAL_MS: String(options.heartbeatMs),
    FLEETPLANE_OFFLINE_AFTER_MS: String(6 * options.heartbeatMs),
    FLEETPLANE_JOB_LEASE_MS: String(6 * options.heartbeatMs),
    FLEETPLANE_HEARTBEAT_FLUSH_MS: String(HEARTBEAT_FLUSH_MS),
    FLEETPLANE_AUTH_RATE_LIMIT: '1000000',
  };
}

const mb = (kb: number) => kb / 1024;
const indent = (text: string) => text.replace(/^/gm, '    ');
const sum = (values: number[]) => values.reduce((total, v) => total + v, 0);

async function heldInDatabaseOf(node: Fleetplane, token: string): Promise<number> {
  const info = await api(node.url, 'GET', '/api/v1/system/info', { token, expect: 200 });
  return Number(info.body.counts.agents_connected);
}

/** Heartbeat rates over a window; `held` is each node's agent sockets, for the rows-per-flush bound. */
async function measureHeartbeats(cluster: Cluster, sims: Simulators, held: number[], options: FleetOptions) {
  await sims.heartbeats(options.windowHeartbeatMs);
  await sleep(2000);
  // Each reading carries its own time: a scrape of a busy node may take a while to answer.
  const snapshot = async () => {
    const cpu = { at: performance.now(), seconds: sum(sampleNodes(cluster).map((n) => n.cpuSeconds)) };
    const sent = { value: (await sims.stats()).heartbeatsSent, at: performance.now() };
    const scraped = await Promise.all(
      cluster.nodes.map(async (node) => {
        const asked = performance.now();
        return { values: await metricsOf(node), asked, at: performance.now() };
      }),
    );
    return { cpu, sent, scraped };
  };
  const before = await snapshot();
  await sleep(options.heartbeatWindowS * 1000);
  const after = await snapshot();
  await sims.heartbeats(options.heartbeatMs);
  const perSecond = (delta: number, from: number, to: number) => (delta * 1000) / (to - from);
  const delta = (name: string, i: number) =>
    (after.scraped[i]!.values.get(name) ?? NaN) - (before.scraped[i]!.values.get(name) ?? NaN);
  const counter = (name: string) =>
    sum(cluster.nodes.map((_, i) => perSecond(delta(name, i), before.scraped[i]!.at, after.scraped[i]!.at)));
  const written = 'fleetplane_heartbeats_total{stage="written"}';
  // Between two readings of a node (taken within [asked, at] each) fit at most
  // floor(span / flush) + 1 of its flushes: rows over (agents held × that) stay at or under 1
  // while each agent is written at most once per flush.
  const rows = sum(cluster.nodes.map((_, i) => delta(written, i)));
  const bound = sum(
    cluster.nodes.map((_, i) => {
      const span = after.scraped[i]!.at - before.scraped[i]!.asked;
      return held[i]! * (Math.floor(span / HEARTBEAT_FLUSH_MS) + 1);
    }),
  );
  return {
    figures: {
      intervalMs: options.windowHeartbeatMs,
      sentPerS: perSecond(after.sent.value - before.sent.value, before.sent.at, after.sent.at),
      receivedPerS: counter('fleetplane_heartbeats_total{stage="received"}'),
      writtenPerS: counter(written),
      writesPerAgentPerFlush: rows / bound,
      serverCpuPercent: perSecond(after.cpu.seconds - before.cpu.seconds, before.cpu.at, after.cpu.at) * 100,
    },
    // prom-client resets the event-loop histogram at each scrape: this is the window's p99.
    loopLagP99Ms: after.scraped.map((s) => (s.values.get('nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000),
  };
}

/**
 * Why `agents` over `nodes` cannot run here, if they cannot: each node holds its share of the
 * sockets, and refuses those past its cap under the open-files limit (no process can raise it
 * above the hard limit).
 */
export function fleetLimitProblem(agents: number, nodes: number, openFilesLimit: number): string | undefined {
  const perNode = Math.ceil(agents / nodes);
  const cap = agentSocketsUnder(openFilesLimit);
  if (perNode <= cap) return undefined;
  return (
    `${agents} agents on ${nodes} node(s) are ${perNode} sockets per node, and a node holds at most ${cap} ` +
    `(the hard open files limit is ${openFilesLimit}): use --nodes ${Math.ceil(agents / cap)} or more`
  );
}

/** Registers every agent and connects its socket, logging each phase; answers both phases and the nodes' samples. */
async function populate(cluster: Cluster, sims: Simulators, token: string, options: FleetOptions) {
  const first = cluster.nodes[0]!;
  const n = options.agents;
  const enrollment = await api(first.url, 'POST', '/api/v1/enrollment-tokens', {
    token,
    body: { name: 'bench' },
    expect: 201,
  });
  const idle = sampleNodes(cluster);
  const phaseMs = options.phaseTimeoutS * 1000;
  log(`  registering ${n} agents (${options.registerConcurrency} in flight)`);
  const registered = await sims.register({
    urls: cluster.nodes.map((node) => node.url),
    enrollmentToken: enrollment.body.secret as string,
    concurrency: options.registerConcurrency,
    deadlineMs: phaseMs,
  });
  log(`    ${phaseSummary(registered, 'registered')}`);
  const afterRegister = sampleNodes(cluster);

  log(`  connecting ${registered.ok} sockets (${options.connectConcurrency} at once)`);
  await sims.heartbeats(options.heartbeatMs);
  const connected = await sims.connect({ concurrency: options.connectConcurrency, deadlineMs: phaseMs });
  log(`    ${phaseSummary(connected, 'connected')}`);
  const afterConnect = sampleNodes(cluster);
  await sleep(3000);
  const settled = sampleNodes(cluster);
  const sockets = await socketsByNode(cluster);
  const held = sockets.map((node) => node.held);
  const refused = sockets.map((node) => node.refused);
  const heldInDatabase = await heldInDatabaseOf(first, token);
  log(
    `    nodes hold ${held.join(' / ')} sockets (${heldInDatabase} in the database); RSS ` +
      `${settled.map((s) => fixed(mb(s.rssKb), 0)).join(' / ')} MB; open files ` +
      `${settled.map((s) => s.openFiles).join(' / ')}`,
  );
  if (refused.some((count) => count !== 0))
    log(`    WARNING: full nodes refused ${refused.join(' / ')} agent sockets (503 node_full)`);
  return {
    registered,
    connected,
    held,
    refused,
    heldInDatabase,
    samples: { idle, afterRegister, afterConnect, settled },
  };
}

const phaseSummary = (phase: PhaseResult, done: string) =>
  `${phase.ok} ${done}, ${phase.failed} failed, ${phase.skipped} skipped in ${fixed(phase.ms / 1000)} s` +
  (phase.firstError ? `; first error: ${phase.firstError}` : '');

export async function benchFleet(options: FleetOptions): Promise<FleetResult> {
  const n = options.agents;
  const started = performance.now();
  log(`\n== Fleet: ${n} agents, ${options.db}, ${options.nodes} node(s) (${machineLoad()})`);
  const cluster = await startCluster({
    db: options.db,
    nodes: options.nodes,
    pgUrl: options.pgUrl,
    env: serverEnv(options),
    profileDir: options.profileDir,
  });
  const peakRss = watchPeakRss(cluster);
  const first = cluster.nodes[0]!;
  let sims: Simulators | undefined;
  try {
    sims = Simulators.start(n);
    const simulatorOpenFilesLimit = Math.min(...sims.pids.map((pid) => procSample(pid).openFilesLimit));
    log(
      `  ${cluster.databaseName ? `database ${cluster.databaseName}; ` : ''}nodes at ` +
        `${cluster.nodes.map((node) => node.url).join(', ')}; ${sims.size} simulator(s); open files limit ` +
        `${sampleNodes(cluster)[0]!.openFilesLimit} per node, ${simulatorOpenFilesLimit} per simulator; ` +
        `ephemeral ports ${ephemeralPorts()}`,
    );
    // Loopback sockets to one node each take a local port of their own.
    const perNode = Math.ceil(n / options.nodes);
    if (ephemeralPorts() < perNode + 2000)
      log(
        `  WARNING: ${perNode} sockets per node need more ephemeral ports; widen net.ipv4.ip_local_port_range`,
      );
    const token = await loginAdmin(first);
    await sleep(1000);
    const fleet = await populate(cluster, sims, token, options);

    log(
      `  heartbeats: every ${options.windowHeartbeatMs} ms per agent for ${options.heartbeatWindowS} s [${secondsSince(started)}]`,
    );
    const heartbeats = await measureHeartbeats(cluster, sims, fleet.held, options);
    const hb = heartbeats.figures;
    log(
      `    sent ${Math.round(hb.sentPerS)}/s, nodes received ${Math.round(hb.receivedPerS)}/s, ` +
        `wrote ${Math.round(hb.writtenPerS)} rows/s (${fixed(hb.writesPerAgentPerFlush, 2)} per agent per flush) ` +
        `at ${fixed(hb.serverCpuPercent, 0)}% CPU`,
    );

    log(`  run over ${n} agents on node 1, concurrency ${n} [${secondsSince(started)}]`);
    const beforeRun = sampleNodes(cluster);
    if (options.profileDir) await probeWindow(cluster, options.profileDir, 'start');
    const run = await measureRun(first, sims, token, options);
    const afterRun = sampleNodes(cluster);
    if (options.profileDir) {
      const files = await probeWindow(cluster, options.profileDir, 'stop');
      for (const [i, file] of files.entries()) {
        log(`\n  node ${i + 1} during the run: statements\n${indent(statementsTable(file.statements))}`);
        log(`\n  node ${i + 1} during the run: CPU\n${indent(profileSummary(file.profile))}`);
        log(`\n  node ${i + 1} during the run: allocations\n${indent(allocationSummary(file.heap))}\n`);
      }
    }
    log(
      `    ${run.status}: ${run.succeeded} of ${run.total} succeeded, ${run.delivered} jobs delivered; ` +
        `last delivery ${fixed(run.lastJobMs, 0)} ms, final ${fixed(run.finalMs, 0)} ms after the POST answered`,
    );
    const simStats = await sims.stats();
    if (simStats.dropped > 0 || simStats.errorFrames > 0)
      log(
        `    simulators: ${simStats.dropped} sockets dropped, ${simStats.errorFrames} error frames (${simStats.firstError})`,
      );
    for (const [i, node] of cluster.nodes.entries())
      if (node.logLines.count > 0)
        log(`    node ${i + 1} logged ${node.logLines.count} warn+ lines, first: ${node.logLines.first[0]}`);
    log(`  done in ${secondsSince(started)} (${machineLoad()})`);
    const { idle, afterRegister, afterConnect, settled } = fleet.samples;
    const peaks = peakRss.stop();
    const cpu = (to: NodeSample[], from: NodeSample[], i: number) => to[i]!.cpuSeconds - from[i]!.cpuSeconds;
    const nodes: NodeFigures[] = cluster.nodes.map((_, i) => ({
      rssMb: {
        idle: mb(idle[i]!.rssKb),
        registered: mb(afterRegister[i]!.rssKb),
        connected: mb(settled[i]!.rssKb),
        peak: mb(peaks[i]!),
      },
      held: fleet.held[i]!,
      refused: fleet.refused[i]!,
      openFiles: settled[i]!.openFiles,
      openFilesLimit: settled[i]!.openFilesLimit,
      cpuS: {
        register: cpu(afterRegister, idle, i),
        connect: cpu(afterConnect, afterRegister, i),
        run: cpu(afterRun, beforeRun, i),
      },
      loopLagP99Ms: heartbeats.loopLagP99Ms[i]!,
    }));
    return {
      agents: n,
      db: options.db,
      nodes,
      simulators: sims.size,
      simulatorOpenFilesLimit,
      heartbeatMs: options.heartbeatMs,
      registered: fleet.registered.ok,
      registerS: fleet.registered.ms / 1000,
      connected: fleet.connected.ok,
      connectS: fleet.connected.ms / 1000,
      heldInDatabase: fleet.heldInDatabase,
      rssPerAgentKb:
        (sum(settled.map((s) => s.rssKb)) - sum(afterRegister.map((s) => s.rssKb))) /
        Math.max(fleet.connected.ok, 1),
      heartbeats: hb,
      run,
      serverLogLines: sum(cluster.nodes.map((node) => node.logLines.count)),
    };
  } finally {
    peakRss.stop();
    const closing = performance.now();
    await sims?.close();
    log(`  simulators closed their sockets in ${secondsSince(closing)}`);
    const stopping = performance.now();
    await cluster.stop();
    log(`  nodes stopped${cluster.databaseName ? ', database dropped,' : ''} in ${secondsSince(stopping)}`);
  }
}

/** Defaults for the figures the issue states: 5 s heartbeats up to 10,000 agents, 30 s beyond. */
export function defaultFleetOptions(agents: number): Omit<FleetOptions, 'db' | 'nodes' | 'pgUrl'> {
  const large = agents > 10_000;
  return {
    agents,
    heartbeatMs: large ? 30_000 : 5000,
    // One a second per agent up to 10,000 agents; 50,000 agents every 10 s make the 5,000/s target.
    windowHeartbeatMs: large ? 10_000 : 1000,
    heartbeatWindowS: 10,
    registerConcurrency: 50,
    connectConcurrency: 100,
    phaseTimeoutS: 900,
    runTimeoutS: large ? 900 : 300,
    profileDir: undefined,
  };
}
