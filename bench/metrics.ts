import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { buildApp } from '../src/server/app.js';
import { loadConfig } from '../src/server/config.js';
import { migrateToLatest, openDatabase, type Database } from '../src/server/db/database.js';
import type { Clock } from '../src/server/lib/clock.js';
import { MINUTES_PER_TICK_MS } from '../src/server/modules/metrics/metrics.rollup.js';
import { DEFAULT_BENCH_PG_URL } from './fleet-cluster.js';
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
 * `npx tsx bench/metrics.ts [--agents N] [--catch-up-minutes M]` (or `npm run bench -- --only metrics`):
 * metrics history with 10,000 agents on a fresh PostgreSQL database of FLEETPLANE_BENCH_PG_URL's
 * server (dropped at the end). The app runs in this process on a clock the bench moves; the
 * agents, their heartbeats' raw points and a month of fleet rollups are written straight into the
 * database in bulk (generate_series), as the heartbeat path and the rollup would have written them.
 *
 * 1. First catch-up: raw points of the last M minutes (default 120, the raw retention; one
 *    heartbeat per agent each 15 s: 4 per agent-minute) and no watermark yet, as after the rollup
 *    stood still for the whole raw retention (a fresh server starts history at its first point):
 *    runs of at most 10 raw minutes each, as the timer makes them, fold them into per-agent and
 *    fleet minutes and hours.
 * 2. One minute step: the minute just closed (40,000 points at 10,000 agents), with its purge.
 * 3. One hour step: the hour just closed (600,000 per-agent minutes into 10,000 hours), with the
 *    minute step before it.
 * 4. The overview (`GET /api/v1/metrics/overview`) for 1h, 24h, 7d and 30d, 7 times each, median,
 *    over a week of fleet minutes and 30 days of fleet hours (outcomes included) and 200,000 jobs
 *    that ended over the week.
 *
 * Per-agent minutes exist for the catch-up's span only: the overview never reads them, and a
 * week of them (100 million rows at 10,000 agents) would take this machine longer to write than
 * the rest of the bench. Target: each overview ≤ 100 ms; a minute step well under a second.
 */
export interface MetricsBenchOptions {
  agents: number;
  catchUpMinutes: number;
}

export const defaultMetricsBench: MetricsBenchOptions = { agents: 10_000, catchUpMinutes: 120 };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const OVERVIEWS = 7;
const PG_URL = process.env.FLEETPLANE_BENCH_PG_URL || DEFAULT_BENCH_PG_URL;
const TARGET_OVERVIEW_MS = 100;

class BenchClock implements Clock {
  constructor(public at: number) {}
  now(): Date {
    return new Date(this.at);
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Agents as the heartbeat path leaves them: a mix of systems, one in 50 offline. */
const metricsAgent = (n: number) => ({
  os_type: ['ubuntu', 'windows', 'debian', 'macos'][n % 4]!,
  os_version: '1',
  status: n % 50 === 0 ? 'offline' : 'online',
});

/** ISO 8601 UTC text of a timestamptz expression, as the app writes its times. */
const iso = (expression: string) =>
  `to_char((${expression}) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** Raw points of every agent in [from, to): one per agent each 15 s, agents spread over the 15 s. */
async function insertPoints(database: Database, from: number, to: number): Promise<number> {
  const result = await sql`
    insert into metric_points (agent_id, org_id, at, cpu, memory, disk, uptime, extra)
    select a.id, a.org_id, ${sql.raw(iso(`t.at + (abs(hashtext(a.id)) % 15) * interval '1 second'`))},
           (abs(hashtext(a.id)) % 80) + random() * 20, 40 + random() * 30, 60 + (abs(hashtext(a.id)) % 30), 86400, null
    from agents a
    cross join generate_series(${new Date(from).toISOString()}::timestamptz, ${new Date(to - 15_000).toISOString()}::timestamptz, interval '15 seconds') as t(at)`.execute(
    database.db,
  );
  return Number(result.numAffectedRows ?? 0n);
}

/**
 * Fleet rollups as 10,000 agents heard each minute would leave them: minutes for a week and
 * hours for 30 days before `before`, with jobs and runs ending each minute.
 */
async function insertFleetHistory(
  database: Database,
  orgId: string,
  agents: number,
  before: number,
): Promise<void> {
  const week = new Date(before - 7 * DAY).toISOString();
  const month = new Date(before - 30 * DAY).toISOString();
  // `before` is on the hour: so are the hours counted back from it
  const last = (unit: number) => new Date(before - unit).toISOString();
  const fleet = (table: string, unit: string, from: string, to: string, minutes: number) =>
    sql`
    insert into ${sql.table(table)}
      (org_id, bucket, agent_minutes, samples, cpu_sum, cpu_max, memory_sum, memory_max, disk_sum, disk_max, uptime_max)
    select ${orgId}, ${sql.raw(iso('t.at'))}, ${agents * minutes}, ${agents * minutes * 4},
           ${agents * minutes * 4} * (30 + random() * 20), 100, ${agents * minutes * 4} * 55.0, 97, ${agents * minutes * 4} * 70.0, 99, 86400
    from generate_series(${from}::timestamptz, ${to}::timestamptz, ${sql.raw(`interval '${unit}'`)}) as t(at)`.execute(
      database.db,
    );
  await fleet('fleet_metrics_1m', '1 minute', week, last(MINUTE), 1);
  await fleet('fleet_metrics_1h', '1 hour', month, last(HOUR), 60);
  const outcomes = (table: string, unit: string, from: string, to: string, perBucket: number) =>
    sql`
    insert into ${sql.table(table)} (org_id, bucket, kind, outcome, count)
    select ${orgId}, ${sql.raw(iso('t.at'))}, o.kind, o.outcome, ${perBucket} * o.share
    from generate_series(${from}::timestamptz, ${to}::timestamptz, ${sql.raw(`interval '${unit}'`)}) as t(at)
    cross join (values ('job', 'succeeded', 8), ('job', 'failed', 2), ('run', 'succeeded', 1)) as o(kind, outcome, share)`.execute(
      database.db,
    );
  await outcomes('fleet_outcomes_1m', '1 minute', week, last(MINUTE), 1);
  await outcomes('fleet_outcomes_1h', '1 hour', month, last(HOUR), 60);
  // Jobs that ended over the week: the rollup reads those of its minutes through an index, never all.
  await sql`
    insert into jobs (id, org_id, agent_id, interpreter, command, timeout_seconds, status, max_attempts,
                      output_cap_bytes, created_at, updated_at, started_at, finished_at, duration_ms, exit_code, attempt)
    select gen_random_uuid()::text, ${orgId}, (select id from agents order by id limit 1), 'bash', 'true', 60,
           case when n % 5 = 0 then 'failed' else 'succeeded' end, 1, 1024,
           ${sql.raw(iso('t'))}, ${sql.raw(iso('t'))}, ${sql.raw(iso('t'))}, ${sql.raw(iso('t'))}, 1000,
           case when n % 5 = 0 then 1 else 0 end, 1
    from generate_series(1, 200000) as n,
         lateral (select ${week}::timestamptz + (n * interval '3 seconds')) as s(t)`.execute(database.db);
}

async function timedRun(app: FastifyInstance, maxSpanMs?: number) {
  const started = performance.now();
  const report = await app.services.metricsRollup.run(maxSpanMs === undefined ? {} : { maxSpanMs });
  return { ms: performance.now() - started, report };
}

/** The catch-up as the timer does it: runs of at most 10 raw minutes each, until none is left. */
async function catchUp(app: FastifyInstance): Promise<number[]> {
  const runs: number[] = [];
  for (;;) {
    const run = await timedRun(app, MINUTES_PER_TICK_MS);
    if (run.report.minutes === null) return runs;
    runs.push(run.ms);
    log(
      `    catch-up run ${runs.length}: ${fixed(run.ms, 0)} ms, minutes ${JSON.stringify(run.report.minutes)}`,
    );
  }
}

export interface MetricsBenchResult {
  agents: number;
  catchUp: { points: number; runsMs: number[] };
  minuteStep: { points: number; ms: number };
  hourStep: { ms: number };
  overview: { window: string; medianMs: number; allMs: number[]; bytes: number }[];
}

export async function benchMetrics(options: MetricsBenchOptions): Promise<MetricsBenchResult> {
  log(`\n== Metrics history on PostgreSQL, ${options.agents} agents (${machineLoad()})`);
  const where = await freshPostgres(PG_URL, 'metrics');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-bench-metrics-'));
  const hour = Math.floor(Date.now() / HOUR) * HOUR;
  // Half a minute into the last minute of an hour: the steps below close that minute, then the hour.
  const clock = new BenchClock(hour + 58 * MINUTE + 30_000);
  let database: Database | undefined;
  let app: FastifyInstance | undefined;
  try {
    const config = loadConfig(
      // the bench runs the rollup itself: the app's timers must not run it meanwhile
      {
        FLEETPLANE_DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        FLEETPLANE_SWEEP_INTERVAL_MS: String(HOUR),
        FLEETPLANE_OFFLINE_AFTER_MS: String(DAY),
      },
      {
        database: { kind: 'postgres', url: where.url, schema: undefined },
        masterKeyHex: randomBytes(32).toString('hex'),
      },
    );
    database = await openDatabase(config.database);
    const migrated = await migrateToLatest(database);
    if (migrated.error) throw migrated.error;
    app = await buildApp({ config, database, clock });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    const url = `http://127.0.0.1:${address.port}`;
    const admin = { email: 'bench@fleetplane.local', password: randomBytes(12).toString('base64url') };
    const { org } = await app.services.auth.createAdmin(
      { ip: null, userAgent: 'bench', requestId: null },
      { ...admin, name: 'Bench', orgName: 'Bench' },
    );

    let started = performance.now();
    await insertAgents(database, org.id, options.agents, {
      prefix: 'metrics',
      now: clock.now().toISOString(),
      agent: metricsAgent,
    });
    const lastClosed = hour + 58 * MINUTE;
    const points = await insertPoints(database, lastClosed - options.catchUpMinutes * MINUTE, lastClosed);
    await sql`analyze`.execute(database.db);
    log(
      `  ${options.agents} agents and ${points} raw points written in ${fixed(performance.now() - started, 0)} ms`,
    );

    // 1. the first catch-up
    const catchUpMs = await catchUp(app);
    log(
      `  first catch-up over ${options.catchUpMinutes} minutes: ${catchUpMs.length} runs, ` +
        `longest ${fixed(Math.max(...catchUpMs), 0)} ms, ${fixed(sum(catchUpMs), 0)} ms in all`,
    );

    // 2. one minute step
    const minutePoints = await insertPoints(database, lastClosed, lastClosed + MINUTE);
    clock.at += MINUTE;
    const minuteStep = await timedRun(app);
    log(`  minute step (${minutePoints} points): ${fixed(minuteStep.ms, 0)} ms`);

    // 3. one hour step (with the minute step before it)
    await insertPoints(database, lastClosed + MINUTE, lastClosed + 2 * MINUTE);
    clock.at += MINUTE;
    const hourStep = await timedRun(app);
    log(`  hour step, with its minute step: ${fixed(hourStep.ms, 0)} ms ${JSON.stringify(hourStep.report)}`);

    // 4. the overview over a week of fleet minutes and a month of fleet hours
    started = performance.now();
    // before the hours the catch-up wrote: their buckets are taken
    const historyEnd = Math.floor((lastClosed - options.catchUpMinutes * MINUTE) / HOUR) * HOUR - HOUR;
    await insertFleetHistory(database, org.id, options.agents, historyEnd);
    await sql`analyze`.execute(database.db);
    log(
      `  a week of fleet minutes, 30 days of fleet hours and 200,000 jobs written in ${fixed(performance.now() - started, 0)} ms`,
    );
    const login = await api(url, 'POST', '/api/v1/auth/login', { body: admin, expect: 200 });
    const token = login.body.access_token as string;
    const overview: MetricsBenchResult['overview'] = [];
    for (const window of ['1h', '24h', '7d', '30d']) {
      const allMs: number[] = [];
      let bytes = 0;
      for (let i = 0; i < OVERVIEWS; i++) {
        const begun = performance.now();
        const response = await fetch(`${url}/api/v1/metrics/overview?window=${window}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        const text = await response.text();
        allMs.push(performance.now() - begun);
        if (response.status !== 200)
          throw new Error(`overview ${window}: ${response.status} ${text.slice(0, 300)}`);
        bytes = Buffer.byteLength(text);
      }
      overview.push({ window, medianMs: median(allMs), allMs, bytes });
      log(
        `  overview ${window}: median ${fixed(median(allMs))} ms (${allMs.map((ms) => fixed(ms, 0)).join(', ')})`,
      );
    }
    return {
      agents: options.agents,
      catchUp: { points, runsMs: catchUpMs },
      minuteStep: { points: minutePoints, ms: minuteStep.ms },
      hourStep: { ms: hourStep.ms },
      overview,
    };
  } finally {
    await app?.close();
    await database?.close();
    await where.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function metricsTable(result: MetricsBenchResult): string {
  const rows: (string | number)[][] = [
    [
      `first catch-up (${result.catchUp.points} points): longest of ${result.catchUp.runsMs.length} runs`,
      fixed(Math.max(...result.catchUp.runsMs), 0),
      '-',
    ],
    ['first catch-up: all runs', fixed(sum(result.catchUp.runsMs), 0), '-'],
    [`minute step (${result.minuteStep.points} points)`, fixed(result.minuteStep.ms, 0), '-'],
    ['hour step (with its minute step)', fixed(result.hourStep.ms, 0), '-'],
    ...result.overview.map((o) => [
      `overview ${o.window} (median of ${o.allMs.length}, ${o.bytes} B)`,
      fixed(o.medianMs),
      o.window === '24h' || o.window === '7d' ? (o.medianMs <= TARGET_OVERVIEW_MS ? 'met' : 'MISSED') : '-',
    ]),
  ];
  return `Metrics history, ${result.agents} agents, PostgreSQL\n${table(['phase', 'ms', `≤ ${TARGET_OVERVIEW_MS} ms`], rows)}`;
}

// run directly: `npx tsx bench/metrics.ts [--agents N] [--catch-up-minutes M]`
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { agents: { type: 'string' }, 'catch-up-minutes': { type: 'string' } },
  });
  const agents = Number(values.agents ?? defaultMetricsBench.agents);
  const catchUpMinutes = Number(values['catch-up-minutes'] ?? defaultMetricsBench.catchUpMinutes);
  if (
    !Number.isInteger(agents) ||
    agents < 10 ||
    agents > 50_000 ||
    !Number.isInteger(catchUpMinutes) ||
    catchUpMinutes < 1 ||
    catchUpMinutes > 120
  ) {
    // at most the raw retention (2 hours by default): older points are never rolled up
    log('usage: npx tsx bench/metrics.ts [--agents N (10 to 50000)] [--catch-up-minutes M (1 to 120)]');
    process.exit(1);
  }
  exitCleanlyOnInterrupt();
  const result = await benchMetrics({ agents, catchUpMinutes });
  log(`\n== Summary (${machineLoad()})\n${metricsTable(result)}`);
}
