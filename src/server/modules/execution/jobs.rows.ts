import type { JobOutputTable, JobsTable } from '../../db/schema.js';
import type { RobotPool } from './jobs.process.js';
import type { PoolSelector } from './jobs.schemas.js';

/** A job as services see it: its JSON columns and 0/1 flags decoded (the table's row stays here). */
export interface JobRow extends Omit<
  JobsTable,
  'env' | 'secret_env' | 'pool' | 'admitted' | 'output_truncated'
> {
  /** Values under secret-looking names sealed. */
  env: Record<string, string>;
  /** Every value sealed. */
  secret_env: Record<string, string>;
  pool: PoolSelector | RobotPool | null;
  /** False while a run holds the job back for its concurrency limit. */
  admitted: boolean;
  output_truncated: boolean;
}
/** A job handed to an agent (every job but a pooled one still waiting). */
export type AgentJob = JobRow & { agent_id: string };

export function jobOf<T extends JobsTable>(row: T): Omit<T, keyof JobRow> & JobRow & Pick<T, 'agent_id'> {
  return {
    ...row,
    env: JSON.parse(row.env) as Record<string, string>,
    secret_env: JSON.parse(row.secret_env) as Record<string, string>,
    pool: row.pool === null ? null : (JSON.parse(row.pool) as PoolSelector | RobotPool),
    admitted: row.admitted === 1,
    output_truncated: row.output_truncated === 1,
  };
}

export function rowOf(job: JobRow): JobsTable {
  return {
    ...job,
    env: JSON.stringify(job.env),
    secret_env: JSON.stringify(job.secret_env),
    pool: job.pool === null ? null : JSON.stringify(job.pool),
    admitted: job.admitted ? 1 : 0,
    output_truncated: job.output_truncated ? 1 : 0,
  };
}

export type OutputRow = JobOutputTable;
