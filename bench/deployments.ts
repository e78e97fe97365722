import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { KyselyPlugin, QueryId, RootOperationNode } from 'kysely';
import { buildApp } from '../src/server/app.js';
import { loadConfig, type DatabaseConfig } from '../src/server/config.js';
import { migrateToLatest, openDatabase, type Database } from '../src/server/db/database.js';
import { DEFAULT_BENCH_PG_URL, type BenchDb } from './fleet-cluster.js';
import { profileSummary } from './probe-report.js';
import {
  api,
  exitCleanlyOnInterrupt,
  fixed,
  freshPostgres,
  insertAgents,
  log,
  machineLoad,
  table,
} from './support.js';

/**
 * `npx tsx bench/deployments.ts [--machines N]... [--db sqlite|postgres] [--statements] [--profile DIR]`: a
 * deployment over a big fleet, on SQLite and on a fresh PostgreSQL database of
 * FLEETPLANE_BENCH_PG_URL's server (dropped at the end), with 1,000 and 10,000 machines unless told.
 * The app runs in this process (buildApp listening on a free port, called with real fetch); the
 * machines are agents written straight into its database: online, tagged, bash among their
 * interpreters. The service has 5 planned steps and runs on a selector of all of them, rolling
 * out in batches of 10%.
 *
 * 1. Start: `POST /api/v1/deployments`, 3 times (a deployment each), the median latency. It writes
 *    N targets and batch 0's jobs, and answers the deployment with its first 100 machines.
 * 2. Step reports: batch 0's machines of the last deployment, 32 clients at once, each taking a
 *    machine and posting its 5 steps `running` then `success` (10 reports) with the machine's
 *    deployment token: reports per second, p50 and p99 latency.
 * 3. Detail: `GET /api/v1/deployments/{id}` (the first 100 machines and their steps), 5 times, median.
 *
 * The CPU seconds are this process's (server and clients; PostgreSQL's own work is not in them):
 * on a busy machine they say what a phase needed of it better than wall time. `--statements`
 * times every SQL statement (from Kysely's send to its answer, connection wait included) and
 * prints those of the start and of the step reports by total time; `--profile DIR` writes a CPU
 * profile of each phase there (`<db>-<machines>-<phase>.cpuprofile`) and prints its busiest functions.
 *
 * Targets, on both databases (what a rollout over a big fleet needs of one node on 2 cores;
 * README.md's Benchmarks has the figures measured):
 * - start ≤ 1 s at 10,000 machines, ≤ 200 ms at 1,000;
 * - ≥ 500 step reports/s (a batch of 1,000 machines reporting 10 steps within a minute needs
 *   170/s), p99 ≤ 100 ms;
 * - detail ≤ 1 s at 10,000 machines (50,000 steps), ≤ 150 ms at 1,000.
 * Each verdict also says whether this process's CPU time alone misses the target: then an idle
 * machine would miss it too. Measured under a load of 9 to 11 on 2 CPUs: the start (0.4 to 0.6
 * CPU s at 10,000 machines) and the detail fit by CPU time; the step reports do not (about 2.3 ms of
 * CPU each, clients included: 410 to 430 a CPU second).
 */
export interface DeploymentsBenchOptions {
  machines: number[];
  dbs: BenchDb[];
  /** Time every statement and print the slowest of the start and of the reports. */
  statements: boolean;
  /** A directory for a CPU profile of each phase, summarised as it ends. */
  profileDir?: string | undefined;
}

export const defaultDeploymentsBench: DeploymentsBenchOptions = {
  machines: [1000, 10_000],
  dbs: ['sqlite', 'postgres'],
  statements: false,
};

const STEPS = ['fetch', 'build', 'migrate', 'restart', 'verify'];
const BATCH_PERCENT = 10;
const STARTS = 3;
const DETAILS = 5;
const CLIENTS = 32;
const TAG = 'bench-deploy';
const PG_URL = process.env.FLEETPLANE_BENCH_PG_URL || DEFAULT_BENCH_PG_URL;

/** Targets: [at 1,000 machines, at 10,000 machines]; other sizes are held to the larger. */
const TARGETS = {
  startMs: [200, 1000],
  reportsPerS: 500,
  reportP99Ms: 100,
  detailMs: [150, 1000],
};
const targetAt = (pair: number[], machines: number) => (machines <= 1000 ? pair[0]! : pair[1]!);

export interface DeploymentsRow {
  db: BenchDb;
  machines: number;
  load: string;
  startMs: number;
  startAllMs: number[];
  startCpuS: number;
  /** Bytes of the start's answer: the detail of every machine and step. */
  startBytes: number;
  reports: number;
  reportsPerS: number;
  reportP50Ms: number;
  reportP99Ms: number;
  reportCpuS: number;
  detailMs: number;
  detailCpuS: number;
  detailBytes: number;
}

interface StatementTiming {
  sql: string;
  count: number;
  totalMs: number;
  maxMs: number;
}

/**
 * Times each statement from Kysely's transformQuery to its transformResult, keyed by its SQL
 * (compiled again after the answer, outside the time measured); IN lists and VALUES rows of any
 * length count as one statement.
 */
class StatementTimer implements KyselyPlugin {
  #timings = new Map<string, StatementTiming>();
  readonly #pending = new WeakMap<QueryId, { node: RootOperationNode; at: number }>();
  #compile: ((node: RootOperationNode, queryId: QueryId) => string) | undefined;

  attach(database: Database): void {
    const executor = database.db.getExecutor();
    this.#compile = (node, queryId) => executor.compileQuery(node, queryId).sql;
    database.db = database.db.withPlugin(this);
  }

  transformQuery(args: { node: RootOperationNode; queryId: QueryId }): RootOperationNode {
    this.#pending.set(args.queryId, { node: args.node, at: performance.now() });
    return args.node;
  }

  transformResult<R>(args: { result: R; queryId: QueryId }): Promise<R> {
    const pending = this.#pending.get(args.queryId);
    if (pending && this.#compile) {
      const ms = performance.now() - pending.at;
      const sql = this.#compile(pending.node, args.queryId)
        .replace(/\$\d+/g, '?')
        .replace(/\(\?(?:, \?)+\)/g, '(?…)')
        .replace(/(?:\(\?…\), )+\(\?…\)/g, '(?…), …');
      const timing = this.#timings.get(sql) ?? { sql, count: 0, totalMs: 0, maxMs: 0 };
      timing.count += 1;
      timing.totalMs += ms;
      timing.maxMs = Math.max(timing.maxMs, ms);
      this.#timings.set(sql, timing);
    }
    return Promise.resolve(args.result);
  }

  /** The statements since the last call, slowest in all first, and starts afresh. */
  take(top: number): string {
    const sorted = [...this.#timings.values()].sort((a, b) => b.totalMs - a.totalMs).slice(0, top);
    this.#timings = new Map();
    return table(
      ['total ms', 'count', 'max ms', 'statement'],
      sorted.map((t) => [fixed(t.totalMs), t.count, fixed(t.maxMs), t.sql.slice(0, 160)]),
    );
  }
}

interface Clock {
  at: number;
  cpu: NodeJS.CpuUsage;
}
const clockNow = (): Clock => ({ at: performance.now(), cpu: process.cpuUsage() });
const msSince = (clock: Clock) => performance.now() - clock.at;
const cpuSince = (clock: Clock) => {
  const cpu = process.cpuUsage(clock.cpu);
  return (cpu.user + cpu.system) / 1e6;
};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const percentile = (sorted: number[], p: number) =>
  sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? NaN;

/** Where the app's database lives for one run, and how to remove it. */
async function freshDatabase(db: BenchDb): Promise<{ config: DatabaseConfig; drop: () => Promise<void> }> {
  if (db === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-bench-deployments-'));
    return {
      config: { kind: 'sqlite', file: path.join(dir, 'fleetplane.db') },
      drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
    };
  }
  const { url, drop } = await freshPostgres(PG_URL, 'deploy');
  return { config: { kind: 'postgres', url, schema: undefined }, drop };
}

/** Machines a deployment can target: online, tagged, with bash among their interpreters. */
const deployAgent = (n: number) => ({
  ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
  interpreters: JSON.stringify(['bash', 'sh', 'python']),
  tags: JSON.stringify([TAG, `rack-${n % 40}`]),
});

/** One timed JSON call: its latency in ms (answer read whole) and the answer. */
async function timed(
  url: string,
  method: string,
  route: string,
  options: { token: string; body?: unknown; expect: number },
): Promise<{ ms: number; body: any; bytes: number }> {
  const started = performance.now();
  const response = await fetch(`${url}${route}`, {
    method,
    headers: {
      authorization: `Bearer ${options.token}`,
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  const ms = performance.now() - started;
  if (response.status !== options.expect)
    throw new Error(`${method} ${route}: ${response.status} ${text.slice(0, 300)}`);
  return { ms, body: JSON.parse(text), bytes: Buffer.byteLength(text) };
}

/** Runs `work` under a CPU profile written to `dir/name.cpuprofile` and summarised; without `dir`, just runs it. */
async function profiled<T>(dir: string | undefined, name: string, work: () => Promise<T>): Promise<T> {
  if (!dir) return work();
  mkdirSync(dir, { recursive: true });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    const file = path.join(dir, `${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    log(`  CPU profile of ${name}: ${file}\n${indent(profileSummary(file, 12))}`);
  }
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

async function benchOne(
  db: BenchDb,
  machines: number,
  options: DeploymentsBenchOptions,
): Promise<DeploymentsRow> {
  const phase = (name: string) => `${db}-${machines}-${name}`;
  log(
    `\n== Deployments on ${db === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, ${machines} machines (${machineLoad()})`,
  );
  const where = await freshDatabase(db);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-bench-data-'));
  let database: Database | undefined;
  let app: FastifyInstance | undefined;
  try {
    const config = loadConfig(
      // no agent is connected: the offline sweep must not rewrite the machines mid-run
      { FLEETPLANE_DATA_DIR: dataDir, LOG_LEVEL: 'warn', FLEETPLANE_OFFLINE_AFTER_MS: String(3_600_000) },
      { database: where.config, masterKeyHex: randomBytes(32).toString('hex') },
    );
    database = await openDatabase(config.database);
    const migrated = await migrateToLatest(database);
    if (migrated.error) throw migrated.error;
    const timer = options.statements ? new StatementTimer() : undefined;
    timer?.attach(database);
    app = await buildApp({ config, database });
    const url = await listen(app);
    const admin = { email: 'bench@fleetplane.local', password: randomBytes(12).toString('base64url') };
    const { org } = await app.services.auth.createAdmin(
      { ip: null, userAgent: 'bench', requestId: null },
      { ...admin, name: 'Bench', orgName: 'Bench' },
    );
    const login = await api(url, 'POST', '/api/v1/auth/login', { body: admin, expect: 200 });
    const token = login.body.access_token as string;

    const written = performance.now();
    await insertAgents(database, org.id, machines, {
      prefix: 'deploy',
      now: new Date().toISOString(),
      agent: deployAgent,
    });
    log(`  ${machines} agents written in ${fixed(performance.now() - written, 0)} ms`);
    const service = await api(url, 'POST', '/api/v1/services', {
      token,
      expect: 201,
      body: {
        name: 'bench-service',
        script: { interpreter: 'bash', content: 'echo deploying' },
        steps: STEPS,
        runs_on: { type: 'selector', selector: { tags: [TAG] } },
        rollout: { batch_percent: BATCH_PERCENT },
      },
    });

    // 1. start, 3 times
    const startMs: number[] = [];
    const startClock = clockNow();
    let started: { ms: number; body: any; bytes: number } | undefined;
    timer?.take(0);
    await profiled(options.profileDir, phase('start'), async () => {
      for (let i = 0; i < STARTS; i++) {
        started = await timed(url, 'POST', '/api/v1/deployments', {
          token,
          body: { service_id: service.body.id },
          expect: 201,
        });
        startMs.push(started.ms);
        log(`  start ${i + 1}: ${fixed(started.ms, 0)} ms (${(started.bytes / 1e6).toFixed(1)} MB answered)`);
      }
    });
    const startCpuS = cpuSince(startClock);
    if (timer) log(`  statements of the ${STARTS} starts:\n${indent(timer.take(12))}`);
    const deployment = started!.body;
    if (deployment.counts.total !== machines)
      throw new Error(`the deployment has ${deployment.counts.total} machines, not ${machines}`);

    // 2. step reports: batch 0 of the last deployment (paged through its targets), 32 clients at once
    const batch0: { id: string; status: string }[] = [];
    for (let cursor: string | null = ''; cursor !== null;) {
      const page: { body: { items: { id: string; status: string }[]; next_cursor: string | null } } =
        await timed(
          url,
          'GET',
          `/api/v1/deployments/${deployment.id}/targets?batch=0&limit=200${cursor ? `&cursor=${cursor}` : ''}`,
          { token, expect: 200 },
        );
      batch0.push(...page.body.items);
      cursor = page.body.next_cursor;
    }
    if (batch0.some((target) => target.status !== 'running'))
      throw new Error('batch 0 has machines that are not running');
    const queue = batch0.map((target) => ({ token: app!.services.deployments.tokenFor(target.id) }));
    const latencies: number[] = [];
    const reportClock = clockNow();
    const client = async () => {
      for (let machine = queue.pop(); machine; machine = queue.pop())
        for (const name of STEPS)
          for (const state of ['running', 'success'])
            latencies.push(
              (
                await timed(url, 'POST', '/api/v1/steps', {
                  token: machine.token,
                  body: { name, state },
                  expect: 200,
                })
              ).ms,
            );
    };
    await profiled(options.profileDir, phase('reports'), () =>
      Promise.all(Array.from({ length: CLIENTS }, client)),
    );
    const reportWallMs = msSince(reportClock);
    const reportCpuS = cpuSince(reportClock);
    if (timer) log(`  statements of the step reports:\n${indent(timer.take(12))}`);
    latencies.sort((a, b) => a - b);
    const reportsPerS = latencies.length / (reportWallMs / 1000);
    log(
      `  ${latencies.length} step reports of ${batch0.length} machines in ${fixed(reportWallMs / 1000, 2)} s: ` +
        `${Math.round(reportsPerS)}/s, p50 ${fixed(percentile(latencies, 0.5))} ms, p99 ${fixed(percentile(latencies, 0.99))} ms`,
    );

    // 3. detail, 5 times
    const detailMs: number[] = [];
    let detailBytes = 0;
    const detailClock = clockNow();
    await profiled(options.profileDir, phase('detail'), async () => {
      for (let i = 0; i < DETAILS; i++) {
        const detail = await timed(url, 'GET', `/api/v1/deployments/${deployment.id}`, {
          token,
          expect: 200,
        });
        const reported = (detail.body.targets as { batch: number; steps: { state: string }[] }[])
          .filter((target) => target.batch === 0)
          .every((target) => target.steps.every((step) => step.state === 'success'));
        if (!reported) throw new Error("the detail misses batch 0's step reports");
        detailMs.push(detail.ms);
        detailBytes = detail.bytes;
      }
    });
    const detailCpuS = cpuSince(detailClock);
    log(`  detail: median ${fixed(median(detailMs), 0)} ms (${(detailBytes / 1e6).toFixed(1)} MB)`);

    return {
      db,
      machines,
      load: machineLoad(),
      startMs: median(startMs),
      startAllMs: startMs,
      startCpuS: startCpuS / STARTS,
      startBytes: started!.bytes,
      reports: latencies.length,
      reportsPerS,
      reportP50Ms: percentile(latencies, 0.5),
      reportP99Ms: percentile(latencies, 0.99),
      reportCpuS,
      detailMs: median(detailMs),
      detailCpuS: detailCpuS / DETAILS,
      detailBytes,
    };
  } finally {
    await app?.close();
    await database?.close();
    await where.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');

/** Runs the deployments benchmark, logging as it goes; answers a row per database and fleet size. */
export async function benchDeployments(
  options: DeploymentsBenchOptions = defaultDeploymentsBench,
): Promise<DeploymentsRow[]> {
  log(
    `\n== Deployments bench: ${options.machines.join(' and ')} machines on ${options.dbs.join(' and ')}, ` +
      `node ${process.version}, ${machineLoad()}`,
  );
  const rows: DeploymentsRow[] = [];
  for (const db of options.dbs)
    for (const machines of options.machines) rows.push(await benchOne(db, machines, options));
  return rows;
}

/**
 * Met or not on wall time; when not, whether this process's CPU time alone already misses it
 * (it would on an idle machine too) or only the wall time does (a busy machine, or the database).
 */
const verdict = (met: boolean, metByCpu: boolean) =>
  met ? 'met' : metByCpu ? 'NOT met on wall time (its CPU time fits)' : 'NOT met, by CPU time too';

export function deploymentsTable(rows: DeploymentsRow[]): string {
  const figures = table(
    [
      'deployments',
      'start ms (median of 3)',
      'CPU s',
      'MB',
      'reports/s',
      '/CPU s',
      'p50 ms',
      'p99 ms',
      'CPU s',
      'detail ms',
      'CPU s',
      'MB',
      'load',
    ],
    rows.map((row) => [
      `${row.db === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, ${row.machines} machines`,
      `${fixed(row.startMs, 0)} (${row.startAllMs.map((ms) => fixed(ms, 0)).join(', ')})`,
      fixed(row.startCpuS, 2),
      fixed(row.startBytes / 1e6),
      Math.round(row.reportsPerS),
      Math.round(row.reports / row.reportCpuS),
      fixed(row.reportP50Ms),
      fixed(row.reportP99Ms),
      fixed(row.reportCpuS, 2),
      fixed(row.detailMs, 0),
      fixed(row.detailCpuS, 2),
      fixed(row.detailBytes / 1e6),
      row.load,
    ]),
  );
  const targets = rows.map((row) => {
    const start = targetAt(TARGETS.startMs, row.machines);
    const rate = TARGETS.reportsPerS;
    const detail = targetAt(TARGETS.detailMs, row.machines);
    const p99 = TARGETS.reportP99Ms;
    return [
      `${row.db === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, ${row.machines} machines:`,
      `  start ≤ ${start} ms: ${verdict(row.startMs <= start, row.startCpuS * 1000 <= start)}`,
      `  reports ≥ ${rate}/s: ${verdict(row.reportsPerS >= rate, row.reports / row.reportCpuS >= rate)}`,
      `  reports p99 ≤ ${p99} ms: ${row.reportP99Ms <= p99 ? 'met' : 'NOT met'}`,
      `  detail ≤ ${detail} ms: ${verdict(row.detailMs <= detail, row.detailCpuS * 1000 <= detail)}`,
    ].join('\n');
  });
  return [
    `Deployments (${STEPS.length} steps a machine, batches of ${BATCH_PERCENT}%, ${CLIENTS} reporting clients; CPU s: this process, per start and per detail)`,
    figures,
    '',
    ...targets,
  ].join('\n');
}

// run directly: `npx tsx bench/deployments.ts [--machines N]... [--db sqlite|postgres] [--statements] [--profile DIR]`
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      machines: { type: 'string', multiple: true },
      db: { type: 'string' },
      statements: { type: 'boolean', default: false },
      profile: { type: 'string' },
    },
  });
  const machines = values.machines?.map(Number) ?? defaultDeploymentsBench.machines;
  if (
    machines.some((n) => !Number.isInteger(n) || n < 10 || n > 50_000) ||
    (values.db && values.db !== 'sqlite' && values.db !== 'postgres')
  ) {
    log(
      'usage: npx tsx bench/deployments.ts [--machines N (10 to 50000)]... [--db sqlite|postgres] [--statements] [--profile DIR]',
    );
    process.exit(1);
  }
  exitCleanlyOnInterrupt();
  const rows = await benchDeployments({
    machines,
    dbs: values.db ? [values.db as BenchDb] : defaultDeploymentsBench.dbs,
    statements: values.statements,
    profileDir: values.profile,
  });
  log(`\n== Summary (${machineLoad()})\n${deploymentsTable(rows)}`);
}
