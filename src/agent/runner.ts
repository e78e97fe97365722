import { execFileSync, spawn, type ChildProcessByStdio } from 'node:child_process';
import { chown, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import {
  PROCESS_RESULT_MAX_BYTES,
  type JobEvent,
  type JobSpec,
  type ProcessSpec,
} from '../protocol/agent.js';
import { isEnvName } from '../protocol/jobs.js';
import {
  commandLine,
  killPlan,
  scriptContent,
  scriptName,
  type CommandLine,
  type KillStep,
} from './commands.js';
import { errorMessage, type AgentLog } from './log.js';
import { JobOutput, type OutputStream } from './output.js';
import { entryPath, type PackageCache } from './packages.js';
import type { ResultEvent } from './spool.js';

/** Where a runner's events go: the agent, which spools results and sends everything on. */
export interface RunnerSink {
  /** ack and output events: best-effort. */
  event(event: JobEvent): void;
  /**
   * Records on disk that the job starts; its process is spawned only once this resolves, and
   * never if it rejects, so a job is never run twice by an agent that died meanwhile.
   */
  started(spec: JobSpec): Promise<void>;
  /** A final result; resolves once it is durable. */
  result(result: ResultEvent): Promise<void>;
  /** True while the transport holds too much unsent data to take more output. */
  congested(): boolean;
}

export interface RunnerOptions {
  maxJobs: number;
  platform: NodeJS.Platform;
  /** The environment jobs inherit; a job's own env is merged over it. */
  baseEnv: NodeJS.ProcessEnv;
  python: string | undefined;
  /** Where a job without cwd runs. */
  defaultCwd: string;
  /** Where per-job script directories are made. */
  tmpDir: string;
  sink: RunnerSink;
  log: AgentLog;
  /** Where process jobs' packages come from; without it, process jobs fail saying so. */
  packages?: PackageCache;
  /** The server's URL, for processes that call its runner API (`FP_SERVER_URL`). */
  server?: string;
}

/** What a job's child is started with. */
interface Launch {
  line: CommandLine;
  cwd: string;
  env: Record<string, string>;
  /** A process job run as its robot's OS user. */
  user?: { uid: number; gid: number };
  /** Where a process job writes its JSON result. */
  outputFile?: string;
}

type StopReason = { status: 'timed_out' | 'canceled' | 'failed'; error: string };
type ChildOutcome = {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  error?: string;
  /** A process job's JSON result. */
  output?: unknown;
};
type Child = ChildProcessByStdio<null, Readable, Readable>;

interface Job {
  spec: JobSpec;
  output: JobOutput;
  startedAt: number;
  child: Child | null;
  stop: StopReason | null;
  done: Promise<void>;
}

/** A script that ended but left a background process holding its stdout gets this long to let go. */
const STDIO_GRACE_MS = 1_000;
const RESUME_POLL_MS = 50;
const REMEMBERED_JOBS = 1_000;
/** setTimeout fires at once beyond this (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

const jobKey = (spec: { job_id: string; attempt: number }) => `${spec.job_id}#${spec.attempt}`;

/**
 * Runs jobs in child processes, at most maxJobs at once. A job is queued → running → finished;
 * a cancel takes a queued job straight to finished (canceled) and a running one through a kill
 * of its process tree. Each job_id+attempt is taken once, so a duplicate delivery is ignored.
 * While the sink is congested every job's stdout and stderr are paused, so a chatty job waits
 * on its pipe instead of filling the agent's memory.
 */
export class JobRunner {
  private readonly queue: JobSpec[] = [];
  private readonly running = new Map<string, Job>();
  private readonly finished = new Set<string>();
  private readonly pendingKills = new Map<NodeJS.Timeout, KillStep>();
  private resumeTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly options: RunnerOptions) {}

  /** Takes a job; false when it is a duplicate or the runner is stopping. */
  submit(spec: JobSpec): boolean {
    const key = jobKey(spec);
    if (this.stopping || this.finished.has(key) || this.running.has(key)) return false;
    if (this.queue.some((queued) => jobKey(queued) === key)) return false;
    this.queue.push(spec);
    if (this.running.size >= this.options.maxJobs) this.options.log(`job ${spec.job_id} queued`);
    this.pump();
    return true;
  }

  cancel(jobId: string): void {
    for (const spec of this.queue.filter((queued) => queued.job_id === jobId)) {
      this.queue.splice(this.queue.indexOf(spec), 1);
      this.remember(jobKey(spec));
      this.options.log(`job ${jobId} canceled before it started`);
      void this.deliver({ ...baseResult(spec, 0), status: 'canceled', error: 'canceled before it started' });
    }
    for (const job of this.running.values()) {
      if (job.spec.job_id === jobId) this.kill(job, { status: 'canceled', error: 'canceled' });
    }
  }

  /** Jobs this agent holds, running or waiting for a slot: the server must not hand them out again. */
  heldJobIds(): string[] {
    return [
      ...new Set([
        ...[...this.running.values()].map((job) => job.spec.job_id),
        ...this.queue.map((s) => s.job_id),
      ]),
    ];
  }

  /**
   * Takes no more jobs, drops the queue (never acknowledged, so the server hands those out again),
   * kills running jobs and reports them failed with `reason`, then ends pending kills at once.
   */
  async stop(reason: string): Promise<void> {
    this.stopping = true;
    this.queue.length = 0;
    const jobs = [...this.running.values()];
    for (const job of jobs) this.kill(job, { status: 'failed', error: reason });
    await Promise.all(jobs.map((job) => job.done));
    for (const [timer, step] of this.pendingKills) {
      clearTimeout(timer);
      this.runKillStep(step);
    }
    this.pendingKills.clear();
    clearInterval(this.resumeTimer);
  }

  private pump(): void {
    while (!this.stopping && this.running.size < this.options.maxJobs) {
      const spec = this.queue.shift();
      if (!spec) return;
      const key = jobKey(spec);
      const job: Job = {
        spec,
        output: new JobOutput(spec.job_id, spec.attempt),
        startedAt: performance.now(),
        child: null,
        stop: null,
        done: Promise.resolve(),
      };
      this.running.set(key, job);
      job.done = this.execute(job)
        .catch((error: unknown) =>
          this.options.log(`job ${spec.job_id} crashed the runner: ${errorMessage(error)}`),
        )
        .finally(() => {
          this.running.delete(key);
          this.remember(key);
          this.pump();
        });
    }
  }

  private remember(key: string): void {
    this.finished.add(key);
    // a Set iterates in insertion order, so the first entry is the oldest
    if (this.finished.size > REMEMBERED_JOBS) this.finished.delete(this.finished.values().next().value ?? '');
  }

  private async execute(job: Job): Promise<void> {
    const { spec } = job;
    this.options.sink.event({ type: 'ack', job_id: spec.job_id, attempt: spec.attempt });
    this.options.log(`job ${spec.job_id} started (${spec.interpreter})`);
    let dir: string | undefined;
    let outcome: ChildOutcome;
    try {
      // The server refuses such names too; a name like `A=B;id` would set another variable.
      const badName = Object.keys(spec.env).find((name) => !isEnvName(name));
      if (badName !== undefined)
        throw new Error(`environment variable name ${JSON.stringify(badName)} is not valid; nothing was run`);
      dir = await mkdtemp(path.join(this.options.tmpDir, 'fleetplane-job-'));
      const launch = spec.process
        ? await this.processLaunch(spec, spec.process, dir)
        : await this.scriptLaunch(spec, dir);
      await this.options.sink.started(spec).catch((error: unknown) => {
        throw new Error(
          `could not record on disk that the job started, so it was not run: ${errorMessage(error)}`,
        );
      });
      // a cancel that arrived while the script was being written
      outcome = job.stop ? { exitCode: null, signal: null } : await this.runChild(job, launch);
      if (launch.outputFile && outcome.exitCode === 0)
        outcome = await withProcessResult(outcome, launch.outputFile);
    } catch (error) {
      outcome = { exitCode: null, signal: null, error: errorMessage(error) };
    }
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    for (const event of job.output.end()) this.options.sink.event(event);
    await this.deliver(resultOf(job, outcome));
  }

  private async deliver(result: ResultEvent): Promise<void> {
    const code = result.exit_code === null ? '' : ` (exit ${result.exit_code})`;
    this.options.log(
      `job ${result.job_id} ${result.status}${code}${result.error ? `: ${result.error}` : ''}`,
    );
    try {
      await this.options.sink.result(result);
    } catch (error) {
      this.options.log(`job ${result.job_id}: could not record its result: ${errorMessage(error)}`);
    }
  }

  /** A command or script: written to a file in the job's directory, run in its cwd. */
  private async scriptLaunch(spec: JobSpec, dir: string): Promise<Launch> {
    const cwd = spec.cwd ?? this.options.defaultCwd;
    if (!(await isDirectory(cwd))) throw new Error(`working directory ${cwd} does not exist`);
    const script = path.join(dir, scriptName(spec.interpreter));
    await writeFile(script, scriptContent(spec.interpreter, spec.command), { mode: 0o700 });
    const line = commandLine(spec.interpreter, script, this.options.platform, this.options.python);
    if ('error' in line) throw new Error(line.error);
    // a deploy script reports its steps to the server this agent speaks to (FP_DEPLOYMENT_TOKEN)
    return {
      line,
      cwd,
      env: { FP_JOB_ID: spec.job_id, ...(this.options.server ? { FP_SERVER_URL: this.options.server } : {}) },
    };
  }

  /**
   * A process job: its package's entry point, run in the unpacked package with the input JSON in
   * FP_INPUT_FILE, its declared assets in FP_ASSETS_FILE (readable by the job only) and its result
   * expected in FP_OUTPUT_FILE; as the robot's OS user when its credential names one.
   */
  private async processLaunch(spec: JobSpec, run: ProcessSpec, dir: string): Promise<Launch> {
    if (!this.options.packages)
      throw new Error('this agent cannot run process jobs: it has no package cache');
    const user = run.run_as_user === null ? undefined : osUser(run.run_as_user, this.options.platform);
    const root = await this.options.packages.unpacked(run.package_hash);
    const entry = entryPath(root, run.entry_point);
    const line = commandLine(spec.interpreter, entry, this.options.platform, this.options.python);
    if ('error' in line) throw new Error(line.error);
    const files = {
      FP_INPUT_FILE: path.join(dir, 'input.json'),
      FP_OUTPUT_FILE: path.join(dir, 'output.json'),
      FP_ASSETS_FILE: path.join(dir, 'assets.json'),
    };
    await writeFile(files.FP_INPUT_FILE, JSON.stringify(run.input ?? null), { mode: 0o600 });
    await writeFile(files.FP_ASSETS_FILE, JSON.stringify(run.assets), { mode: 0o600 });
    if (user) await chownAll(dir, Object.values(files), user);
    return {
      line,
      cwd: root,
      env: {
        ...files,
        FP_JOB_ID: spec.job_id,
        FP_ROBOT_ID: run.robot_id,
        FP_ROBOT_NAME: run.robot_name,
        ...(this.options.server ? { FP_SERVER_URL: this.options.server } : {}),
      },
      user,
      outputFile: files.FP_OUTPUT_FILE,
    };
  }

  private runChild(job: Job, launch: Launch): Promise<ChildOutcome> {
    const { spec } = job;
    const { line, cwd } = launch;
    const posix = this.options.platform !== 'win32';
    return new Promise((resolve) => {
      let child: Child;
      try {
        child = spawn(line.file, line.args, {
          cwd,
          // unbuffered python streams its output live instead of at exit
          env: {
            ...this.options.baseEnv,
            ...(spec.interpreter === 'python' ? { PYTHONUNBUFFERED: '1' } : {}),
            ...spec.env,
            ...launch.env,
          },
          ...(launch.user ?? {}),
          // the child leads its own process group, so a kill reaches everything it started
          detached: posix,
          windowsHide: true,
          windowsVerbatimArguments: line.windowsVerbatimArguments,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      } catch (error) {
        resolve({ exitCode: null, signal: null, error: errorMessage(error) });
        return;
      }
      job.child = child;
      let spawnError: NodeJS.ErrnoException | undefined;
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      let graceTimer: NodeJS.Timeout | undefined;
      const timeout = setTimeout(
        () => this.kill(job, { status: 'timed_out', error: `timed out after ${spec.timeout_seconds}s` }),
        Math.min(spec.timeout_seconds * 1000, MAX_TIMER_MS),
      );
      const releaseStdio = () => {
        // output held back by backpressure is still to be read; wait for it
        if (this.resumeTimer) graceTimer = setTimeout(releaseStdio, STDIO_GRACE_MS);
        else for (const stream of [child.stdout, child.stderr]) stream.destroy();
      };
      child.stdout.on('data', (chunk: Buffer) => this.onOutput(job, 'stdout', chunk));
      child.stderr.on('data', (chunk: Buffer) => this.onOutput(job, 'stderr', chunk));
      child.on('error', (error) => {
        spawnError ??= error;
      });
      child.on('exit', (code, signal) => {
        exit = { code, signal };
        graceTimer = setTimeout(releaseStdio, STDIO_GRACE_MS);
      });
      child.on('close', () => {
        clearTimeout(timeout);
        clearTimeout(graceTimer);
        if (spawnError && child.pid === undefined) {
          const missing =
            spawnError.code === 'ENOENT' ? `${line.file} was not found on PATH` : spawnError.message;
          resolve({ exitCode: null, signal: null, error: missing });
        } else {
          resolve({ exitCode: exit?.code ?? null, signal: exit?.signal ?? null });
        }
      });
    });
  }

  private onOutput(job: Job, stream: OutputStream, chunk: Buffer): void {
    for (const event of job.output.write(stream, chunk)) this.options.sink.event(event);
    if (this.resumeTimer || this.options.sink.congested()) this.pauseOutput();
  }

  private pauseOutput(): void {
    for (const job of this.running.values()) {
      job.child?.stdout.pause();
      job.child?.stderr.pause();
    }
    // the socket has no drain event to wait on, so poll its buffer until it empties
    this.resumeTimer ??= setInterval(() => {
      if (this.options.sink.congested()) return;
      clearInterval(this.resumeTimer);
      this.resumeTimer = undefined;
      for (const job of this.running.values()) {
        job.child?.stdout.resume();
        job.child?.stderr.resume();
      }
    }, RESUME_POLL_MS);
  }

  /**
   * The first reason wins: a job that timed out and is then canceled stays timed_out. A script
   * that already exited keeps its own status; only what it left running is killed.
   */
  private kill(job: Job, reason: StopReason): void {
    const child = job.child;
    const exited = child !== null && (child.exitCode !== null || child.signalCode !== null);
    if (!exited) {
      if (job.stop) return;
      job.stop = reason;
    }
    const pid = child?.pid;
    // not spawned yet: execute() sees job.stop and never starts the child
    if (pid === undefined) return;
    this.options.log(`job ${job.spec.job_id}: ${reason.error}; stopping its processes`);
    for (const step of killPlan(pid, this.options.platform)) {
      if (step.afterMs === 0) {
        this.runKillStep(step);
        continue;
      }
      const timer = setTimeout(() => {
        this.pendingKills.delete(timer);
        this.runKillStep(step);
      }, step.afterMs);
      this.pendingKills.set(timer, step);
    }
  }

  private runKillStep(step: KillStep): void {
    if (step.kind === 'exec') {
      spawn(step.file, step.args, { stdio: 'ignore', windowsHide: true }).on('error', (error) =>
        this.options.log(`${step.file} failed: ${error.message}`),
      );
      return;
    }
    try {
      process.kill(step.pid, step.signal);
    } catch (error) {
      // ESRCH: the whole group is already gone
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') {
        this.options.log(`could not send ${step.signal} to ${step.pid}: ${errorMessage(error)}`);
      }
    }
  }
}

async function isDirectory(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

function baseResult(spec: JobSpec, durationMs: number) {
  return {
    type: 'result',
    job_id: spec.job_id,
    attempt: spec.attempt,
    exit_code: null,
    duration_ms: durationMs,
  } as const;
}

function resultOf(job: Job, outcome: ChildOutcome): ResultEvent {
  const duration = Math.max(0, Math.round(performance.now() - job.startedAt));
  const base = { ...baseResult(job.spec, duration), exit_code: outcome.exitCode };
  if (job.stop) return { ...base, status: job.stop.status, error: job.stop.error.slice(0, 4096) };
  if (outcome.error !== undefined) return { ...base, status: 'failed', error: outcome.error.slice(0, 4096) };
  if (outcome.exitCode === 0)
    return {
      ...base,
      status: 'succeeded',
      ...(outcome.output === undefined ? {} : { output: outcome.output }),
    };
  return { ...base, status: 'failed', ...(outcome.signal ? { error: `killed by ${outcome.signal}` } : {}) };
}

/**
 * The uid and gid of the OS user a robot's process job runs as. Only an agent running as root on
 * a POSIX system can become another user; anywhere else the job is refused, saying why.
 */
function osUser(name: string, platform: NodeJS.Platform): { uid: number; gid: number } {
  if (platform === 'win32')
    throw new Error(`cannot run as ${name}: this agent cannot switch users on Windows; nothing was run`);
  if (process.getuid?.() !== 0)
    throw new Error(
      `cannot run as ${name}: the agent does not run as root, so it cannot switch users; nothing was run`,
    );
  if (!/^[a-z_][a-z0-9_.-]{0,31}$/i.test(name))
    throw new Error(`cannot run as ${JSON.stringify(name)}: not a user name`);
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(`cannot run as ${name}: no such user on this machine; nothing was run`);
  }
}

async function chownAll(dir: string, files: string[], user: { uid: number; gid: number }): Promise<void> {
  for (const file of [dir, ...files]) await chown(file, user.uid, user.gid);
}

/** The JSON the process wrote to its output file: none is fine, too large or not JSON fails the job. */
async function withProcessResult(outcome: ChildOutcome, file: string): Promise<ChildOutcome> {
  const size = await stat(file).then(
    (info) => info.size,
    () => null,
  );
  if (size === null) return outcome;
  if (size > PROCESS_RESULT_MAX_BYTES)
    return {
      ...outcome,
      error: `the process wrote a result of ${size} bytes; at most ${PROCESS_RESULT_MAX_BYTES} are taken`,
    };
  const text = await readFile(file, 'utf8');
  try {
    return { ...outcome, output: JSON.parse(text) as unknown };
  } catch {
    return { ...outcome, error: 'the process wrote a result that is not JSON' };
  }
}
