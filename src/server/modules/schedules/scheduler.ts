import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/logger.js';
import type { RequestContext } from '../access/context.js';
import { PermissionSet } from '../access/permissions.js';
import { permissionFor, type ScheduleLauncher } from './schedules.launcher.js';
import { schedulesRepo, type Schedule } from './schedules.repo.js';
import { nextFireAfter, timingOf } from './schedules.timing.js';
import { actionOf } from './schedules.views.js';

/** Due schedules read at once; a pass reads again while batches come back full. */
const BATCH = 100;
/** Batches per pass at most, so a pass always ends even if rows stay due (clocks far apart). */
const MAX_BATCHES = 20;
const MAX_ERROR_LENGTH = 1000;

type Outcome = { last_run_id: string; last_error: null } | { last_run_id: null; last_error: string };

function describeError(error: unknown): string {
  if (!(error instanceof AppError)) return 'internal error';
  const details = error.details.map((d) => (d.field ? `${d.field}: ${d.message}` : d.message));
  return [error.message, ...details].join('; ').slice(0, MAX_ERROR_LENGTH);
}

/**
 * Fires due schedules. Every node runs a scheduler: each tick reads the enabled schedules whose
 * `next_fire_at` has come and claims each with a conditional update that moves `next_fire_at`
 * on from the value read (schedulesRepo.claim), so one node wins each fire time and starts one
 * run. A claim is taken before the run starts: a node dying between the two loses that one fire
 * (at most once, never twice), which shows as `last_fired_at` with neither run nor error.
 *
 * A fire runs as the schedule's creator, with the permissions their roles give now: if they left
 * the organisation (or were disabled) or no longer may run the action, the fire starts nothing
 * and says why in `last_error`. A failed fire never stops the schedule; the next one is tried.
 *
 * Missed fires (no node running at the time): the schedule fires once, not once per missed
 * time, and its next fire is the first time after now.
 *
 * States: stopped → started (a tick every tickMs) → stopped; a tick runs passes one at a time.
 */
export class Scheduler {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #launcher: ScheduleLauncher;
  readonly #logger: Logger;
  readonly #tickMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();

  constructor(deps: {
    db: Executor;
    clock: Clock;
    launcher: ScheduleLauncher;
    logger: Logger;
    tickMs: number;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#launcher = deps.launcher;
    this.#logger = deps.logger;
    this.#tickMs = deps.tickMs;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.tick(), this.#tickMs).unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  /** One pass over the due schedules, after any pass under way; answers how many this node fired. */
  tick(): Promise<number> {
    const pass = this.#running.then(() => this.#pass());
    const logged = pass.catch((error: unknown) => {
      this.#logger.error({ err: error }, 'scheduler tick failed');
      return 0;
    });
    this.#running = logged;
    return logged;
  }

  async #pass(): Promise<number> {
    const now = this.#clock.now();
    let fired = 0;
    for (let batch = 0; batch < MAX_BATCHES; batch += 1) {
      const due = await schedulesRepo.due(this.#db, now.toISOString(), BATCH);
      for (const row of due) {
        try {
          if (await this.#fire(row, now)) fired += 1;
        } catch (error) {
          this.#logger.error({ err: error, scheduleId: row.id }, 'schedule fire failed');
        }
      }
      if (due.length < BATCH) break;
    }
    return fired;
  }

  /** Claims the fire that is due and starts its run; false when another node claimed it first. */
  async #fire(row: Schedule, now: Date): Promise<boolean> {
    const dueAt = row.next_fire_at;
    if (dueAt === null) return false;
    let next: string | null;
    let invalid: string | undefined;
    try {
      next = nextFireAfter(timingOf(row, now), new Date(dueAt), now)?.toISOString() ?? null;
    } catch (error) {
      // Stored timing that no longer parses (a time zone gone from the runtime) disables the schedule.
      next = null;
      invalid = `the timing is no longer valid: ${describeError(error)}`;
    }
    const claimed = await schedulesRepo.claim(this.#db, {
      id: row.id,
      dueAt,
      nextFireAt: next,
      firedAt: now.toISOString(),
    });
    if (!claimed) return false;
    const outcome = invalid ? { last_run_id: null, last_error: invalid } : await this.#launch(row);
    await schedulesRepo.recordOutcome(this.#db, row.id, outcome);
    this.#logger.info(
      { scheduleId: row.id, orgId: row.org_id, dueAt, nextFireAt: next, ...outcome },
      outcome.last_error === null ? 'schedule fired' : 'schedule fired but started nothing',
    );
    return true;
  }

  async #launch(row: Schedule): Promise<Outcome> {
    const ctx = await this.#contextOf(row);
    if (typeof ctx === 'string') return { last_run_id: null, last_error: ctx };
    try {
      const run = await this.#launcher.launch(ctx, {
        name: row.name,
        action: actionOf(row),
        target: row.target,
        concurrency: row.concurrency ?? undefined,
        failure_threshold: row.failure_threshold ?? undefined,
        deadline_seconds: row.deadline_seconds ?? undefined,
      });
      return { last_run_id: run.id, last_error: null };
    } catch (error) {
      if (!(error instanceof AppError))
        this.#logger.error({ err: error, scheduleId: row.id }, 'schedule launch failed');
      return { last_run_id: null, last_error: describeError(error) };
    }
  }

  /** The creator as they are now, acting through the schedule; or why the schedule cannot act. */
  async #contextOf(row: Schedule): Promise<RequestContext | string> {
    if (row.created_by === null) return 'the schedule has no creator to run as';
    const roles = await schedulesRepo.rolesOfActiveMember(this.#db, row.org_id, row.created_by);
    if (roles.length === 0) return 'creator is no longer a member';
    const permissions = PermissionSet.fromRoles(roles);
    const needed = permissionFor(actionOf(row).kind);
    if (!permissions.has(needed)) return `creator no longer holds the permission "${needed}"`;
    return {
      orgId: row.org_id,
      actor: { type: 'system', id: row.id, label: `schedule:${row.name}` },
      userId: row.created_by,
      sessionId: null,
      permissions,
      // One request id per fire ties its audit events together.
      meta: { ip: null, userAgent: null, requestId: newId() },
    };
  }
}
