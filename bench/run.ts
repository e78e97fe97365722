import { parseArgs } from 'node:util';
import { benchConsoleAgents, consoleAgentsTable, type ConsoleAgentsResult } from './console-agents.js';
import { benchDeployments, defaultDeploymentsBench, deploymentsTable } from './deployments.js';
import { DEFAULT_BENCH_PG_URL, type BenchDb } from './fleet-cluster.js';
import { fleetSummary, fleetTable, type FleetResult } from './fleet-report.js';
import { benchFleet, defaultFleetOptions, fleetLimitProblem } from './fleet-sim.js';
import { benchHttp, httpTable, type HttpRow } from './http.js';
import { benchMetrics, defaultMetricsBench, metricsTable } from './metrics.js';
import { benchQueues } from './queues.js';
import { exitCleanlyOnInterrupt, hardOpenFilesLimit, log, machineLoad, secondsSince } from './support.js';

/**
 * `npm run bench [-- --only http|fleet|console|queues|deployments|metrics] [--agents N]... [--db sqlite|postgres] [--nodes N]
 * [--heartbeat-ms MS] [--window-heartbeat-ms MS] [--profile DIR]`: the HTTP benchmark, then the
 * fleet simulation for 1,000 and 10,000 agents (or each N given), then the console's agents page
 * with 10,000 agents (filter change to filtered table, in Chromium), then the work-queue bench
 * (bench/queues.ts: 16 consumers on PostgreSQL next to pg-boss, and on SQLite), then the
 * deployments bench (bench/deployments.ts: start, step reports and detail of a deployment over
 * 1,000 and 10,000 machines, on SQLite and PostgreSQL), then the metrics bench (bench/metrics.ts: rollup
 * steps and the fleet overview with 10,000 agents on PostgreSQL), then one summary.
 * `--db postgres` creates a fresh database on FLEETPLANE_BENCH_PG_URL's server and drops it at the
 * end; `--nodes N` starts N server nodes on it. `--profile DIR` writes each node's CPU profile and
 * statement timings of the run there (bench/node-probe.ts) and prints where the time went.
 */
const USAGE =
  'usage: npm run bench -- [--only http|fleet|console|queues|deployments|metrics] [--agents N]... [--db sqlite|postgres] [--nodes N]\n' +
  '         [--heartbeat-ms MS] [--window-heartbeat-ms MS] [--profile DIR]';
/** Four simulators of 12,500 sockets, three nodes of about 16,700: what this machine's limits allow. */
const MAX_AGENTS = 50_000;
const MAX_NODES = 8;
/** The console bench's fleet, as the issue asks, and its rounds of filter changes. */
const CONSOLE_AGENTS = 10_000;
const CONSOLE_ROUNDS = 10;

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    agents: { type: 'string', multiple: true },
    db: { type: 'string', default: 'sqlite' },
    nodes: { type: 'string', default: '1' },
    'heartbeat-ms': { type: 'string' },
    'window-heartbeat-ms': { type: 'string' },
    profile: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const integerIn = (raw: string | undefined, min: number, max: number): number | undefined => {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  return Number.isInteger(value) && value >= min && value <= max ? value : NaN;
};
const agentCounts = (values.agents ?? ['1000', '10000']).map((raw) => integerIn(raw, 1, MAX_AGENTS)!);
const nodes = integerIn(values.nodes, 1, MAX_NODES)!;
const heartbeatMs = integerIn(values['heartbeat-ms'], 1000, 600_000);
const windowHeartbeatMs = integerIn(values['window-heartbeat-ms'], 100, 600_000);
const problems = [
  values.only !== undefined &&
    values.only !== 'http' &&
    values.only !== 'fleet' &&
    values.only !== 'console' &&
    values.only !== 'queues' &&
    values.only !== 'deployments' &&
    values.only !== 'metrics' &&
    '--only takes http, fleet, console, queues, deployments or metrics',
  agentCounts.some(Number.isNaN) && `--agents takes 1 to ${MAX_AGENTS}`,
  values.db !== 'sqlite' && values.db !== 'postgres' && '--db takes sqlite or postgres',
  Number.isNaN(nodes) && `--nodes takes 1 to ${MAX_NODES}`,
  nodes > 1 &&
    values.db !== 'postgres' &&
    '--nodes above 1 needs --db postgres (the nodes share its database)',
  Number.isNaN(heartbeatMs) && '--heartbeat-ms takes 1000 to 600000',
  Number.isNaN(windowHeartbeatMs) && '--window-heartbeat-ms takes 100 to 600000',
  ...agentCounts
    .filter((agents) => !Number.isNaN(agents) && !Number.isNaN(nodes))
    .map((agents) => fleetLimitProblem(agents, nodes, hardOpenFilesLimit())),
].filter((problem): problem is string => typeof problem === 'string');
if (values.help || problems.length > 0) {
  log(USAGE);
  for (const problem of problems) log(`  ${problem}`);
  process.exit(values.help ? 0 : 1);
}

exitCleanlyOnInterrupt();
const started = performance.now();
log(`Fleetplane benchmarks: node ${process.version}, ${machineLoad()}`);
let http: HttpRow[] = [];
const fleet: FleetResult[] = [];
let consoleAgents: ConsoleAgentsResult | undefined;
const runs = (name: string) => values.only === undefined || values.only === name;
if (runs('http')) http = await benchHttp({ connections: 10, durationS: 5 });
if (runs('fleet')) {
  for (const agents of agentCounts) {
    const defaults = defaultFleetOptions(agents);
    fleet.push(
      await benchFleet({
        ...defaults,
        db: values.db as BenchDb,
        nodes,
        pgUrl: process.env.FLEETPLANE_BENCH_PG_URL || DEFAULT_BENCH_PG_URL,
        heartbeatMs: heartbeatMs ?? defaults.heartbeatMs,
        windowHeartbeatMs: windowHeartbeatMs ?? defaults.windowHeartbeatMs,
        profileDir: values.profile,
      }),
    );
  }
}

if (runs('console'))
  consoleAgents = await benchConsoleAgents({ agents: CONSOLE_AGENTS, rounds: CONSOLE_ROUNDS });
const queues = runs('queues') ? await benchQueues() : undefined;
const deployments = runs('deployments') ? await benchDeployments(defaultDeploymentsBench) : undefined;
const metricsHistory = runs('metrics') ? await benchMetrics(defaultMetricsBench) : undefined;

log(`\n== Summary (${secondsSince(started)} in all, ${machineLoad()})`);
if (http.length > 0) log(`\n${httpTable(http)}`);
if (fleet.length > 0) log(`\n${fleetTable(fleet)}\n\n${fleetSummary(fleet)}`);
if (consoleAgents) log(`\n${consoleAgentsTable(consoleAgents)}`);
if (queues) log(`\n${queues}`);
if (deployments) log(`\n${deploymentsTable(deployments)}`);
if (metricsHistory) log(`\n${metricsTable(metricsHistory)}`);
if (values.profile) log(`\nCPU profiles and statement timings of the runs: ${values.profile}`);
