import { sql } from 'kysely';
import type { Executor } from '../../db/executor.js';

/**
 * What rules look at outside the alerts module: the latest outcomes of jobs, runs and
 * deployments, and queue backlogs. Read-only, set-based queries, kept in this one file so the
 * evaluator never reaches into another module's writes; each answers for one organisation.
 */

/** Job outcomes a `job_failed` rule counts as failures. */
const FAILED_JOB = ['failed', 'timed_out', 'lost'];
const FINISHED_JOB = ['succeeded', ...FAILED_JOB];
/** How far back a `deployment_failed` rule looks, in deployments. */
const RECENT_DEPLOYMENTS = 1000;

export interface Outcome {
  id: string;
  failed: boolean;
  finished_at: string | null;
}

/** Which entities a rule may name, for the 422 on a rule naming another organisation's. */
export type Referenced =
  'scripts' | 'profiles' | 'schedules' | 'services' | 'queues' | 'notification_channels';

export const alertSources = {
  /** The ids among `ids` that are rows of `table` in the organisation. */
  async existing(
    db: Executor,
    table: Referenced,
    orgId: string,
    ids: readonly string[],
  ): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await db
      .selectFrom(table)
      .select('id')
      .where('org_id', '=', orgId)
      .where('id', 'in', [...ids])
      .execute();
    return new Set(rows.map((row) => row.id));
  },

  /** A name to show for an entity, or its id when it is gone. */
  async nameOf(
    db: Executor,
    table: Exclude<Referenced, 'notification_channels'>,
    id: string,
  ): Promise<string> {
    const row = await db.selectFrom(table).select('name').where('id', '=', id).executeTakeFirst();
    return row?.name ?? id;
  },

  /** The script's latest finished job across the organisation. */
  async lastScriptJob(db: Executor, orgId: string, scriptId: string): Promise<Outcome | undefined> {
    const row = await db
      .selectFrom('jobs')
      .select(['id', 'status', 'finished_at'])
      .where('org_id', '=', orgId)
      .where('script_id', '=', scriptId)
      .where('status', 'in', FINISHED_JOB as never[])
      .orderBy('finished_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && { id: row.id, failed: FAILED_JOB.includes(row.status), finished_at: row.finished_at };
  },

  /** The profile's latest finished run: profile runs keep the profile's id in their spec. */
  async lastProfileRun(db: Executor, orgId: string, profileId: string): Promise<Outcome | undefined> {
    const row = await db
      .selectFrom('runs')
      .select(['id', 'status', 'finished_at'])
      .where('org_id', '=', orgId)
      .where('source', '=', 'profile')
      .where('status', 'in', ['succeeded', 'failed'])
      .where(sql<string>`spec`, 'like', `%"profile_id":"${profileId}"%`)
      .orderBy('finished_at', 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row && { id: row.id, failed: row.status === 'failed', finished_at: row.finished_at };
  },

  /** The schedule's last fire: its run once finished, or a fire that could not start one. */
  async lastScheduleFire(db: Executor, orgId: string, scheduleId: string): Promise<Outcome | undefined> {
    const schedule = await db
      .selectFrom('schedules')
      .select(['last_run_id', 'last_error', 'last_fired_at'])
      .where('org_id', '=', orgId)
      .where('id', '=', scheduleId)
      .executeTakeFirst();
    if (!schedule) return undefined;
    if (schedule.last_error !== null)
      return { id: scheduleId, failed: true, finished_at: schedule.last_fired_at };
    if (schedule.last_run_id === null) return undefined;
    const run = await db
      .selectFrom('runs')
      .select(['id', 'status', 'finished_at'])
      .where('id', '=', schedule.last_run_id)
      .where('status', 'in', ['succeeded', 'failed'])
      .executeTakeFirst();
    return run && { id: run.id, failed: run.status === 'failed', finished_at: run.finished_at };
  },

  /** Failed and finished runs among the last `lastRuns` finished, or those finished since `since`. */
  async runOutcomes(
    db: Executor,
    orgId: string,
    window: { lastRuns: number } | { since: string },
  ): Promise<{ failed: number; total: number }> {
    let q = db
      .selectFrom('runs')
      .select('status')
      .where('org_id', '=', orgId)
      .where('status', 'in', ['succeeded', 'failed']);
    q =
      'since' in window
        ? q.where('finished_at', '>=', window.since)
        : q.orderBy('finished_at', 'desc').orderBy('id', 'desc').limit(window.lastRuns);
    const rows = await q.execute();
    return { failed: rows.filter((row) => row.status === 'failed').length, total: rows.length };
  },

  /**
   * Each service's latest finished deployment (or only the one service's), among the organisation's
   * last RECENT_DEPLOYMENTS finished: a service not deployed since is no longer judged.
   */
  async lastDeployments(
    db: Executor,
    orgId: string,
    serviceId: string | undefined,
  ): Promise<{ service_id: string; service_name: string; deployment_id: string; failed: boolean }[]> {
    let q = db
      .selectFrom('deployments')
      .select(['id', 'service_id', 'service_name', 'status'])
      .where('org_id', '=', orgId)
      .where('status', 'in', ['succeeded', 'failed']);
    if (serviceId !== undefined) q = q.where('service_id', '=', serviceId);
    const rows = await q
      .orderBy('finished_at', 'desc')
      .orderBy('id', 'desc')
      .limit(RECENT_DEPLOYMENTS)
      .execute();
    const latest = new Map<string, (typeof rows)[number]>();
    for (const row of rows) if (!latest.has(row.service_id)) latest.set(row.service_id, row);
    return [...latest.values()].map((row) => ({
      service_id: row.service_id,
      service_name: row.service_name,
      deployment_id: row.id,
      failed: row.status === 'failed',
    }));
  },

  /** Items waiting in a queue (new, not deferred past now). */
  async waitingItems(db: Executor, orgId: string, queueId: string): Promise<number> {
    const row = await db
      .selectFrom('queue_items')
      .select((eb) => eb.fn.countAll<number | string>().as('count'))
      .where('org_id', '=', orgId)
      .where('queue_id', '=', queueId)
      .where('status', '=', 'new')
      .executeTakeFirstOrThrow();
    return Number(row.count);
  },
};
