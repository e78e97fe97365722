import { parseArgs } from 'node:util';
import { benchFleet, defaultFleetOptions, fleetTable, type FleetResult } from './fleet-sim.js';
import { benchHttp, httpTable, type HttpRow } from './http.js';
import { log, machineLoad, secondsSince } from './support.js';

/**
 * `npm run bench [-- --only http|fleet] [--agents N]... [--profile DIR]`: the HTTP benchmark,
 * then the fleet simulation for 1,000 and 10,000 agents (or the N given), then one summary.
 * `--profile DIR` writes the fleet server's CPU profiles there (node --cpu-prof).
 */
const USAGE = 'usage: npm run bench -- [--only http|fleet] [--agents N]... [--profile DIR]';

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    agents: { type: 'string', multiple: true },
    profile: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
const agentCounts = (values.agents ?? ['1000', '10000']).map(Number);
if (
  values.help ||
  (values.only !== undefined && values.only !== 'http' && values.only !== 'fleet') ||
  agentCounts.some((n) => !Number.isInteger(n) || n < 1 || n > 10_000)
) {
  log(USAGE);
  log('  --agents takes 1 to 10000 (the largest run concurrency the API accepts)');
  process.exit(values.help ? 0 : 1);
}

const started = performance.now();
log(`Fleetplane benchmarks: node ${process.version}, ${machineLoad()}`);
let http: HttpRow[] = [];
const fleet: FleetResult[] = [];
if (values.only !== 'fleet') http = await benchHttp({ connections: 10, durationS: 5 });
if (values.only !== 'http') {
  for (const agents of agentCounts)
    fleet.push(await benchFleet({ ...defaultFleetOptions, agents, profileDir: values.profile }));
}

log(`\n== Summary (${secondsSince(started)} in all, ${machineLoad()})`);
if (http.length > 0) log(`\n${httpTable(http)}`);
if (fleet.length > 0) log(`\n${fleetTable(fleet)}`);
if (values.profile) log(`\nCPU profiles of the fleet servers: ${values.profile}`);
