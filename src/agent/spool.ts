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

  list(): Promise<ResultEvent[]> {
    return readJobFiles(this.dir, (file) => this.read(file), this.log, 'spool');
  }

  /** Removes the job's result if it is this attempt's; a newer attempt's result stays. */
  async remove(jobId: string, attempt: number): Promise<boolean> {
    const file = this.fileFor(jobId);
    const result = await this.read(file);
    if (!result || result.attempt !== attempt) return false;
    await rm(file, { force: true });
    return true;
  }

  private read(file: string): Promise<ResultEvent | null> {
    return readJsonFile(
      file,
      (value): value is ResultEvent => checkEvent.Check(value) && value.type === 'result',
    );
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

/** A JSON file of the agent's state, if it holds what `is` accepts; null when missing or unreadable. */
export async function readJsonFile<T>(file: string, is: (value: unknown) => value is T): Promise<T | null> {
  try {
    const value: unknown = JSON.parse(await readFile(file, 'utf8'));
    return is(value) ? value : null;
  } catch {
    return null;
  }
}

/**
 * The job files of a directory (see `jobFile`), read in name order. One that cannot be read is
 * logged and removed: only a crash mid-write leaves one, and nothing could ever be done with it.
 */
export async function readJobFiles<T>(
  dir: string,
  read: (file: string) => Promise<T | null>,
  log: AgentLog,
  what: string,
): Promise<T[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found: T[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const file = path.join(dir, name);
    const value = await read(file);
    if (value) found.push(value);
    else {
      log(`${what} file ${file} is unreadable; removed`);
      await rm(file, { force: true });
    }
  }
  return found;
}
