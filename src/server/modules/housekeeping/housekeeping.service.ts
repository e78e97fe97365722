import { setImmediate as yieldToEvents } from 'node:timers/promises';
import type { Executor } from '../../db/executor.js';
import type { NodeLeases } from '../../db/node-leases.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/logger.js';
import type { Page, PageParams } from '../../lib/pagination.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { ExpiryPurge, RetentionPurge } from './housekeeping.purges.js';
import { housekeepingRepo, type HousekeepingRun, type HousekeepingTrigger } from './housekeeping.repo.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Rows per delete statement: a backlog of millions is deleted without holding a table for long. */
export const DEFAULT_BATCH = 5000;
/** The lease is renewed after every batch; a node that dies mid-run frees it within this. */
const LEASE_MS = 60_000;
const LEASE = 'housekeeping';
/** A node looks whether a run is due twelve times an interval: a run starts at most that late. */
const CHECKS_PER_INTERVAL = 12;
/** Run records kept. */
const RUNS_KEPT_DAYS = 90;
const MAX_ERROR_LENGTH = 1000;

/** A run as an organisation sees it: what it deleted is the whole instance's, for the primary one's eyes. */
export type RunView = Omit<HousekeepingRun, 'counts' | 'requested_by'> & {
  counts: Record<string, number> | null;
  requested_by: string | null;
};

export interface HousekeepingOverview extends Page<RunView> {
  interval_seconds: number;
  next_due_at: string;
  running: boolean;
  instance: boolean;
}

class LeaseLost extends Error {
  constructor() {
    super('the housekeeping lease was lost to another node: the run stopped');
  }
}

/**
 * Deletes what has expired (sessions, tokens, unaccepted invites, spent enrollment tokens) and
 * what is past its organisation's retention (audit events, job output), in batches of `batch`
 * rows, and records each run.
 *
 * Once across server nodes: every node checks on a timer whether a run is due (the last run
 * started an interval ago, on any node); a run needs the `housekeeping` node lease, renewed after
 * each batch. The lease is taken before "due" is read, so two nodes never both run the same turn.
 * A run left `running` by a node that died is marked failed by the next holder.
 *
 * States: stopped → started (a check every interval / 12) → stopped; on one node, one run
 * at a time (`#current`).
 */
export class Housekeeper {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #leases: NodeLeases;
  readonly #audit: AuditLog;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #batch: number;
  readonly #expiries: readonly ExpiryPurge[];
  readonly #retentions: readonly RetentionPurge[];
  readonly #orgIds: () => Promise<string[]>;
  readonly #instanceOrgId: () => Promise<string | undefined>;
  #timer: NodeJS.Timeout | undefined;
  #current: Promise<unknown> | undefined;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    leases: NodeLeases;
    audit: AuditLog;
    logger: Logger;
    intervalMs: number;
    batch?: number;
    expiries: readonly ExpiryPurge[];
    retentions: readonly RetentionPurge[];
    /** Every organisation: retention is each one's own setting. */
    orgIds: () => Promise<string[]>;
    /** The primary organisation: housekeeping is the instance's, run and read by its members. */
    instanceOrgId: () => Promise<string | undefined>;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#leases = deps.leases;
    this.#audit = deps.audit;
    this.#logger = deps.logger;
    this.#intervalMs = deps.intervalMs;
    this.#batch = deps.batch ?? DEFAULT_BATCH;
    this.#expiries = deps.expiries;
    this.#retentions = deps.retentions;
    this.#orgIds = deps.orgIds;
    this.#instanceOrgId = deps.instanceOrgId;
  }

  get kinds(): string[] {
    return [...this.#expiries, ...this.#retentions].map((p) => p.kind).concat('housekeeping_runs');
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.tick(), this.#intervalMs / CHECKS_PER_INTERVAL).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#current;
  }

  /** Runs if a run is due and no node is running one; answers the run, or null when none ran. */
  async tick(): Promise<HousekeepingRun | null> {
    try {
      return await this.#exclusive('schedule', null, async () => {
        const last = await housekeepingRepo.latest(this.#db);
        return !last || this.#dueAfter(last) <= this.#clock.now().getTime();
      });
    } catch (error) {
      if (error instanceof AppError && error.code === 'conflict') return null;
      this.#logger.error({ err: error }, 'housekeeping check failed');
      return null;
    }
  }

  /** A run now, asked for by a member of the primary organisation; audited. */
  async runNow(ctx: RequestContext): Promise<HousekeepingRun> {
    await this.#assertInstance(ctx);
    const run = await this.#exclusive('manual', ctx.userId, async () => true);
    if (!run) throw new Error('a manual run always runs');
    await this.#audit.record(this.#db, ctx, {
      action: 'created',
      entityType: 'housekeeping_run',
      entityId: run.id,
      after: { trigger: run.trigger, status: run.status, counts: run.counts, error: run.error },
    });
    return run;
  }

  /**
   * The last runs and when the next is due. Every organisation sees when housekeeping runs; what a
   * run deleted (counts over every organisation) and who asked for it only the primary one's members.
   */
  async overview(ctx: RequestContext, page: PageParams): Promise<HousekeepingOverview> {
    const [runs, last, instanceOrgId] = await Promise.all([
      housekeepingRepo.list(this.#db, page),
      housekeepingRepo.latest(this.#db),
      this.#instanceOrgId(),
    ]);
    const instance = ctx.orgId === instanceOrgId;
    const now = this.#clock.now().getTime();
    return {
      items: instance ? runs.items : runs.items.map((run) => ({ ...run, counts: null, requested_by: null })),
      next_cursor: runs.next_cursor,
      instance,
      interval_seconds: Math.round(this.#intervalMs / 1000),
      next_due_at: new Date(last ? Math.max(this.#dueAfter(last), now) : now).toISOString(),
      running: last?.status === 'running',
    };
  }

  #dueAfter(last: HousekeepingRun): number {
    return new Date(last.started_at).getTime() + this.#intervalMs;
  }

  async #assertInstance(ctx: RequestContext): Promise<void> {
    if (ctx.orgId !== (await this.#instanceOrgId()))
      throw new AppError(
        'forbidden',
        "housekeeping is the instance's: the primary organisation's members run it",
      );
  }

  /**
   * Holds the lease and runs when `due` says so, one run at a time on this node; 409 when a run is
   * under way here or on another node.
   */
  async #exclusive(
    trigger: HousekeepingTrigger,
    requestedBy: string | null,
    due: () => Promise<boolean>,
  ): Promise<HousekeepingRun | null> {
    if (this.#current) throw busy();
    const work = (async () => {
      if (!(await this.#leases.hold(LEASE, LEASE_MS))) throw busy();
      try {
        if (!(await due())) return null;
        return await this.#run(trigger, requestedBy);
      } finally {
        await this.#leases.release(LEASE);
      }
    })();
    this.#current = work.catch(() => undefined);
    try {
      return await work;
    } finally {
      this.#current = undefined;
    }
  }

  async #run(trigger: HousekeepingTrigger, requestedBy: string | null): Promise<HousekeepingRun> {
    const started = this.#clock.now();
    await housekeepingRepo.failInterrupted(this.#db, started.toISOString());
    const counts: Record<string, number> = Object.fromEntries(this.kinds.map((kind) => [kind, 0]));
    const id = newId();
    await housekeepingRepo.insert(this.#db, {
      id,
      trigger,
      requested_by: requestedBy,
      node: this.#leases.holder,
      status: 'running',
      counts,
      error: null,
      started_at: started.toISOString(),
      finished_at: null,
    });
    let error: string | null = null;
    try {
      await this.#purge(started, counts);
    } catch (failure) {
      error = failure instanceof Error ? failure.message.slice(0, MAX_ERROR_LENGTH) : 'internal error';
      this.#logger.error({ err: failure, runId: id }, 'housekeeping run failed');
    }
    const run = await housekeepingRepo.finish(this.#db, id, {
      status: error === null ? 'succeeded' : 'failed',
      counts,
      error,
      finishedAt: this.#clock.now().toISOString(),
    });
    this.#logger.info({ runId: id, trigger, counts, error }, 'housekeeping run finished');
    return run;
  }

  async #purge(now: Date, counts: Record<string, number>): Promise<void> {
    const at = now.toISOString();
    for (const purge of this.#expiries)
      counts[purge.kind] = await this.#batches((limit) => purge.deleteExpired(this.#db, at, limit));
    const orgIds = await this.#orgIds();
    for (const purge of this.#retentions) {
      const owners: (string | null)[] = purge.orphans ? [...orgIds, null] : orgIds;
      for (const orgId of owners) {
        const days = await purge.retentionDays(orgId);
        if (days === 0) continue;
        const before = new Date(now.getTime() - days * DAY_MS).toISOString();
        counts[purge.kind] =
          (counts[purge.kind] ?? 0) +
          (await this.#batches((limit) => purge.deleteOlder(this.#db, orgId, before, limit)));
      }
    }
    const runsBefore = new Date(now.getTime() - RUNS_KEPT_DAYS * DAY_MS).toISOString();
    counts.housekeeping_runs = await this.#batches((limit) =>
      housekeepingRepo.deleteOlder(this.#db, runsBefore, limit),
    );
  }

  /** Deletes batch after batch until one comes back short; the lease is renewed between them. */
  async #batches(deleteBatch: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const deleted = await deleteBatch(this.#batch);
      total += deleted;
      if (deleted < this.#batch) return total;
      // other work (requests, heartbeats) gets the database between batches
      await yieldToEvents();
      if (!(await this.#leases.hold(LEASE, LEASE_MS))) throw new LeaseLost();
    }
  }
}

function busy(): AppError {
  return new AppError('conflict', 'housekeeping is running already; see its runs for when it ends');
}
