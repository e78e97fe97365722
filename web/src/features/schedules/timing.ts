import { Cron } from 'croner';
import cronstrue from 'cronstrue';

/** A schedule's timing as the form holds it: a cron expression in a time zone, or an interval. */
export type TimingInput = { cron: string; timezone: string } | { intervalSeconds: number };

export type TimingPreview = { words: string; next: Date[] } | { error: string };

const UNITS: [seconds: number, name: string][] = [
  [86_400, 'day'],
  [3_600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/** "every 2 hours", "every 90 minutes": the largest unit that divides the interval. */
export function intervalInWords(seconds: number): string {
  const [size, name] = UNITS.find(([unit]) => seconds % unit === 0) ?? [1, 'second'];
  const count = seconds / size;
  return count === 1 ? `every ${name}` : `every ${count} ${name}s`;
}

/**
 * The timing in words and its next fire times, read as the server reads it (croner, five fields,
 * in the time zone), so the preview and the schedule agree; an expression the server would refuse
 * answers why instead.
 */
export function previewTiming(timing: TimingInput, count: number, from = new Date()): TimingPreview {
  if ('intervalSeconds' in timing) {
    const step = timing.intervalSeconds * 1000;
    return {
      words: intervalInWords(timing.intervalSeconds),
      next: Array.from({ length: count }, (_, i) => new Date(from.getTime() + step * (i + 1))),
    };
  }
  try {
    const cron = new Cron(timing.cron.trim(), { timezone: timing.timezone, mode: '5-part', paused: true });
    if (cron.nextRun(from) === null) return { error: 'the expression never fires' };
    return { words: inWords(timing.cron.trim()), next: cron.nextRuns(count, from) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : 'not a cron expression' };
  }
}

function inWords(cron: string): string {
  try {
    return cronstrue.toString(cron, { use24HourTimeFormat: true, verbose: false });
  } catch {
    // croner reads some forms cronstrue does not (nicknames such as @weekly): the times still show.
    return cron;
  }
}
