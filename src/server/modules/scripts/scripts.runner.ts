import type { Interpreter } from '../../../protocol/jobs.js';
import type { RequestContext } from '../access/context.js';
import { assertEnvNames } from '../execution/jobs.env.js';
import type { JobRow } from '../execution/jobs.rows.js';
import type { JobInput, JobsService } from '../execution/jobs.service.js';
import type { RunsService, RunView } from '../execution/runs.service.js';
import { renderParameters } from './scripts.params.js';
import type { Script } from './scripts.repo.js';
import type { ScriptExecuteBody, ScriptLanguage, ScriptRunBody } from './scripts.schemas.js';
import type { ScriptsService } from './scripts.service.js';

/** Each script language runs under the interpreter of the same name (PowerShell as pwsh off Windows). */
const interpreterOf: Record<ScriptLanguage, Interpreter> = {
  bash: 'bash',
  sh: 'sh',
  powershell: 'powershell',
  python: 'python',
  cmd: 'cmd',
};

/**
 * Runs library scripts through the execution engine: one agent becomes a job, a target set a
 * run. Parameters are checked (422) and rendered into the job's environment before anything is
 * queued; the script text is sent as stored, with the version it had, so a job names what ran.
 */
export class ScriptRunner {
  readonly #scripts: ScriptsService;
  readonly #jobs: JobsService;
  readonly #runs: RunsService;

  constructor(deps: { scripts: ScriptsService; jobs: JobsService; runs: RunsService }) {
    this.#scripts = deps.scripts;
    this.#jobs = deps.jobs;
    this.#runs = deps.runs;
  }

  /** One agent: a job, refused (422) when the agent's OS or interpreters do not fit the script. */
  async run(ctx: RequestContext, scriptId: string, input: ScriptRunBody): Promise<JobRow> {
    const script = await this.#scripts.row(ctx.orgId, scriptId);
    return this.#jobs.create(ctx, input.agent_id, jobInputOf(script, input));
  }

  /** Several agents or a selector: a run, whose source says a script or a saved command started it. */
  async execute(ctx: RequestContext, scriptId: string, input: ScriptExecuteBody): Promise<RunView> {
    const script = await this.#scripts.row(ctx.orgId, scriptId);
    return this.#runs.create(ctx, {
      name: input.name ?? script.name,
      source: script.kind === 'command' ? 'command' : 'script',
      target: input.target,
      job: jobInputOf(script, input),
      concurrency: input.concurrency,
      failure_threshold: input.failure_threshold,
      deadline_seconds: input.deadline_seconds,
    });
  }
}

/**
 * The job a script runs as. Its parameters become `env` (Fleetplane's own `FP_*` names); a
 * `secret_env` given with them is checked (422) and passed on as it is.
 */
export function jobInputOf(
  script: Script,
  input: Pick<ScriptRunBody, 'parameters' | 'secret_env' | 'timeout_seconds' | 'max_attempts'>,
): JobInput {
  const env = renderParameters(script.parameters, input.parameters);
  assertEnvNames({ secret_env: input.secret_env });
  return {
    interpreter: interpreterOf[script.language as ScriptLanguage],
    command: script.content,
    env,
    ...(input.secret_env ? { secret_env: input.secret_env } : {}),
    timeout_seconds: input.timeout_seconds ?? script.timeout_seconds ?? undefined,
    max_attempts: input.max_attempts ?? script.max_attempts ?? undefined,
    // JobsService refuses (422) agents whose OS does not match.
    target_os_type: script.target_os_type ?? undefined,
    script_id: script.id,
    script_version: script.version,
  };
}
