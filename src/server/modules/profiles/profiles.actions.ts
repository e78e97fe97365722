import { isWindows, type Interpreter } from '../../../protocol/jobs.js';
import { assertNever } from '../../lib/errors.js';
import type { JobInput } from '../jobs/jobs.service.js';
import { jobInputOf } from '../scripts/scripts.runner.js';
import type { ScriptRow } from '../scripts/scripts.repo.js';
import type { TaskRow } from './profiles.repo.js';
import type { TaskAction, TaskParameterValues } from './profiles.schemas.js';

/**
 * What each task action runs on an agent: the one place that knows the command text of a reboot
 * or a file copy. A profile run snapshots its tasks as steps (in the run's `spec`), so editing the
 * profile or a script later never changes a run under way; reboot and file_copy steps become a
 * command for the agent's OS family when their job is created.
 */

interface CommandTemplate {
  interpreter: Interpreter;
  command: string;
}

/** The OS reboot command; the agent spools the result before the machine goes down. */
const reboot: Record<'posix' | 'windows', CommandTemplate> = {
  posix: { interpreter: 'sh', command: 'shutdown -r now' },
  windows: { interpreter: 'cmd', command: 'shutdown /r /t 0' },
};

/**
 * file_copy is a command, not a new kind of job, so the agent needs nothing new. The source (text
 * or URL) and the destination reach the command as environment variables, never spliced into its
 * text, so no path or content can inject code. The agent fetches a URL itself (the server never
 * does); the file is written beside the destination and moved into place, so a failed download
 * leaves no half-written file; missing directories are created.
 */
export const FILE_ENV = {
  destination: 'FP_FILE_DESTINATION',
  content: 'FP_FILE_CONTENT',
  sourceUrl: 'FP_FILE_SOURCE_URL',
} as const;

const fileCopy: Record<'posix' | 'windows', CommandTemplate> = {
  posix: {
    interpreter: 'sh',
    command: [
      'set -e',
      `dest="$${FILE_ENV.destination}"`,
      'tmp="$dest.fleetplane-$$"',
      'mkdir -p "$(dirname "$dest")"',
      `if [ -n "\${${FILE_ENV.sourceUrl}:-}" ]; then`,
      '  if command -v curl >/dev/null 2>&1; then',
      `    curl -fsSL -o "$tmp" "$${FILE_ENV.sourceUrl}" || { rm -f "$tmp"; exit 1; }`,
      '  else',
      `    wget -q -O "$tmp" "$${FILE_ENV.sourceUrl}" || { rm -f "$tmp"; exit 1; }`,
      '  fi',
      'else',
      `  printf '%s' "$${FILE_ENV.content}" > "$tmp"`,
      'fi',
      'mv -f "$tmp" "$dest"',
    ].join('\n'),
  },
  windows: {
    interpreter: 'powershell',
    command: [
      "$ErrorActionPreference = 'Stop'",
      `$dest = $env:${FILE_ENV.destination}`,
      '$tmp = "$dest.fleetplane-$PID"',
      '$dir = [System.IO.Path]::GetDirectoryName($dest)',
      'if ($dir) { [System.IO.Directory]::CreateDirectory($dir) | Out-Null }',
      'try {',
      `  if ($env:${FILE_ENV.sourceUrl}) { (New-Object System.Net.WebClient).DownloadFile($env:${FILE_ENV.sourceUrl}, $tmp) }`,
      `  else { [System.IO.File]::WriteAllText($tmp, $env:${FILE_ENV.content}) }`,
      '  Move-Item -LiteralPath $tmp -Destination $dest -Force',
      '} catch { Remove-Item -LiteralPath $tmp -Force -ErrorAction SilentlyContinue; throw }',
    ].join('\n'),
  },
};

export interface FileSpec {
  destination: string;
  content: string | null;
  source_url: string | null;
}

interface StepBase {
  index: number;
  task_id: string;
  name: string;
  continue_on_error: boolean;
  timeout_seconds: number | null;
  /** The profile's OS, or a script's own: every agent must match it (422 when applying). */
  target_os_type: string | null;
}

/** One task as a run runs it. */
export type PlanStep = StepBase &
  (
    | { action: 'script' | 'command'; job: JobInput }
    | { action: 'reboot' }
    | { action: 'file_copy'; file: FileSpec }
  );

/** What a profile run keeps in its `spec`. */
export interface ProfilePlan {
  profile_id: string;
  profile_name: string;
  tasks: PlanStep[];
}

function family(osType: string): 'posix' | 'windows' {
  return isWindows(osType) ? 'windows' : 'posix';
}

/**
 * A task as a step of a run. A script task renders its parameters here, with the script as it is
 * now (a missing or mistyped value throws 422, as running the script would).
 */
export function stepOf(
  task: TaskRow,
  index: number,
  profileOs: string | null,
  script: ScriptRow | undefined,
): PlanStep {
  const action = task.action as TaskAction;
  const base: StepBase = {
    index,
    task_id: task.id,
    name: task.name,
    continue_on_error: task.continue_on_error === 1,
    timeout_seconds: task.timeout_seconds,
    target_os_type: profileOs,
  };
  // Sealed as the task stores them; the plan keeps them sealed in the run's spec.
  const secretEnv = JSON.parse(task.secret_env) as Record<string, string>;
  switch (action) {
    case 'script': {
      if (!script) throw new Error(`task ${task.id} has no script`);
      const job = jobInputOf(script, {
        parameters: JSON.parse(task.parameters) as TaskParameterValues,
        secret_env: secretEnv,
        timeout_seconds: task.timeout_seconds ?? undefined,
      });
      const os = script.target_os_type ?? profileOs;
      return { ...base, action, target_os_type: os, job: { ...job, target_os_type: os ?? undefined } };
    }
    case 'command':
      return {
        ...base,
        action,
        job: {
          interpreter: task.interpreter as Interpreter,
          command: task.content ?? '',
          secret_env: secretEnv,
          timeout_seconds: task.timeout_seconds ?? undefined,
          target_os_type: profileOs ?? undefined,
        },
      };
    case 'reboot':
      return { ...base, action };
    case 'file_copy':
      return {
        ...base,
        action,
        file: { destination: task.destination ?? '', content: task.content, source_url: task.source_url },
      };
    default:
      return assertNever(action);
  }
}

/** What a step's job runs on an agent of this OS. */
export function jobInputFor(step: PlanStep, osType: string): JobInput {
  const common = {
    timeout_seconds: step.timeout_seconds ?? undefined,
    target_os_type: step.target_os_type ?? undefined,
  };
  switch (step.action) {
    case 'script':
    case 'command':
      return step.job;
    case 'reboot':
      return { ...reboot[family(osType)], ...common };
    case 'file_copy': {
      const env: Record<string, string> = { [FILE_ENV.destination]: step.file.destination };
      if (step.file.source_url !== null) env[FILE_ENV.sourceUrl] = step.file.source_url;
      else env[FILE_ENV.content] = step.file.content ?? '';
      return { ...fileCopy[family(osType)], env, ...common };
    }
    default:
      return assertNever(step);
  }
}
