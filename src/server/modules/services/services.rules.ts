import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { AppError, type ErrorDetail } from '../../lib/errors.js';
import { keepMasked, maskAll, maskSecrets } from '../../lib/secrets.js';
import { envProblems } from '../execution/jobs.env.js';
import type { NameHolder, Service } from './services.repo.js';
import {
  MAX_SCRIPT_BYTES,
  type Rollout,
  type RolloutInput,
  type ServiceCreateBody,
  type ServiceRunsOn,
  type ServiceUpdateBody,
} from './services.schemas.js';

/**
 * What a service definition is, and the rules it follows beyond its schema: pure functions, so
 * the API and the services directory check a definition the same way.
 */

export interface ServiceView {
  id: string;
  name: string;
  description: string;
  script: { interpreter: string; content: string };
  steps: string[];
  runs_on: ServiceRunsOn;
  rollout: Rollout;
  env: Record<string, string>;
  secret_env: Record<string, string>;
  config_schema: Record<string, unknown> | null;
  timeout_seconds: number;
  source: 'api' | 'directory';
  folder: string | null;
  created_at: string;
  updated_at: string;
}

export interface ServiceFolderView {
  folder: string;
  name: string;
  valid: boolean;
  error: string | null;
}

/** What a service definition is made of, defaults filled, secrets not yet sealed. */
export type Definition = Pick<
  Service,
  | 'name'
  | 'description'
  | 'interpreter'
  | 'script'
  | 'steps'
  | 'runs_on'
  | 'rollout'
  | 'env'
  | 'secret_env'
  | 'config_schema'
  | 'timeout_seconds'
>;

const DEFAULT_TIMEOUT_SECONDS = 3600;

export function serviceView(row: Service): ServiceView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    script: { interpreter: row.interpreter, content: row.script },
    steps: row.steps,
    runs_on: row.runs_on,
    rollout: row.rollout,
    env: maskSecrets(row.env) as Record<string, string>,
    secret_env: maskAll(row.secret_env),
    config_schema: row.config_schema,
    timeout_seconds: row.timeout_seconds,
    source: row.source,
    folder: row.folder,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function fullRollout(input: RolloutInput = {}): Rollout {
  return {
    batch_size: input.batch_size ?? null,
    batch_percent: input.batch_percent ?? null,
    canary: input.canary ?? 0,
    pause_seconds: input.pause_seconds ?? 0,
    manual_continue: input.manual_continue ?? false,
    max_failures: input.max_failures ?? null,
    max_failure_percent: input.max_failure_percent ?? null,
  };
}

export function definitionOf(body: ServiceCreateBody): Definition {
  return {
    name: body.name.trim(),
    description: body.description ?? '',
    interpreter: body.script.interpreter,
    script: body.script.content,
    steps: body.steps,
    runs_on: body.runs_on,
    rollout: fullRollout(body.rollout),
    env: body.env ?? {},
    secret_env: body.secret_env ?? {},
    config_schema: body.config_schema ?? null,
    timeout_seconds: body.timeout_seconds ?? DEFAULT_TIMEOUT_SECONDS,
  };
}

/** The service as a change leaves it; a mask sent back for a secret keeps the stored (sealed) value. */
export function applyChanges(row: Service, input: ServiceUpdateBody): Definition {
  return {
    name: input.name === undefined ? row.name : input.name.trim(),
    description: input.description ?? row.description,
    interpreter: input.script?.interpreter ?? row.interpreter,
    script: input.script?.content ?? row.script,
    steps: input.steps ?? row.steps,
    runs_on: input.runs_on ?? row.runs_on,
    rollout: input.rollout === undefined ? row.rollout : fullRollout(input.rollout),
    env: input.env === undefined ? row.env : keepMasked(input.env, row.env),
    secret_env:
      input.secret_env === undefined ? row.secret_env : keepMasked(input.secret_env, row.secret_env),
    config_schema: input.config_schema === undefined ? row.config_schema : input.config_schema,
    timeout_seconds: input.timeout_seconds ?? row.timeout_seconds,
  };
}

export function nameTaken(name: string): AppError {
  return new AppError('conflict', `a service named "${name}" exists`, {
    details: [{ field: 'name', message: 'already used in this organisation' }],
  });
}

/** An error as one line: its message and each detail. */
export function oneLine(error: AppError): string {
  const details = error.details.map((d) => (d.field ? `${d.field}: ${d.message}` : d.message));
  return details.length === 0 ? error.message : `${error.message}: ${details.join('; ')}`;
}

function configSchemaProblem(schema: Record<string, unknown>): string | undefined {
  // strict off: a schema may carry keywords of its own tools (titles, examples, x-…).
  const ajv = new Ajv({ strict: false });
  addFormats.default(ajv);
  try {
    ajv.compile(schema);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The rules a definition breaks on its own, beyond its schema (no database read). */
export function ownProblems(def: Definition): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  if (def.name === '') details.push({ field: 'name', message: 'must not be blank' });
  // The schema counts characters; the limit is on bytes, as a folder's script file is measured.
  if (Buffer.byteLength(def.script) > MAX_SCRIPT_BYTES)
    details.push({ field: 'script.content', message: `is larger than ${MAX_SCRIPT_BYTES} bytes` });
  if (def.rollout.batch_size !== null && def.rollout.batch_percent !== null)
    details.push({ field: 'rollout.batch_percent', message: 'give batch_size or batch_percent, not both' });
  details.push(...envProblems(def));
  if (def.config_schema !== null) {
    const problem = configSchemaProblem(def.config_schema);
    if (problem) details.push({ field: 'config_schema', message: `does not compile: ${problem}` });
  }
  return details;
}

export function notValid(details: ErrorDetail[]): AppError {
  return new AppError('unprocessable', 'the service is not valid', { details });
}

/** A folder may define a name no other service holds: not one made through the API, nor another folder's. */
export function assertNameFree(holder: NameHolder | undefined, folder: string, name: string): void {
  if (!holder || (holder.source === 'directory' && holder.folder === folder)) return;
  throw new AppError('conflict', `a service named "${name}" exists`, {
    details: [
      {
        field: 'name',
        message:
          holder.source === 'directory'
            ? `already defined by folder "${holder.folder ?? ''}"`
            : 'already defined through the API',
      },
    ],
  });
}
