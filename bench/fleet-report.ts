import type { BenchDb } from './fleet-cluster.js';
import { fixed, table } from './support.js';

/** What one fleet simulation measured; times of the run are in ms after POST /runs answered. */

export interface NodeFigures {
  /** Peak: the highest of readings every 250 ms from start to the run's end. */
  rssMb: { idle: number; registered: number; connected: number; peak: number };
  /** `fleetplane_agent_sockets`: the agent sockets this node holds. */
  held: number;
  /** `fleetplane_agent_sockets_refused_total`: new agent sockets it refused, being full. */
  refused: number;
  openFiles: number;
  openFilesLimit: number;
  /** User + system CPU time per phase, in seconds: steadier than wall time on a busy machine. */
  cpuS: { register: number; connect: number; run: number };
  loopLagP99Ms: number;
}

export interface FleetResult {
  agents: number;
  db: BenchDb;
  nodes: NodeFigures[];
  simulators: number;
  simulatorOpenFilesLimit: number;
  /** The agents' heartbeat interval outside the measurement window (the server's setting). */
  heartbeatMs: number;
  registered: number;
  registerS: number;
  connected: number;
  connectS: number;
  /** `agents_connected` in /api/v1/system/info: sockets all nodes hold, as the database has it. */
  heldInDatabase: number;
  rssPerAgentKb: number;
  heartbeats: {
    /** Per agent, during the measurement window. */
    intervalMs: number;
    sentPerS: number;
    receivedPerS: number;
    writtenPerS: number;
    /** Rows written over (agents held × flushes the window can hold): at most 1 while each agent is written at most once per flush. */
    writesPerAgentPerFlush: number;
    /** All nodes together: 100% is one core. */
    serverCpuPercent: number;
  };
  run: {
    status: string;
    succeeded: number;
    total: number;
    /** Job frames the agents received: one per agent, unless a job was delivered twice. */
    delivered: number;
    createMs: number;
    firstJobMs: number;
    medianJobMs: number;
    lastJobMs: number;
    lastResultMs: number;
    finalMs: number;
    /** `run.progress` events of the run (one per settle pass), and all events the console got meanwhile. */
    progressEvents: number;
    consoleEvents: number;
  };
  serverLogLines: number;
}

const perNode = (r: FleetResult, value: (node: NodeFigures) => string): string =>
  r.nodes.map(value).join(' / ');
const seconds = (ms: number) => `${fixed(ms / 1000, 2)} s`;

/** Every figure of each simulation, one column per simulation. */
export function fleetTable(results: FleetResult[]): string {
  const rows: [string, (r: FleetResult) => string | number][] = [
    ['database, nodes', (r) => `${r.db}, ${r.nodes.length}`],
    ['simulator processes', (r) => `${r.simulators} (open files limit ${r.simulatorOpenFilesLimit})`],
    [
      'agents registered',
      (r) => `${r.registered} in ${fixed(r.registerS)} s (${Math.round(r.registered / r.registerS)}/s)`,
    ],
    [
      'sockets connected',
      (r) => `${r.connected} in ${fixed(r.connectS)} s (${Math.round(r.connected / r.connectS)}/s)`,
    ],
    ['server CPU registering', (r) => perNode(r, (n) => `${fixed(n.cpuS.register)} s`)],
    ['server CPU connecting', (r) => perNode(r, (n) => `${fixed(n.cpuS.connect)} s`)],
    ['agents held (per node)', (r) => perNode(r, (n) => String(n.held))],
    ['agent sockets refused, node full (per node)', (r) => perNode(r, (n) => String(n.refused))],
    ['agents held (database)', (r) => r.heldInDatabase],
    ['open files (per node)', (r) => perNode(r, (n) => `${n.openFiles}/${n.openFilesLimit}`)],
    ['server RSS idle', (r) => perNode(r, (n) => `${fixed(n.rssMb.idle)} MB`)],
    ['server RSS registered', (r) => perNode(r, (n) => `${fixed(n.rssMb.registered)} MB`)],
    ['server RSS connected', (r) => perNode(r, (n) => `${fixed(n.rssMb.connected)} MB`)],
    ['server RSS peak', (r) => perNode(r, (n) => `${fixed(n.rssMb.peak)} MB`)],
    ['RSS per connected agent', (r) => `${fixed(r.rssPerAgentKb)} KB`],
    ['heartbeat interval (fleet)', (r) => `${r.heartbeatMs} ms`],
    ['heartbeat interval (window)', (r) => `${r.heartbeats.intervalMs} ms`],
    ['heartbeats sent', (r) => `${Math.round(r.heartbeats.sentPerS)}/s`],
    ['heartbeats received', (r) => `${Math.round(r.heartbeats.receivedPerS)}/s`],
    ['heartbeat rows written', (r) => `${Math.round(r.heartbeats.writtenPerS)}/s`],
    ['rows per agent per flush (≤ 1)', (r) => fixed(r.heartbeats.writesPerAgentPerFlush, 2)],
    ['server CPU (heartbeats)', (r) => `${fixed(r.heartbeats.serverCpuPercent, 0)}%`],
    ['event loop lag p99', (r) => perNode(r, (n) => `${fixed(n.loopLagP99Ms)} ms`)],
    ['run: POST /runs answered', (r) => seconds(r.run.createMs)],
    ['run: first job at agent *', (r) => seconds(r.run.firstJobMs)],
    ['run: median job at agent *', (r) => seconds(r.run.medianJobMs)],
    ['run: last job at agent *', (r) => seconds(r.run.lastJobMs)],
    ['run: last result sent *', (r) => seconds(r.run.lastResultMs)],
    ['run: final status *', (r) => seconds(r.run.finalMs)],
    ['run: server CPU', (r) => perNode(r, (n) => `${fixed(n.cpuS.run)} s`)],
    ['run: outcome', (r) => `${r.run.status} ${r.run.succeeded}/${r.run.total}`],
    ['run: jobs delivered', (r) => r.run.delivered],
    ['run: progress events', (r) => r.run.progressEvents],
    ['run: console events', (r) => r.run.consoleEvents],
    ['server log lines (warn+)', (r) => r.serverLogLines],
  ];
  return [
    table(
      ['fleet', ...results.map((r) => `N = ${r.agents}`)],
      rows.map(([label, value]) => [label, ...results.map(value)]),
    ),
    '* after POST /runs answered; per-node figures are node 1 / node 2 / …',
  ].join('\n');
}

/** One line per simulation: the figures the targets are stated in. */
export function fleetSummary(results: FleetResult[]): string {
  return [
    table(
      [
        'agents',
        'db',
        'nodes',
        'POST /runs',
        'last job *',
        'run final *',
        'outcome',
        'peak RSS per node',
        'held per node',
        'heartbeats/s',
        'rows/s',
        'registered/s',
      ],
      results.map((r) => [
        r.agents,
        r.db,
        r.nodes.length,
        `${fixed(r.run.createMs, 0)} ms`,
        `${fixed(r.run.lastJobMs, 0)} ms`,
        `${fixed(r.run.finalMs, 0)} ms`,
        `${r.run.succeeded}/${r.run.total}`,
        perNode(r, (n) => fixed(n.rssMb.peak, 0)) + ' MB',
        perNode(r, (n) => String(n.held)),
        fixed(r.heartbeats.receivedPerS, 0),
        fixed(r.heartbeats.writtenPerS, 0),
        fixed(r.registered / r.registerS, 0),
      ]),
    ),
    '* ms after POST /runs answered; "run final" is its last run.progress event, every result recorded',
  ].join('\n');
}
