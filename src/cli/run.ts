import { interpreters } from '../protocol/jobs.js';
import type { ApiClient } from './client.js';
import { UsageError, choiceFlag, defineCommand, durationFlag, type ClientCommand } from './command.js';
import { watchRun, type Job, type OutputMode, type Run, type RunResult } from './follow.js';
import { LineSplitter, type Terminal } from './output.js';
import { TARGET_SYNOPSIS, defaultShell, resolveTarget, targetOptions } from './targets.js';

/** The flags of every command that starts a run and follows it. */
export const runOptions = {
  ...targetOptions,
  timeout: { type: 'string' },
  deadline: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const RUN_SYNOPSIS = `${TARGET_SYNOPSIS} [--timeout DURATION] [--deadline DURATION] [--json]`;

/** The run-body fields `--deadline` sets: how long offline agents are waited for. */
export function runLimits(values: { deadline?: string }): { deadline_seconds?: number } {
  const deadline = durationFlag(values.deadline, 'deadline');
  return deadline === undefined ? {} : { deadline_seconds: deadline };
}

function hostOf(job: Job): string {
  return job.agent_name ?? job.agent_id ?? 'unassigned';
}

/** Each job's output printed line by line as it comes, prefixed `host: `; stderr stays stderr. */
function printedOutput(terminal: Terminal): OutputMode {
  const splitters = new Map<string, { stdout: LineSplitter; stderr: LineSplitter }>();
  const print = (stream: string, line: string) =>
    stream === 'stderr' ? terminal.err(line) : terminal.out(line);
  return {
    kind: 'stream',
    sinkFor(job) {
      const own = { stdout: new LineSplitter(), stderr: new LineSplitter() };
      splitters.set(job.id, own);
      const host = hostOf(job);
      return (chunk) => {
        const splitter = chunk.stream === 'stderr' ? own.stderr : own.stdout;
        for (const line of splitter.push(chunk.data)) print(chunk.stream, `${host}: ${line}`);
      };
    },
    ended(job) {
      const own = splitters.get(job.id);
      if (!own) return;
      for (const stream of ['stdout', 'stderr'] as const) {
        const rest = own[stream].flush();
        if (rest !== null) print(stream, `${hostOf(job)}: ${rest}`);
      }
    },
  };
}

/** What a job's end means to an operator: `succeeded`, `failed (exit 2)`, `timed out`. */
export function outcomeOf(job: Job): string {
  const why = job.error ? `: ${job.error}` : '';
  if (job.status === 'failed')
    return job.exit_code === null ? `failed${why}` : `failed (exit ${job.exit_code})`;
  if (job.status === 'timed_out') return 'timed out';
  if (job.status === 'canceled') return `canceled${why}`;
  return job.status;
}

/** Each agent's last job: a profile's agent runs one job per task and stops at the first failure. */
function lastJobPerAgent(jobs: readonly Job[]): Job[] {
  const last = new Map<string, Job>();
  for (const job of jobs) {
    const key = job.agent_id ?? job.id;
    const seen = last.get(key);
    const later =
      !seen ||
      (job.task_index ?? -1) > (seen.task_index ?? -1) ||
      ((job.task_index ?? -1) === (seen.task_index ?? -1) && job.created_at > seen.created_at);
    if (later) last.set(key, job);
  }
  return [...last.values()].sort((a, b) => hostOf(a).localeCompare(hostOf(b)));
}

/**
 * The run's summary (stderr, so stdout keeps only what the agents printed) or, with `--json`,
 * `{run, jobs}` as the API gives them on stdout. Exit code 0 only when every agent succeeded.
 */
function reportRun(terminal: Terminal, result: RunResult, json: boolean): number {
  const last = lastJobPerAgent(result.jobs);
  const ok = last.length > 0 && last.every((job) => job.status === 'succeeded');
  if (json) {
    terminal.json(result);
    return ok ? 0 : 1;
  }
  const width = Math.max(...last.map((job) => hostOf(job).length));
  for (const job of last) {
    const task = job.task_name && job.status !== 'succeeded' ? ` at task "${job.task_name}"` : '';
    terminal.err(`${hostOf(job).padEnd(width)}  ${outcomeOf(job)}${task}`);
  }
  const tally = new Map<string, number>();
  for (const job of last) {
    const word = job.status.replace('_', ' ');
    tally.set(word, (tally.get(word) ?? 0) + 1);
  }
  const parts = [...tally].map(([word, n]) => `${n} ${word}`);
  terminal.err(`${last.length} agent${last.length === 1 ? '' : 's'}: ${parts.join(', ')}`);
  return ok ? 0 : 1;
}

/** Follows a run the command started: output printed live (unless `print` is false), or kept for `--json`. */
export async function followAndReport(
  client: ApiClient,
  terminal: Terminal,
  options: { json: boolean; print: boolean },
  start: () => Promise<Run>,
): Promise<number> {
  let mode: OutputMode = { kind: 'none' };
  if (options.json) mode = { kind: 'collect' };
  else if (options.print) mode = printedOutput(terminal);
  return reportRun(terminal, await watchRun(client, terminal, start, mode), options.json);
}

export const runCommands: ClientCommand[] = [
  defineCommand({
    words: ['run'],
    synopsis: `${RUN_SYNOPSIS} [--shell SHELL] -- COMMAND...`,
    summary:
      'run a command on agents, streaming their output prefixed by host; exit code 0 only when all succeeded',
    options: { ...runOptions, shell: { type: 'string' } },
    async run({ values, positionals, rest }, ctx) {
      const command = (rest ?? positionals).join(' ').trim();
      if (!command) throw new UsageError('give the command to run after --');
      if (rest && positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
      const timeout = durationFlag(values.timeout, 'timeout');
      const client = ctx.client();
      const { target, named } = await resolveTarget(client, values);
      const interpreter =
        choiceFlag(values.shell, 'shell', interpreters) ?? (await defaultShell(client, target, named));
      return followAndReport(client, ctx.terminal, { json: values.json === true, print: true }, () =>
        client.request<Run>('POST', '/api/v1/runs', {
          body: {
            name: command.slice(0, 200),
            target,
            job: { interpreter, command, ...(timeout === undefined ? {} : { timeout_seconds: timeout }) },
            ...runLimits(values),
          },
        }),
      );
    },
  }),
];
