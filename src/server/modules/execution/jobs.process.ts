import type { Interpreter } from '../../../protocol/jobs.js';

/** The languages of a package's entry points; each runs with the interpreter of the same name. */
export const processLanguages = ['python', 'node', 'powershell', 'sh'] as const;
export type ProcessLanguage = (typeof processLanguages)[number];

export function isProcessLanguage(value: string): value is ProcessLanguage {
  return (processLanguages as readonly string[]).includes(value);
}

export function interpreterOf(language: ProcessLanguage): Interpreter {
  return language;
}

/** What a process job runs, recorded on the job (its `process` column) as it was when created. */
export interface ProcessRun {
  process_id: string;
  process_name: string;
  process_version: number;
  package_id: string;
  package_name: string;
  package_version: string;
  package_hash: string;
  entry_point_name: string;
  /** The entry point's path inside the package. */
  entry_point: string;
  language: ProcessLanguage;
  input: unknown;
  /** The credential assets the process declares: only these reach its job. */
  assets: string[];
  /** A retry: the first job of its chain, and how many failed before it (absent on a first job). */
  retry_of?: string;
  retry_number?: number;
  /** The queue whose trigger started it. */
  queue_id?: string;
}

/** A robot a process job is placed on. */
export interface RobotRef {
  id: string;
  name: string;
  /** Null for a runner robot (it claims its jobs over the runner API). */
  agent_id: string | null;
  pools: string[];
}

/** A process job to create: for one robot, or for any robot of a pool (null: any robot). */
export interface ProcessJobInput {
  run: ProcessRun;
  target: { robot: RobotRef } | { robot_pool: string | null };
  timeout_seconds: number;
  max_attempts: number;
  /** Environment the process gets besides its files (a trigger's FP_QUEUE_ID). */
  env?: Record<string, string>;
}

/** The pool of a pooled process job: any robot in `robot_pool` (any robot at all when null). */
export interface RobotPool {
  robot_pool: string | null;
}

export function isRobotPool(pool: unknown): pool is RobotPool {
  return typeof pool === 'object' && pool !== null && 'robot_pool' in pool;
}

export function robotInPool(robot: { pools: readonly string[] }, pool: RobotPool): boolean {
  return pool.robot_pool === null || robot.pools.includes(pool.robot_pool);
}

/**
 * What the engine asks of robots, wired in app.ts (the robots and assets modules answer): which
 * idle robots an agent hosts, seating a robot on a job and freeing it, and what its job opens.
 */
export interface RobotSeats {
  idleOnAgent(agentId: string): Promise<{ id: string; pools: string[] }[]>;
  /** The agents hosting robots of the pool (of any robot when null), to wake for its work. */
  agentsFor(orgId: string, robotPool: string | null): Promise<string[]>;
  /** False when the robot is already busy with another job. */
  occupy(orgId: string, robotId: string, jobId: string): Promise<boolean>;
  /** Frees the robot, if it is still seated on that job. */
  release(orgId: string, robotId: string, jobId: string): Promise<unknown>;
  /** The robot's name, the OS user its credential names, and the declared assets' values. */
  open(
    orgId: string,
    robotId: string,
    assetNames: readonly string[],
  ): Promise<{ robot_name: string; run_as_user: string | null; assets: Record<string, unknown> }>;
}

/** Until robots are wired: no robot hosted anywhere, and nothing to open. */
export const noRobotSeats: RobotSeats = {
  idleOnAgent: () => Promise.resolve([]),
  agentsFor: () => Promise.resolve([]),
  occupy: () => Promise.resolve(true),
  release: () => Promise.resolve(),
  open: () => Promise.reject(new Error('no robots are wired')),
};
