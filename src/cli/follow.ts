import type { Static } from 'typebox';
import { isFinal } from '../protocol/jobs.js';
import type { JobSchema, OutputChunks } from '../server/modules/execution/jobs.schemas.js';
import type { RunSchema } from '../server/modules/execution/runs.schemas.js';
import type { ApiClient } from './client.js';
import { EventStream, type StreamMessage } from './events.js';
import type { Terminal } from './output.js';

export type Job = Static<typeof JobSchema>;
export type Run = Static<typeof RunSchema>;
type Chunks = Static<typeof OutputChunks>;

export interface Chunk {
  attempt: number;
  seq: number;
  stream: string;
  data: string;
}

/** The moment the next chunk of a job is handed out, in the order the job wrote them. */
export type ChunkSink = (chunk: Chunk) => void;

/** When the stream has been quiet this long, the server is asked how things stand (a missed event costs no more). */
export const CHECK_INTERVAL_MS = 5_000;

/** A promise and the hands that settle it (Promise.withResolvers, which Node 20 lacks). */
export function deferred<T>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export function outputOf(client: ApiClient, jobId: string): Promise<Chunks> {
  return client.get<Chunks>(`/api/v1/jobs/${jobId}/output`, { format: 'json' });
}

/** The whole output as text, as the server writes it (a note at the end when it was cut). */
export async function outputText(client: ApiClient, jobId: string): Promise<string> {
  return (await client.get<string | null>(`/api/v1/jobs/${jobId}/output`)) ?? '';
}

/**
 * One followed job's output, each chunk handed out once. Live chunks and chunks fetched over HTTP
 * are merged by attempt and seq. States: subscribing (live chunks wait, since those stored before
 * the subscription are fetched once the server says `subscribed`) → merged (live chunks pass at
 * once) → ended (the fetch made after the job ended is in; nothing more passes). A dropped socket
 * subscribes again and goes back to subscribing.
 */
export class JobOutput {
  #attempt = 0;
  #seen = new Set<number>();
  #waiting: Chunk[] | null = [];
  #ended = false;
  /** Fetches run one after another, so chunks pass in the order they were fetched. */
  #chain: Promise<void> = Promise.resolve();

  constructor(
    readonly jobId: string,
    private readonly client: ApiClient,
    private readonly sink: ChunkSink,
  ) {}

  resubscribing(): void {
    if (!this.#ended) this.#waiting = [];
  }

  live(chunk: Chunk): void {
    if (this.#waiting) this.#waiting.push(chunk);
    else this.#take(chunk);
  }

  subscribed(): void {
    this.#queue(async () => {
      this.#takeAll(await outputOf(this.client, this.jobId));
      const waiting = this.#waiting ?? [];
      this.#waiting = null;
      for (const chunk of waiting) this.#take(chunk);
    });
  }

  /** Resolves once everything the job wrote has been handed out. */
  end(): Promise<void> {
    this.#queue(async () => {
      this.#takeAll(await outputOf(this.client, this.jobId));
      this.#ended = true;
      this.#waiting = null;
    });
    return this.#chain;
  }

  #queue(step: () => Promise<void>): void {
    this.#chain = this.#chain.then(() => (this.#ended ? undefined : step()));
  }

  #takeAll(output: Chunks): void {
    const chunks = [...output.chunks].sort((a, b) => a.seq - b.seq);
    for (const chunk of chunks) this.#take({ ...chunk, attempt: output.attempt });
  }

  #take(chunk: Chunk): void {
    if (this.#ended || chunk.attempt < this.#attempt) return;
    if (chunk.attempt > this.#attempt) {
      // a retry starts its output afresh
      this.#attempt = chunk.attempt;
      this.#seen = new Set();
    }
    if (this.#seen.has(chunk.seq)) return;
    this.#seen.add(chunk.seq);
    this.sink(chunk);
  }
}

/** How a watch treats output: printed as it comes, fetched once each job ended (for `--json`), or neither. */
export type OutputMode =
  | { kind: 'stream'; sinkFor(job: Job): ChunkSink; ended(job: Job): void }
  | { kind: 'collect' }
  | { kind: 'none' };

export interface RunResult {
  run: Run;
  /** The run's jobs once all ended; with `collect`, each with its whole output. */
  jobs: (Job & { output?: string })[];
}

function activeOf(counts: Record<string, number>): number {
  return (counts.queued ?? 0) + (counts.dispatched ?? 0) + (counts.running ?? 0);
}

function progressText(counts: Record<string, number>): string {
  const total = counts.total ?? 0;
  const done = total - activeOf(counts);
  const failed = (counts.failed ?? 0) + (counts.timed_out ?? 0) + (counts.lost ?? 0);
  return (
    `${done}/${total} done: ${counts.succeeded ?? 0} succeeded, ${failed} failed, ` +
    `${counts.canceled ?? 0} canceled; ${counts.running ?? 0} running, ` +
    `${(counts.queued ?? 0) + (counts.dispatched ?? 0)} waiting`
  );
}

/**
 * Starts a run and follows it to its end. The events socket opens first, so no event of the run
 * is missed: job states name the run's jobs (those of later profile tasks too), run progress
 * draws the progress line. Whether the run ended is always read over HTTP, on progress saying so
 * and every few seconds besides, so a dropped event only delays the end.
 */
export async function watchRun(
  client: ApiClient,
  terminal: Terminal,
  start: () => Promise<Run>,
  mode: OutputMode,
): Promise<RunResult> {
  let runId: string | null = null;
  const early: StreamMessage[] = [];
  const tracked = new Map<string, { job: Job; output: JobOutput | null; ending: Promise<unknown> | null }>();
  const collected = new Map<string, string>();
  const { promise: finished, resolve: settle, reject: fail } = deferred<RunResult>();
  // a failure may come before the watch awaits it; it is thrown from there
  finished.catch(() => undefined);

  const track = (job: Job): void => {
    if (tracked.has(job.id)) return;
    let output: JobOutput | null = null;
    if (mode.kind === 'stream') {
      output = new JobOutput(job.id, client, mode.sinkFor(job));
      stream.follow(job.id);
    }
    tracked.set(job.id, { job, output, ending: null });
    if (isFinal(job.status)) end(job.id);
  };

  const end = (jobId: string): void => {
    const entry = tracked.get(jobId);
    if (!entry || entry.ending) return;
    const { job } = entry;
    if (mode.kind === 'stream' && entry.output) {
      entry.ending = entry.output.end().then(() => {
        stream.unfollow(job.id);
        mode.ended(job);
      });
    } else if (mode.kind === 'collect') {
      entry.ending = outputText(client, job.id).then((text) => collected.set(job.id, text));
    } else entry.ending = Promise.resolve();
  };

  /** A job first heard of by its state: its row names its agent. */
  const trackById = async (jobId: string): Promise<void> => {
    if (tracked.has(jobId)) return;
    track(await client.get<Job>(`/api/v1/jobs/${jobId}`));
  };

  /** True once the run ended and every job's output is in. */
  const checkOnce = async (): Promise<boolean> => {
    const run = await client.get<Run>(`/api/v1/runs/${runId}`);
    terminal.progress(progressText(run.counts));
    if (run.status === 'running' || activeOf(run.counts) > 0) return false;
    const jobs = await client.list<Job>(`/api/v1/runs/${run.id}/jobs`);
    for (const job of jobs) track(job);
    for (const job of jobs) end(job.id);
    await Promise.all([...tracked.values()].flatMap((entry) => entry.ending ?? []));
    settle({ run, jobs: jobs.map((job) => ({ ...job, output: collected.get(job.id) })) });
    return true;
  };
  // one check at a time; one asked for meanwhile runs right after, as it may see the end
  let checking = false;
  let again = false;
  const check = async (): Promise<void> => {
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    try {
      for (;;) {
        again = false;
        if ((await checkOnce()) || !again) return;
      }
    } finally {
      checking = false;
    }
  };
  const checkSoon = () => void check().catch(fail);

  const handle = (message: StreamMessage): void => {
    if (message.type === 'job.state' && message.run_id === runId) {
      if (!tracked.has(message.job_id)) trackById(message.job_id).catch(fail);
      else if (isFinal(message.status)) end(message.job_id);
    } else if (message.type === 'job.output') tracked.get(message.job_id)?.output?.live(message);
    else if (message.type === 'subscribed') tracked.get(message.job_id)?.output?.subscribed();
    else if (message.type === 'run.progress' && message.run_id === runId) {
      terminal.progress(progressText(message.counts));
      if (message.status !== 'running' && activeOf(message.counts) === 0) checkSoon();
    }
  };

  const stream = await EventStream.open(client, {
    message: (message) => (runId === null ? early.push(message) : handle(message)),
    reconnected: () => {
      for (const entry of tracked.values()) entry.output?.resubscribing();
      checkSoon();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const run = await start();
    runId = run.id;
    timer = setInterval(checkSoon, CHECK_INTERVAL_MS);
    terminal.progress(progressText(run.counts));
    for (const message of early.splice(0)) handle(message);
    for (const job of await client.list<Job>(`/api/v1/runs/${run.id}/jobs`)) track(job);
    checkSoon();
    return await finished;
  } finally {
    clearInterval(timer);
    stream.close();
    terminal.endProgress();
  }
}
