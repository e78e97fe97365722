import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import PgBoss from 'pg-boss';
import { migrateToLatest, openDatabase, type Database } from '../src/server/db/database.js';
import type { DatabaseConfig } from '../src/server/config.js';
import { systemClock } from '../src/server/lib/clock.js';
import { newId } from '../src/server/lib/ids.js';
import { PermissionSet } from '../src/server/modules/access/permissions.js';
import { AuditLog } from '../src/server/modules/audit/audit.service.js';
import { QueueConsumers, type QueueConsumer } from '../src/server/modules/queues/consumers.service.js';
import { QueueItemsService } from '../src/server/modules/queues/items.service.js';
import { QueuesService } from '../src/server/modules/queues/queues.service.js';
import { MAX_BULK_ITEMS } from '../src/server/modules/queues/queues.schemas.js';
import { exitCleanlyOnInterrupt, freshPostgres, log, machineLoad } from './support.js';

/**
 * `npx tsx bench/queues.ts [--items N]... [--consumers N] [--only postgres|sqlite]`: work-queue
 * throughput, items claimed and completed per second, with N consumers each taking one item at a
 * time and completing it before the next, as a robot does.
 *
 * - Fleetplane on PostgreSQL: QueuesService calls (QueueConsumers.claimNext/complete) in this
 *   process, on a fresh database of FLEETPLANE_BENCH_PG_URL's server, every claim and completion
 *   audited as the service always does.
 * - pg-boss 10 on the same server (a database of its own), the same work: N jobs sent, N workers
 *   each fetching one job and completing it. Both get a pool of 10 connections.
 * - Fleetplane on SQLite: the same calls, on a fresh file.
 *
 * Each size (2,000 and 20,000 items unless told) is one run on a fresh queue, after a warm-up run
 * that is not counted. pg-boss's fetch sorts every waiting job of the queue (its fetch index does
 * not hold the claim order), so it slows as the backlog grows: the sizes show both ends. Targets:
 * 1.5× pg-boss on PostgreSQL, 5,000 items/s on SQLite. On a busy machine the wall-clock figures
 * say little; the CPU seconds this process used say what the run needed of it.
 */
export interface QueueBenchOptions {
  sizes: number[];
  consumers: number;
  only?: 'postgres' | 'sqlite';
}

export const defaultQueueBench: QueueBenchOptions = { sizes: [2000, 20_000], consumers: 16 };
const WARM_UP_ITEMS = 1000;
const POOL_SIZE = 10;
const PG_URL = process.env.FLEETPLANE_BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const TARGET_RATIO = 1.5;
const TARGET_SQLITE = 5000;

interface Rate {
  items: number;
  seconds: number;
  perSecond: number;
  /** CPU seconds this process spent meanwhile: on a busy machine, what the run needed of it. */
  cpuSeconds: number;
}

interface Start {
  at: number;
  cpu: NodeJS.CpuUsage;
}

function startClock(): Start {
  return { at: performance.now(), cpu: process.cpuUsage() };
}

function rate(items: number, started: Start): Rate {
  const seconds = (performance.now() - started.at) / 1000;
  const cpu = process.cpuUsage(started.cpu);
  return { items, seconds, perSecond: items / seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** N consumers, each claiming and completing one item at a time until none waits. */
async function consume(
  consumers: QueueConsumers,
  orgId: string,
  queueId: string,
  options: QueueBenchOptions,
): Promise<number> {
  let done = 0;
  const one = async (n: number) => {
    const robotId = newId();
    const consumer: QueueConsumer = {
      scope: {
        orgId,
        actor: { type: 'system', id: robotId, label: `bench robot ${n}` },
        meta: { ip: null, userAgent: null, requestId: null },
      },
      robotId,
    };
    for (;;) {
      const item = await consumers.claimNext(consumer, queueId);
      if (!item) return;
      await consumers.complete(consumer, item.id, { done: true });
      done += 1;
    }
  };
  await Promise.all(Array.from({ length: options.consumers }, (_, n) => one(n)));
  return done;
}

async function benchFleetplane(config: DatabaseConfig, options: QueueBenchOptions): Promise<Rate[]> {
  const database: Database = await openDatabase(config);
  try {
    const migrated = await migrateToLatest(database);
    if (migrated.error) throw migrated.error;
    const db = database.db;
    const clock = systemClock;
    const audit = new AuditLog({ db, clock });
    // the bench's queues have no trigger
    const queues = new QueuesService({ db, clock, audit, processExists: () => Promise.resolve(false) });
    const items = new QueueItemsService({ db, clock, audit });
    const consumers = new QueueConsumers({ db, clock, audit });
    const now = clock.now().toISOString();
    const orgId = newId();
    await db
      .insertInto('orgs')
      .values({ id: orgId, name: 'bench', is_primary: 0, created_at: now, updated_at: now })
      .execute();
    const ctx = {
      orgId,
      actor: { type: 'system' as const, id: null, label: 'bench' },
      userId: null,
      sessionId: null,
      permissions: new PermissionSet([]),
      meta: { ip: null, userAgent: null, requestId: null },
    };
    const run = async (count: number): Promise<Rate> => {
      const queue = await queues.create(ctx, { name: `bench ${newId()}` });
      for (let i = 0; i < count; i += MAX_BULK_ITEMS)
        await items.addBulk(
          ctx,
          queue.id,
          Array.from({ length: Math.min(MAX_BULK_ITEMS, count - i) }, (_, j) => ({ content: { n: i + j } })),
        );
      const started = startClock();
      const done = await consume(consumers, orgId, queue.id, options);
      if (done !== count) throw new Error(`consumed ${done} of ${count}`);
      return rate(done, started);
    };
    await run(WARM_UP_ITEMS);
    const rates: Rate[] = [];
    for (const size of options.sizes) rates.push(await run(size));
    return rates;
  } finally {
    await database.close();
  }
}

async function benchPgBoss(url: string, options: QueueBenchOptions): Promise<Rate[]> {
  const boss = new PgBoss({ connectionString: url, max: POOL_SIZE, supervise: false, schedule: false });
  boss.on('error', (error) => log(`pg-boss error: ${String(error)}`));
  await boss.start();
  try {
    const run = async (name: string, count: number): Promise<Rate> => {
      await boss.createQueue(name);
      for (let i = 0; i < count; i += MAX_BULK_ITEMS)
        await boss.insert(
          Array.from({ length: Math.min(MAX_BULK_ITEMS, count - i) }, (_, j) => ({
            name,
            data: { n: i + j },
          })),
        );
      const started = startClock();
      let done = 0;
      const worker = async () => {
        for (;;) {
          const [job] = await boss.fetch<{ n: number }>(name);
          if (!job) return;
          await boss.complete(name, job.id, { done: true });
          done += 1;
        }
      };
      await Promise.all(Array.from({ length: options.consumers }, worker));
      if (done !== count) throw new Error(`pg-boss consumed ${done} of ${count}`);
      return rate(done, started);
    };
    await run('warmup', WARM_UP_ITEMS);
    const rates: Rate[] = [];
    for (const size of options.sizes) rates.push(await run(`bench${size}`, size));
    return rates;
  } finally {
    await boss.stop({ graceful: false, wait: true });
  }
}

const figure = (r: Rate) =>
  `${Math.round(r.perSecond).toLocaleString('en')} items/s (${r.items} in ${r.seconds.toFixed(2)} s; this process used ${r.cpuSeconds.toFixed(2)} CPU s)`;

/** Runs the queue benchmark, logging each figure; answers the summary lines. */
export async function benchQueues(options: QueueBenchOptions = defaultQueueBench): Promise<string> {
  const lines: string[] = [];
  log(
    `Queue bench: ${options.sizes.join(' and ')} items, ${options.consumers} consumers one item at a time, node ${process.version}, ${machineLoad()}`,
  );
  if (options.only !== 'sqlite') {
    const ours = await freshPostgres(PG_URL, 'queues');
    const theirs = await freshPostgres(PG_URL, 'pgboss');
    try {
      const fleetplane = await benchFleetplane(
        { kind: 'postgres', url: ours.url, schema: undefined },
        options,
      );
      fleetplane.forEach((r) => log(`  PostgreSQL, Fleetplane: ${figure(r)}`));
      const pgBoss = await benchPgBoss(theirs.url, options);
      pgBoss.forEach((r) => log(`  PostgreSQL, pg-boss 10: ${figure(r)}`));
      options.sizes.forEach((size, i) => {
        const ratio = fleetplane[i]!.perSecond / pgBoss[i]!.perSecond;
        lines.push(
          `PostgreSQL  ${size} items  Fleetplane ${figure(fleetplane[i]!)}`,
          `PostgreSQL  ${size} items  pg-boss    ${figure(pgBoss[i]!)}`,
          `PostgreSQL  ${size} items  ratio      ${ratio.toFixed(2)}× (target ≥ ${TARGET_RATIO}×: ${ratio >= TARGET_RATIO ? 'met' : 'NOT met'})`,
        );
      });
    } finally {
      await ours.drop();
      await theirs.drop();
    }
  }
  if (options.only !== 'postgres') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-bench-queues-'));
    try {
      const sqlite = await benchFleetplane({ kind: 'sqlite', file: path.join(dir, 'bench.db') }, options);
      options.sizes.forEach((size, i) => {
        const r = sqlite[i]!;
        log(`  SQLite, Fleetplane: ${figure(r)}`);
        lines.push(
          `SQLite      ${size} items  Fleetplane ${figure(r)} (target ≥ ${TARGET_SQLITE}/s: ${r.perSecond >= TARGET_SQLITE ? 'met' : 'NOT met'}; per CPU second of this process: ${Math.round(r.items / r.cpuSeconds).toLocaleString('en')})`,
        );
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return lines.join('\n');
}

// run directly: `npx tsx bench/queues.ts [--items N]... [--consumers N] [--only postgres|sqlite]`
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      items: { type: 'string', multiple: true },
      consumers: { type: 'string' },
      only: { type: 'string' },
    },
  });
  exitCleanlyOnInterrupt();
  const summary = await benchQueues({
    sizes: values.items?.map(Number) ?? defaultQueueBench.sizes,
    consumers: values.consumers ? Number(values.consumers) : defaultQueueBench.consumers,
    ...(values.only === 'postgres' || values.only === 'sqlite' ? { only: values.only } : {}),
  });
  log(`\n== Summary (${machineLoad()})\n${summary}`);
}
