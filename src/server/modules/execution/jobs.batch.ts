import { isDatabaseUnavailable } from '../../db/availability.js';
import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { TickBatch } from '../../lib/tick-batch.js';
import { jobsBatchRepo, type JobMove, type OutputBytes } from './jobs.batch.repo.js';
import type { AgentJob, OutputRow } from './jobs.rows.js';

/** Rows per statement: the widest (an output chunk, a claim's returned rows) stays far under the parameter limits. */
const MAX_BATCH = 500;
/**
 * Statements of one kind under way at once. PostgreSQL gets two of its pool's connections for
 * each; SQLite runs them one after another anyway. What arrives meanwhile waits for the next.
 */
const MAX_IN_FLIGHT = 2;
/** Jobs an agent is handed per claim. */
const CLAIM_LIMIT = 100;
/**
 * Agents per claim statement: a fan-out's claims are its first wave, and its last delivery waits
 * for the last of them (one parameter on PostgreSQL, an id each on SQLite).
 */
const MAX_CLAIM_BATCH = 2000;

/**
 * The agent paths' reads and writes of jobs, batched: the calls made in one turn of the event
 * loop (every socket read in one poll) share one statement per kind (jobs.batch.repo.ts). Each
 * call still answers for itself, as the one-row statement it replaces would: a fan-out to ten
 * thousand agents claims, acknowledges and finishes their jobs in tens of statements, not tens
 * of thousands. Outside a database outage, a failed batch is tried again call by call, so a bad
 * row fails alone.
 */
export class JobBatches {
  /** A job as its agent sees it, or undefined. */
  readonly load: TickBatch<{ agentId: string; id: string }, AgentJob | undefined>;
  /** Whether the job moved (see jobsRepo.transition). */
  readonly move: TickBatch<JobMove, boolean>;
  /** The jobs leased to this agent now, up to CLAIM_LIMIT. */
  readonly claim: TickBatch<string, AgentJob[]>;
  /** Whether the chunk was new. */
  readonly output: TickBatch<OutputRow, boolean>;
  readonly outputBytes: TickBatch<OutputBytes, undefined>;

  constructor(deps: { db: Executor; clock: Clock; leaseMs: number }) {
    const { db, clock, leaseMs } = deps;
    const options = {
      maxSize: MAX_BATCH,
      maxInFlight: MAX_IN_FLIGHT,
      retryAlone: (error: unknown) => !isDatabaseUnavailable(error),
    };
    this.load = new TickBatch((keys) => jobsBatchRepo.getForAgents(db, keys), options);
    this.move = new TickBatch((moves) => jobsBatchRepo.transition(db, moves), {
      ...options,
      keyOf: (move) => move.id,
    });
    this.claim = new TickBatch(
      async (agentIds) => {
        const now = clock.now();
        const leased = await jobsBatchRepo.claimForAgents(db, {
          agentIds,
          limit: CLAIM_LIMIT,
          now: now.toISOString(),
          leaseExpiresAt: new Date(now.getTime() + leaseMs).toISOString(),
        });
        const byAgent = new Map<string, AgentJob[]>(agentIds.map((id) => [id, []]));
        for (const job of leased.sort((a, b) => (a.id < b.id ? -1 : 1))) byAgent.get(job.agent_id)?.push(job);
        return agentIds.map((id) => byAgent.get(id) ?? []);
      },
      { ...options, maxSize: MAX_CLAIM_BATCH, keyOf: (agentId) => agentId },
    );
    this.output = new TickBatch((chunks) => jobsBatchRepo.insertOutput(db, chunks), {
      ...options,
      keyOf: (chunk) => `${chunk.job_id}/${chunk.attempt}/${chunk.seq}`,
    });
    this.outputBytes = new TickBatch(
      async (adds) => {
        await jobsBatchRepo.addOutputBytes(db, adds);
        return adds.map(() => undefined);
      },
      { ...options, keyOf: (add) => add.id },
    );
  }
}
