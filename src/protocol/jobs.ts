import { Type, type Static } from 'typebox';

/**
 * queued → dispatched → running → succeeded | failed | timed_out | canceled, plus `lost` when
 * the agent vanished with the job. `jobTransitions` below is the one list of allowed moves.
 */
export const jobStatuses = [
  'queued',
  'dispatched',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'canceled',
  'lost',
] as const;
export const JobStatus = Type.Enum(jobStatuses);
export type JobStatus = Static<typeof JobStatus>;

export const finalJobStatuses = [
  'succeeded',
  'failed',
  'timed_out',
  'canceled',
  'lost',
] as const satisfies readonly JobStatus[];
export type FinalJobStatus = (typeof finalJobStatuses)[number];

export function isFinal(status: string): status is FinalJobStatus {
  return (finalJobStatuses as readonly string[]).includes(status);
}

/**
 * The moves a job may make, from each status; the server checks them where a row is written.
 *
 * - queued → dispatched when an agent claims it; → canceled; → running or dispatched again when
 *   an agent still holds a job its lapsed lease sent back to the queue; → succeeded | failed |
 *   timed_out when the agent of an earlier attempt reports it done (the work happened: it is not
 *   run again), or succeeded when a deleted agent's uninstall order is delivered as a 410. A
 *   result for a job never dispatched (attempt 0) is refused before this table.
 * - dispatched → running when the agent acknowledges it; → queued when the delivery was lost or
 *   the lease lapsed; → a final status when the agent reports it, or `lost` when its lease lapsed.
 * - running → the same, but never back to dispatched.
 * - a final status never moves again: a second result is a repeat or a conflict.
 */
export const jobTransitions: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  queued: ['dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'canceled'],
  dispatched: ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'canceled', 'lost'],
  running: ['queued', 'succeeded', 'failed', 'timed_out', 'canceled', 'lost'],
  succeeded: [],
  failed: [],
  timed_out: [],
  canceled: [],
  lost: [],
};

/**
 * running → succeeded | failed | canceled. A run that settled `succeeded` or `failed` while one of
 * its agents was between two steps of its plan (that step's job ended, its next one not yet
 * queued) is reopened to `running` by the step sequencer: the run was not done. A canceled run
 * never reopens, and neither does one stopped at its failure threshold (the sequencer checks).
 */
export const runStatuses = ['running', 'succeeded', 'failed', 'canceled'] as const;
export const RunStatus = Type.Enum(runStatuses);
export type RunStatus = Static<typeof RunStatus>;

export const runTransitions: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  running: ['succeeded', 'failed', 'canceled'],
  succeeded: ['running'],
  failed: ['running'],
  canceled: [],
};

/**
 * The statuses from which a row may move to `to`, by a transition table. With `among`, the write
 * concerns only rows in those statuses (a queued-only cancel, say), and each must be allowed: a
 * status that may not move to `to` is a programming error, thrown at once.
 */
export function statusesLeadingTo<S extends string>(
  table: Readonly<Record<S, readonly S[]>>,
  to: S,
  among?: readonly S[],
): S[] {
  const allowed = (Object.keys(table) as S[]).filter((from) => table[from].includes(to));
  if (!among) return allowed;
  const refused = among.filter((from) => !allowed.includes(from));
  if (refused.length > 0) throw new Error(`no transition from ${refused.join(', ')} to ${to}`);
  return [...among];
}

/** `node` runs with the agent's own Node.js, so every agent has it. */
export const interpreters = ['bash', 'sh', 'powershell', 'pwsh', 'cmd', 'python', 'node'] as const;
export const Interpreter = Type.Enum(interpreters);
export type Interpreter = Static<typeof Interpreter>;

export const osTypes = [
  'windows',
  'windows_server',
  'ubuntu',
  'debian',
  'proxmox',
  'rhel',
  'centos',
  'macos',
  'linux',
  'other',
] as const;
export const OsType = Type.Enum(osTypes);
export type OsType = Static<typeof OsType>;

export function isWindows(os: string): boolean {
  return os === 'windows' || os === 'windows_server';
}

/**
 * A name a job may set in its environment: POSIX-portable (letters, digits and `_`, not starting
 * with a digit), at most 128 characters. Lower case is allowed: POSIX leaves lower-case names to
 * applications. The server refuses any other name, and the agent will not run a job holding one.
 */
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,127}$';
const envName = new RegExp(ENV_NAME_PATTERN);

export function isEnvName(name: string): boolean {
  return envName.test(name);
}
