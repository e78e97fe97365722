import { rm } from 'node:fs/promises';
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import type { AgentLog } from './log.js';
import { jobFile, readJobFiles, readJsonFile, type ResultEvent } from './spool.js';
import { ensurePrivateDir, writeDurableFile } from './state.js';

const StartedJob = Type.Object({
  job_id: Type.String(),
  attempt: Type.Integer(),
  started_at: Type.String(),
});
export type StartedJob = Static<typeof StartedJob>;

const checkStarted = Compile(StartedJob);

/** What a job left started by an agent that died is reported as: commands are not idempotent. */
export const RESTARTED_ERROR = 'the agent restarted while the job was running; it was not run again';

/**
 * Jobs started and not yet finished, one file per job: `<started>/<job_id>.json`. A job's file is
 * on disk (synced) before its process is spawned, and removed once its result is in the spool.
 * A file still here when the agent starts names a job that was running when the agent died: it
 * becomes a failed result and is never run again (at most once).
 */
export class StartedJobs {
  constructor(
    readonly dir: string,
    private readonly log: AgentLog,
  ) {}

  async mark(job: { job_id: string; attempt: number }, now = new Date()): Promise<void> {
    await ensurePrivateDir(this.dir);
    const record: StartedJob = { job_id: job.job_id, attempt: job.attempt, started_at: now.toISOString() };
    await writeDurableFile(jobFile(this.dir, job.job_id), JSON.stringify(record));
  }

  async clear(jobId: string): Promise<void> {
    await rm(jobFile(this.dir, jobId), { force: true });
  }

  list(): Promise<StartedJob[]> {
    const read = (file: string) =>
      readJsonFile(file, (value): value is StartedJob => checkStarted.Check(value));
    return readJobFiles(this.dir, read, this.log, 'started-job');
  }
}

/** The failed result a job left started by an agent that died is reported with. */
export function restartedResult(job: StartedJob): ResultEvent {
  return {
    type: 'result',
    job_id: job.job_id,
    attempt: job.attempt,
    status: 'failed',
    exit_code: null,
    // unknown: the agent died at some moment after the start
    duration_ms: 0,
    error: RESTARTED_ERROR,
  };
}
