import { Type, type Static } from 'typebox';

/**
 * queued → dispatched → running → succeeded | failed | timed_out | canceled, plus `lost` when
 * the agent vanished with the job and attempts are exhausted. queued, dispatched and running
 * can be canceled; an expired lease sends dispatched or running back to queued.
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

export const interpreters = ['bash', 'sh', 'powershell', 'pwsh', 'cmd', 'python'] as const;
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
