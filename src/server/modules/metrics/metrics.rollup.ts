import type { NodeLeases } from '../../db/node-leases.js';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import type { SettingsService } from '../settings/settings.service.js';
import { metricsRepo, type Span } from './metrics.repo.js';

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * How long after a minute ends it is rolled up: a heartbeat is written up to a flush after it is
 * heard, and a job's end commits a moment after its `finished_at`; both must be in by then.
 */
const ROLLUP_GRACE_MS = 20_000;
/**
 * The raw points one statement folds at most: a catch-up goes ten minutes at a time (400,000
 * points at 10,000 agents, sorted in memory on PostgreSQL's default work_mem), never all at once.
 */
const MINUTE_SPAN_MS = 10 * MINUTE;
const LEASE = 'metrics_rollup';
/**
 * The raw minutes one timer tick folds at most: a catch-up after the rollup stood still (up to
 * the raw retention: 4.8 million points for 2 hours of 10,000 agents) goes over several ticks of
 * a few seconds each, instead of one run of tens of seconds.
 */
export const MINUTES_PER_TICK_MS = 10 * MINUTE;

export const floorTo = (ms: number, unit: number): string =>
  new Date(Math.floor(ms / unit) * unit).toISOString();
const later = (a: string, b: string): string => (a > b ? a : b);
const earlier = (a: string, b: string): string => (a < b ? a : b);
const plus = (iso: string, ms: number): string => new Date(Date.parse(iso) + ms).toISOString();

export interface RollupReport {
  minutes: Span | null;
  hours: Span | null;
  purged: Record<string, number>;
}

export interface MetricsRollupDeps {
  db: Executor;
  clock: Clock;
  leases: Pick<NodeLeases, 'hold' | 'release'>;
  settings: Pick<SettingsService, 'readInstance'>;
  logger: Logger;
  intervalMs: number;
}

/**
 * Folds metrics history up, once across server nodes (the node holding the `metrics_rollup`
 * lease does it each interval), and purges what is past retention.
 *
 * Each step keeps a watermark: everything before it is done. The minute step folds the closed
 * minutes since its watermark (raw points into per-agent minutes, those into per-organisation
 * fleet minutes, with the jobs and runs that ended in them) an hour at a time, each hour one
 * transaction with its watermark, so a crash repeats nothing and loses nothing. The hour step
 * folds the hours whose minutes are all done. A watermark older than what retention keeps moves
 * up to it: there is nothing left to fold before it.
 *
 * Timer states: stopped → start() → ticking → stop() → stopped (after the tick under way, lease released).
 */
export class MetricsRollup {
  readonly #deps: MetricsRollupDeps;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();

  constructor(deps: MetricsRollupDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.tick(), this.#deps.intervalMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
    await this.#deps.leases.release(LEASE).catch(() => undefined);
  }

  /** One timer tick: rolls up when this node holds the lease. Never rejects. */
  tick(): Promise<unknown> {
    const { leases, logger, intervalMs } = this.#deps;
    this.#running = this.#running.then(async () => {
      try {
        // Outlives a tick and the steps it runs, so another node takes over only when this one died.
        if (await leases.hold(LEASE, Math.max(3 * intervalMs, MINUTE)))
          await this.run({ maxSpanMs: MINUTES_PER_TICK_MS });
      } catch (error) {
        logger.error({ err: error }, 'metrics: rollup failed');
      }
    });
    return this.#running;
  }

  /**
   * Rolls up the closed buckets not done yet (raw minutes up to `maxSpanMs` of them, all by
   * default) and purges; for the lease holder (and tests).
   */
  async run(options: { maxSpanMs?: number } = {}): Promise<RollupReport> {
    const { db, clock, settings } = this.#deps;
    const now = clock.now().getTime();
    const retention = await settings.readInstance('metrics');
    const minutes = await this.#rollMinutes(now, retention.raw_retention_hours * HOUR, options.maxSpanMs);
    const minuteMark = minutes?.to ?? (await metricsRepo.watermark(db, 'minute'));
    const hours = minuteMark
      ? await this.#rollHours(now, minuteMark, retention.minute_retention_days * DAY)
      : null;
    // Purged as each minute is rolled up, not every tick: retention counts in minutes at the finest.
    if (!minutes) return { minutes, hours, purged: {} };
    const hourMark = hours?.to ?? (await metricsRepo.watermark(db, 'hour'));
    // Nothing is purged before it is rolled up, whatever retention says.
    const purged = await metricsRepo.purge(db, {
      points: earlier(floorTo(now - retention.raw_retention_hours * HOUR, MINUTE), minutes.to),
      minutes: earlier(floorTo(now - retention.minute_retention_days * DAY, MINUTE), hourMark ?? ''),
      hours: floorTo(now - retention.hour_retention_days * DAY, HOUR),
    });
    return { minutes, hours, purged };
  }

  /** The closed minutes since the watermark; answers the span done, or null when there was none. */
  async #rollMinutes(now: number, keptMs: number, maxSpanMs = Infinity): Promise<Span | null> {
    const { db } = this.#deps;
    const closed = floorTo(now - ROLLUP_GRACE_MS, MINUTE);
    const oldest = floorTo(now - keptMs, MINUTE);
    let stored = await metricsRepo.watermark(db, 'minute');
    if (stored === undefined) {
      // The first run starts history at the first point heard (the overview's uptime counts from
      // there), or at the last minute closed when none was.
      const first = await metricsRepo.firstPointAt(db);
      stored = later(first ? floorTo(Date.parse(first), MINUTE) : closed, oldest);
      await metricsRepo.setWatermark(db, 'origin', stored);
    }
    const start = later(stored, oldest);
    // at most maxSpanMs of them in one run: the next run goes on from there
    const end = Date.parse(closed) - Date.parse(start) > maxSpanMs ? plus(start, maxSpanMs) : closed;
    if (start >= end) return null;
    for (let from = start; from < end;) {
      const to = earlier(plus(from, MINUTE_SPAN_MS), end);
      await inTransaction(db, async (trx) => {
        await metricsRepo.rollMinutes(trx, { from, to });
        await metricsRepo.setWatermark(trx, 'minute', to);
      });
      from = to;
    }
    return { from: start, to: end };
  }

  /** The hours whose minutes are all rolled up, an hour per transaction. */
  async #rollHours(now: number, minuteMark: string, keptMs: number): Promise<Span | null> {
    const { db } = this.#deps;
    const end = floorTo(Date.parse(minuteMark), HOUR);
    const origin = (await metricsRepo.watermark(db, 'origin')) ?? minuteMark;
    const oldest = floorTo(now - keptMs, HOUR);
    const start = later(
      (await metricsRepo.watermark(db, 'hour')) ?? floorTo(Date.parse(origin), HOUR),
      oldest,
    );
    if (start >= end) return null;
    for (let from = start; from < end;) {
      const to = plus(from, HOUR);
      await inTransaction(db, async (trx) => {
        await metricsRepo.rollHours(trx, { from, to });
        await metricsRepo.setWatermark(trx, 'hour', to);
      });
      from = to;
    }
    return { from: start, to: end };
  }
}
