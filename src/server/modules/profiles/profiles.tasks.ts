import type { Interpreter } from '../../../protocol/jobs.js';
import { AppError, type ErrorDetail } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { MASK, maskAll } from '../../lib/secrets.js';
import { envProblems } from '../execution/jobs.env.js';
import { mapSecretValues, renderParameters } from '../scripts/scripts.params.js';
import type { Script } from '../scripts/scripts.repo.js';
import type { Task, TaskWithDefinitions } from './profiles.repo.js';
import type { TaskAction, TaskInput, TaskParameterValues } from './profiles.schemas.js';

/** A task's own fields, whole, before it is checked and stored. */
export interface TaskDraft {
  name: string;
  description: string;
  action: TaskAction;
  script_id: string | null;
  content: string | null;
  interpreter: Interpreter | null;
  parameters: TaskParameterValues;
  /** Sealed once the draft is sound; masked in a view. */
  secret_env: Record<string, string>;
  source_url: string | null;
  destination: string | null;
  continue_on_error: boolean;
  timeout_seconds: number | null;
  /** The script's, else the jobs settings' default (1: at most once), when null. */
  max_attempts: number | null;
}

/** A task as the API shows it: its draft (secret values masked), its place and its times. */
export interface TaskView extends TaskDraft {
  id: string;
  profile_id: string;
  position: number;
  created_at: string;
  updated_at: string;
}

/** The fields each action uses; any other action-specific field given is refused (422). */
const fieldsOf: Record<TaskAction, readonly (keyof TaskDraft)[]> = {
  script: ['script_id', 'parameters', 'secret_env'],
  command: ['content', 'interpreter', 'secret_env'],
  reboot: [],
  file_copy: ['content', 'source_url', 'destination'],
};
const specific = [
  'script_id',
  'parameters',
  'secret_env',
  'content',
  'interpreter',
  'source_url',
  'destination',
] as const;
/** The action-specific fields that hold an object, empty when unset. */
const maps = ['parameters', 'secret_env'] as const;
type MapField = (typeof maps)[number];
const isMap = (field: string): field is MapField => (maps as readonly string[]).includes(field);

/** A file's text travels as an environment variable: Windows caps one at 32,767 characters. */
export const MAX_FILE_CONTENT = 32_000;

export function draftOf(input: TaskInput): TaskDraft {
  return {
    name: input.name,
    description: input.description ?? '',
    action: input.action,
    script_id: input.script_id ?? null,
    content: input.content ?? null,
    interpreter: input.interpreter ?? null,
    parameters: input.parameters ?? {},
    secret_env: input.secret_env ?? {},
    source_url: input.source_url ?? null,
    destination: input.destination ?? null,
    continue_on_error: input.continue_on_error ?? false,
    timeout_seconds: input.timeout_seconds ?? null,
    max_attempts: input.max_attempts ?? null,
  };
}

export function draftOfTask(row: Task): TaskDraft {
  return {
    name: row.name,
    description: row.description,
    action: row.action as TaskAction,
    script_id: row.script_id,
    content: row.content,
    interpreter: row.interpreter as Interpreter | null,
    parameters: row.parameters,
    secret_env: row.secret_env,
    source_url: row.source_url,
    destination: row.destination,
    continue_on_error: row.continue_on_error,
    timeout_seconds: row.timeout_seconds,
    max_attempts: row.max_attempts,
  };
}

/** A new action drops the fields it does not use, unless the change gives them again. */
export function withAction(draft: TaskDraft, given: ReadonlySet<string>): TaskDraft {
  const next = { ...draft };
  for (const field of specific) {
    if (fieldsOf[draft.action].includes(field) || given.has(field)) continue;
    if (isMap(field)) next[field] = {};
    else next[field] = null;
  }
  return next;
}

function isSet(draft: TaskDraft, field: (typeof specific)[number]): boolean {
  return isMap(field) ? Object.keys(draft[field]).length > 0 : draft[field] !== null;
}

/** An absolute path on Linux, macOS or Windows (`/x`, `C:\x`, `C:/x`, `\\server\share`). */
function isAbsolutePath(path: string): boolean {
  return /^\//.test(path) || /^[A-Za-z]:[\\/]/.test(path) || /^\\\\[^\\]/.test(path);
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Why a task could not run, as 422 details under `prefix`; empty when it is sound. A script
 * task's parameters are checked by the scripts module's own rules, against the script's
 * definitions as they are now.
 */
export function checkTask(draft: TaskDraft, script: Script | undefined, prefix = ''): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  const add = (field: string, message: string) => details.push({ field: `${prefix}${field}`, message });
  const uses = fieldsOf[draft.action];
  for (const field of specific)
    if (!uses.includes(field) && isSet(draft, field)) add(field, `is not used by ${draft.action} tasks`);
  details.push(...envProblems({ secret_env: draft.secret_env }, prefix));
  switch (draft.action) {
    case 'script':
      if (draft.script_id === null) add('script_id', 'is required for a script task');
      else if (!script) add('script_id', 'no such script in this organisation');
      else details.push(...parameterProblems(script, draft.parameters, prefix));
      break;
    case 'command':
      if (draft.content === null) add('content', 'is required for a command task');
      if (draft.interpreter === null) add('interpreter', 'is required for a command task');
      break;
    case 'reboot':
      break;
    case 'file_copy':
      if ((draft.content === null) === (draft.source_url === null))
        add('content', 'give the file as content or as source_url, one of them');
      if (draft.source_url !== null && !isHttpUrl(draft.source_url))
        add('source_url', 'must be an http or https URL');
      if (draft.content !== null && draft.content.length > MAX_FILE_CONTENT)
        add('content', `is over ${MAX_FILE_CONTENT} characters: serve the file and give its source_url`);
      if (draft.destination === null) add('destination', 'is required for a file_copy task');
      else if (draft.destination.includes('\0')) add('destination', 'must not contain a NUL character');
      else if (!isAbsolutePath(draft.destination)) add('destination', 'must be an absolute path');
      break;
  }
  return details;
}

function parameterProblems(script: Script, values: TaskParameterValues, prefix: string): ErrorDetail[] {
  try {
    renderParameters(script.parameters, values);
    return [];
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    return error.details.map((d) => ({ ...d, field: `${prefix}${d.field ?? 'parameters'}` }));
  }
}

export function taskOf(
  draft: TaskDraft,
  profileId: string,
  position: number,
  now: string,
  id: string = newId(),
): Task {
  return {
    id,
    profile_id: profileId,
    position,
    name: draft.name,
    description: draft.description,
    action: draft.action,
    script_id: draft.script_id,
    content: draft.content,
    interpreter: draft.interpreter,
    parameters: draft.parameters,
    secret_env: draft.secret_env,
    source_url: draft.source_url,
    destination: draft.destination,
    continue_on_error: draft.continue_on_error,
    timeout_seconds: draft.timeout_seconds,
    max_attempts: draft.max_attempts,
    created_at: now,
    updated_at: now,
  };
}

export function taskView(row: TaskWithDefinitions): TaskView {
  const draft = draftOfTask(row);
  return {
    id: row.id,
    profile_id: row.profile_id,
    position: row.position,
    ...draft,
    // The values of the script's secret parameters are never shown, nor written to the audit log.
    parameters: mapSecretValues(draft.parameters, row.script_parameters, () => MASK),
    secret_env: maskAll(draft.secret_env),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
