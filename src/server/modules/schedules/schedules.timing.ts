import { Cron } from 'croner';
import type { ErrorDetail } from '../../lib/errors.js';
import { isTimeZone } from '../../lib/time-zones.js';
import { unprocessable } from '../scripts/scripts.params.js';

/** When a schedule fires: a cron expression read in an IANA time zone, or a fixed interval. */
export type Timing =
  { kind: 'cron'; cron: string; timezone: string } | { kind: 'interval'; intervalSeconds: number };

export const MIN_INTERVAL_SECONDS = 60;

/** The timing fields as stored and as sent: exactly one of `cron` and `interval_seconds`. */
export interface TimingFields {
  cron: string | null;
  timezone: string | null;
  interval_seconds: number | null;
}

/**
 * Five fields (minute hour day-of-month month day-of-week) or a nickname such as `@daily`:
 * minutes are the finest grain, as for intervals. Day of month and day of week combine with OR,
 * as in every classic cron.
 */
function cronOf(timing: Extract<Timing, { kind: 'cron' }>): Cron {
  return new Cron(timing.cron, { timezone: timing.timezone, mode: '5-part', paused: true });
}

/**
 * Checks the fields and answers the timing, or throws 422 with one detail per problem. A cron
 * expression without a time zone is read in `defaultZone` (the organisation's `general.timezone`).
 */
export function timingOf(fields: TimingFields, now: Date, defaultZone = 'UTC'): Timing {
  const details: ErrorDetail[] = [];
  if ((fields.cron === null) === (fields.interval_seconds === null)) {
    throw unprocessable('give cron or interval_seconds, one of them', [
      { field: 'cron', message: 'give cron or interval_seconds, one of them' },
    ]);
  }
  if (fields.interval_seconds !== null) {
    if (fields.timezone !== null)
      details.push({ field: 'timezone', message: 'a time zone applies to a cron expression only' });
    if (fields.interval_seconds < MIN_INTERVAL_SECONDS)
      details.push({ field: 'interval_seconds', message: `must be at least ${MIN_INTERVAL_SECONDS}` });
    if (details.length > 0) throw unprocessable('the schedule timing is not valid', details);
    return { kind: 'interval', intervalSeconds: fields.interval_seconds };
  }
  const timing = {
    kind: 'cron' as const,
    cron: (fields.cron ?? '').trim(),
    timezone: fields.timezone ?? defaultZone,
  };
  if (!isTimeZone(timing.timezone))
    details.push({ field: 'timezone', message: `"${timing.timezone}" is not an IANA time zone` });
  else {
    try {
      if (cronOf(timing).nextRun(now) === null)
        details.push({ field: 'cron', message: 'the expression never fires' });
    } catch (error) {
      details.push({
        field: 'cron',
        message: error instanceof Error ? error.message : 'not a cron expression',
      });
    }
  }
  if (details.length > 0) throw unprocessable('the schedule timing is not valid', details);
  return timing;
}

export function timingFields(timing: Timing): TimingFields {
  return timing.kind === 'cron'
    ? { cron: timing.cron, timezone: timing.timezone, interval_seconds: null }
    : { cron: null, timezone: null, interval_seconds: timing.intervalSeconds };
}

/** The first fire of a new, changed or re-enabled schedule: the next time after now. */
export function firstFireAfter(timing: Timing, now: Date): Date | null {
  return timing.kind === 'cron'
    ? cronOf(timing).nextRun(now)
    : new Date(now.getTime() + timing.intervalSeconds * 1000);
}

/**
 * The fire after the one that was due at `due`, strictly after now. Fire times missed while no
 * node was running are not caught up: the schedule fires once for all of them, and this is the
 * next time after now (an interval keeps its phase, so it stays on its original cadence).
 */
export function nextFireAfter(timing: Timing, due: Date, now: Date): Date | null {
  if (timing.kind === 'cron') return cronOf(timing).nextRun(now);
  const stepMs = timing.intervalSeconds * 1000;
  const steps = Math.floor((now.getTime() - due.getTime()) / stepMs) + 1;
  return new Date(due.getTime() + Math.max(steps, 1) * stepMs);
}
