import type { Interpreter } from '../../../protocol/jobs.js';
import { assertNever } from '../../lib/errors.js';
import type { JobInput } from '../execution/jobs.service.js';
import type { OsFamily, PlanDocument, PlanStep } from '../execution/plan.js';
import { jobInputOf } from '../scripts/scripts.runner.js';
import type { Script } from '../scripts/scripts.repo.js';
import type { Task } from './profiles.repo.js';
import type { TaskAction } from './profiles.schemas.js';

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
const reboot: Record<OsFamily, CommandTemplate> = {
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

const fileCopy: Record<OsFamily, CommandTemplate> = {
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

interface FileSpec {
  destination: string;
  content: string | null;
  source_url: string | null;
}

/** One task as a run runs it: an execution step, with the task it came from. */
export type TaskStep = PlanStep & {
  task_id: string;
  action: TaskAction;
  /** The profile's OS, or a script's own: every agent must match it (422 when applying). */
  target_os_type: string | null;
  /** A file_copy's file, shown with the run. */
  file?: FileSpec;
};

/** What a profile run keeps in its `spec`. */
export interface ProfilePlan extends PlanDocument {
  profile_id: string;
  profile_name: string;
  tasks: TaskStep[];
}

/** A command for each OS family, from a template per family. */
function perFamily(
  templates: Record<OsFamily, CommandTemplate>,
  common: Omit<JobInput, 'interpreter' | 'command'>,
): Record<OsFamily, JobInput> {
  return {
    posix: { ...templates.posix, ...common },
    windows: { ...templates.windows, ...common },
  };
}

function fileEnv(file: FileSpec): Record<string, string> {
  const env: Record<string, string> = { [FILE_ENV.destination]: file.destination };
  if (file.source_url !== null) env[FILE_ENV.sourceUrl] = file.source_url;
  else env[FILE_ENV.content] = file.content ?? '';
  return env;
}

/**
 * A task as a step of a run. A script task renders its parameters here, with the script as it is
 * now (a missing or mistyped value throws 422, as running the script would).
 */
export function stepOf(
  task: Task,
  index: number,
  profileOs: string | null,
  script: Script | undefined,
): TaskStep {
  const action = task.action as TaskAction;
  const base = {
    index,
    task_id: task.id,
    name: task.name,
    action,
    continue_on_error: task.continue_on_error,
    target_os_type: profileOs,
  };
  const common = {
    timeout_seconds: task.timeout_seconds ?? undefined,
    max_attempts: task.max_attempts ?? undefined,
    target_os_type: profileOs ?? undefined,
  };
  // Sealed as the task stores them; the plan keeps them sealed in the run's spec.
  const secretEnv = task.secret_env;
  switch (action) {
    case 'script': {
      if (!script) throw new Error(`task ${task.id} has no script`);
      const job = jobInputOf(script, {
        parameters: task.parameters,
        secret_env: secretEnv,
        timeout_seconds: task.timeout_seconds ?? undefined,
        max_attempts: task.max_attempts ?? undefined,
      });
      const os = script.target_os_type ?? profileOs;
      return { ...base, target_os_type: os, job: { ...job, target_os_type: os ?? undefined } };
    }
    case 'command':
      return {
        ...base,
        job: {
          interpreter: task.interpreter as Interpreter,
          command: task.content ?? '',
          secret_env: secretEnv,
          ...common,
        },
      };
    case 'reboot':
      return { ...base, by_os: perFamily(reboot, common) };
    case 'file_copy': {
      const file = {
        destination: task.destination ?? '',
        content: task.content,
        source_url: task.source_url,
      };
      return { ...base, file, by_os: perFamily(fileCopy, { ...common, env: fileEnv(file) }) };
    }
    default:
      return assertNever(action);
  }
}
