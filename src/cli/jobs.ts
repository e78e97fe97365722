import { isFinal } from '../protocol/jobs.js';
import type { ApiClient } from './client.js';
import { defineCommand, oneArgument, type ClientCommand } from './command.js';
import { EventStream } from './events.js';
import { CHECK_INTERVAL_MS, deferred, JobOutput, outputText, type Job } from './follow.js';
import { ago, fields, type Terminal } from './output.js';
import { outcomeOf } from './run.js';

function getJob(client: ApiClient, id: string): Promise<Job> {
  return client.get<Job>(`/api/v1/jobs/${encodeURIComponent(id)}`);
}

/** A job's exit code as the command's own: 0 when it succeeded, its exit code when it has one, else 1. */
function exitCodeOf(job: Job): number {
  if (job.status === 'succeeded') return 0;
  const code = job.exit_code;
  return code !== null && code >= 1 && code <= 255 ? code : 1;
}

/**
 * Prints a job's output as it comes until the job ends, then answers the job. The socket follows
 * the job before anything is fetched, and the job's state is read over HTTP every few seconds,
 * so neither a chunk nor the end is missed.
 */
async function tail(client: ApiClient, terminal: Terminal, id: string): Promise<Job> {
  const output = new JobOutput(id, client, (chunk) =>
    terminal.write(chunk.stream === 'stderr' ? 'stderr' : 'stdout', chunk.data),
  );
  const { promise: ended, resolve: settle, reject: fail } = deferred<Job>();
  let ending = false;
  const check = () =>
    void getJob(client, id)
      .then((job) => {
        if (!isFinal(job.status) || ending) return;
        ending = true;
        return output.end().then(() => settle(job));
      })
      .catch(fail);
  const stream = await EventStream.open(client, {
    message(message) {
      if (message.type === 'job.output' && message.job_id === id) output.live(message);
      else if (message.type === 'subscribed' && message.job_id === id) output.subscribed();
      else if (message.type === 'job.state' && message.job_id === id && isFinal(message.status)) check();
      else if (message.type === 'error' && message.job_id === id) fail(new Error(message.message));
    },
    reconnected() {
      output.resubscribing();
      check();
    },
  });
  stream.follow(id);
  check();
  const timer = setInterval(check, CHECK_INTERVAL_MS);
  try {
    return await ended;
  } finally {
    clearInterval(timer);
    stream.close();
  }
}

function jobFields(job: Job): string[] {
  const duration = job.duration_ms === null ? '-' : `${(job.duration_ms / 1000).toFixed(1)}s`;
  return fields([
    ['id', job.id],
    ['agent', job.agent_name ?? job.agent_id ?? '-'],
    ['status', isFinal(job.status) ? outcomeOf(job) : job.status],
    ['interpreter', job.interpreter],
    ['command', job.command.split('\n')[0] ?? ''],
    ...(job.task_name ? ([['task', job.task_name]] as const) : []),
    ['run', job.run_id ?? '-'],
    ['created', `${job.created_at} (${ago(job.created_at)})`],
    ['finished', job.finished_at ?? '-'],
    ['duration', duration],
  ]);
}

export const jobsCommands: ClientCommand[] = [
  defineCommand({
    words: ['jobs', 'show'],
    synopsis: 'ID [--json]',
    summary: "a job's state and, once it ended, its output",
    options: { json: { type: 'boolean' } },
    async run({ values, positionals }, ctx) {
      const client = ctx.client();
      const job = await getJob(client, oneArgument(positionals, 'a job id'));
      if (values.json) {
        ctx.terminal.json(job);
        return 0;
      }
      for (const line of jobFields(job)) ctx.terminal.out(line);
      if (isFinal(job.status) && job.output_bytes > 0) {
        ctx.terminal.out('output:');
        const text = await outputText(client, job.id);
        ctx.terminal.write('stdout', text.endsWith('\n') ? text : `${text}\n`);
      }
      return 0;
    },
  }),
  defineCommand({
    words: ['jobs', 'tail'],
    synopsis: 'ID',
    summary: "print a job's output until it ends; the exit code is the job's",
    options: {},
    async run({ positionals }, ctx) {
      const job = await tail(ctx.client(), ctx.terminal, oneArgument(positionals, 'a job id'));
      ctx.terminal.err(`job ${job.id} ${outcomeOf(job)}`);
      return exitCodeOf(job);
    },
  }),
  defineCommand({
    words: ['jobs', 'cancel'],
    synopsis: 'ID [--json]',
    summary: 'cancel a job that has not finished',
    options: { json: { type: 'boolean' } },
    async run({ values, positionals }, ctx) {
      const id = oneArgument(positionals, 'a job id');
      const job = await ctx.client().request<Job>('POST', `/api/v1/jobs/${encodeURIComponent(id)}/cancel`);
      if (values.json) ctx.terminal.json(job);
      else ctx.terminal.out(`cancel requested for job ${job.id} (${job.status})`);
      return 0;
    },
  }),
];
