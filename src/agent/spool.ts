import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Compile } from 'typebox/compile';
import { JobEvent } from '../protocol/agent.js';
import type { AgentLog } from './log.js';
import { ensurePrivateDir, writePrivateFile } from './state.js';

export type ResultEvent = Extract<JobEvent, { type: 'result' }>;

const checkEvent = Compile(JobEvent);

/**
 * Results not yet acknowledged by the server, one file per job: `<spool>/<job_id>.json`. A result
 * is written here before it is sent and removed when the server has stored it, so a crash, a
 * restart or a dropped connection never loses one.
 */
export class Spool {
  constructor(
    readonly dir: string,
    private readonly log: AgentLog,
  ) {}

  async put(result: ResultEvent): Promise<void> {
    await ensurePrivateDir(this.dir);
    await writePrivateFile(this.fileFor(result.job_id), JSON.stringify(result));
  }

  async list(): Promise<ResultEvent[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const results: ResultEvent[] = [];
    for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
      const file = path.join(this.dir, name);
      const result = await this.read(file);
      if (result) {
        results.push(result);
      } else {
        // an unreadable result can never be sent; keeping it would resend nothing forever
        this.log(`spool file ${file} is unreadable; removed`);
        await rm(file, { force: true });
      }
    }
    return results;
  }

  /** Removes the job's result if it is this attempt's; a newer attempt's result stays. */
  async remove(jobId: string, attempt: number): Promise<boolean> {
    const file = this.fileFor(jobId);
    const result = await this.read(file);
    if (!result || result.attempt !== attempt) return false;
    await rm(file, { force: true });
    return true;
  }

  private async read(file: string): Promise<ResultEvent | null> {
    try {
      const value: unknown = JSON.parse(await readFile(file, 'utf8'));
      return checkEvent.Check(value) && value.type === 'result' ? value : null;
    } catch {
      return null;
    }
  }

  private fileFor(jobId: string): string {
    return jobFile(this.dir, jobId);
  }
}

/** A job's file in dir. Job ids are UUIDs; anything else the server sends is hashed so it cannot name a path. */
export function jobFile(dir: string, jobId: string): string {
  const safe = /^[\w-]{1,128}$/.test(jobId) ? jobId : `h-${createHash('sha256').update(jobId).digest('hex')}`;
  return path.join(dir, `${safe}.json`);
}
