import { sql, type RawBuilder } from 'kysely';
import { jobTransitions, statusesLeadingTo, type JobStatus } from '../../../protocol/jobs.js';
import { capsOf, type Executor } from '../../db/executor.js';
import type { JobsTable } from '../../db/schema.js';
import { jobOf, type AgentJob, type OutputRow } from './jobs.rows.js';

/**
 * The jobs table for many jobs at once: the statements behind JobBatches (jobs.batch.ts), each
 * doing for a batch of calls what jobsRepo does for one. Per-row values travel as a VALUES list
 * joined to the table (UPDATE … FROM: SQLite ≥ 3.33 and PostgreSQL alike).
 */

/** `jobsRepo.transition` of one job: to `to`, from any status the table allows or only from `seen`. */
export interface JobMove {
  id: string;
  to: JobStatus;
  /** Plain columns only: the JSON ones and the flags are written by their own statements. */
  changes: Partial<
    Omit<
      JobsTable,
      | 'id'
      | 'org_id'
      | 'agent_id'
      | 'status'
      | 'env'
      | 'secret_env'
      | 'pool'
      | 'admitted'
      | 'output_truncated'
    >
  >;
  seen?: JobStatus;
}

export interface OutputBytes {
  id: string;
  bytes: number;
  truncated: boolean;
}

/**
 * Integer columns: their values are cast in a VALUES list, since PostgreSQL types an untyped
 * parameter there as text (and an all-null column too), which an integer column refuses.
 */
const INTEGER_COLUMNS: ReadonlySet<string> = new Set([
  'script_version',
  'timeout_seconds',
  'admitted',
  'attempt',
  'max_attempts',
  'exit_code',
  'duration_ms',
  'output_bytes',
  'output_cap_bytes',
  'output_truncated',
  'task_index',
]);

function cell(column: string, value: unknown): RawBuilder<unknown> {
  return INTEGER_COLUMNS.has(column) ? sql`cast(${value} as integer)` : sql`${value}`;
}

/** The changed columns of a move, in a set order; a column left undefined is not written (as Kysely's set()). */
function columnsOf(move: JobMove): string[] {
  const columns: string[] = [];
  for (const [column, value] of Object.entries(move.changes)) if (value !== undefined) columns.push(column);
  return columns.sort();
}

/** Parameters per statement at most: well under SQLite's 32,766 and PostgreSQL's 65,535. */
const MAX_PARAMETERS = 20_000;

export const jobsBatchRepo = {
  /**
   * Inserts jobs (`jobsRepo.insert`), each statement sending once the values all its rows share:
   * a fan-out's rows differ in their id and agent, so ten thousand cost a statement of a few
   * parameters per row, not 35. The rows must have the same columns.
   */
  async insert(db: Executor, jobs: readonly JobsTable[]): Promise<void> {
    const columns = Object.keys(jobs[0] ?? {}) as (keyof JobsTable)[];
    const varying = (rows: readonly JobsTable[]) =>
      columns.filter((column) => rows.some((job) => job[column] !== rows[0]![column]));
    let i = 0;
    while (i < jobs.length) {
      // As many rows as 20,000 parameters hold, counting the columns that vary among them.
      let chunk = jobs.slice(i);
      let differ = varying(chunk);
      while (chunk.length > 1 && (differ.length + 1) * chunk.length > MAX_PARAMETERS) {
        chunk = chunk.slice(0, Math.max(1, Math.floor(MAX_PARAMETERS / (differ.length + 1))));
        differ = varying(chunk);
      }
      i += chunk.length;
      const first = chunk[0]!;
      const shared = columns.filter((column) => !differ.includes(column));
      const names = sql.join([...differ, ...shared].map((column) => sql.id(column)));
      const picked = sql.join([
        ...differ.map((column) => sql`v.${sql.id(column)}`),
        ...shared.map((column) => cell(column, first[column])),
      ]);
      if (differ.length === 0) {
        await sql`insert into jobs (${names}) select ${picked}`.execute(db);
        continue;
      }
      const rows = sql.join(
        chunk.map((job) => sql`(${sql.join(differ.map((column) => cell(column, job[column])))})`),
      );
      await sql`
        with v(${sql.join(differ.map((column) => sql.id(column)))}) as (values ${rows})
        insert into jobs (${names}) select ${picked} from v`.execute(db);
    }
  },

  /** Each job as its agent sees it (`jobsRepo.getForAgent`), undefined where it is not that agent's. */
  async getForAgents(
    db: Executor,
    keys: readonly { agentId: string; id: string }[],
  ): Promise<(AgentJob | undefined)[]> {
    if (keys.length === 0) return [];
    const rows = await db
      .selectFrom('jobs')
      .selectAll()
      .where(
        'id',
        'in',
        keys.map((key) => key.id),
      )
      .execute();
    const byId = new Map(rows.map((row) => [row.id, row]));
    return keys.map((key) => {
      const row = byId.get(key.id);
      return row?.agent_id === key.agentId ? { ...jobOf(row), agent_id: key.agentId } : undefined;
    });
  },

  /**
   * Moves jobs as `jobsRepo.transition` moves one, one statement per kind of move (target,
   * `seen`, columns written); answers, per move, whether its job moved. The ids must differ.
   */
  async transition(db: Executor, moves: readonly JobMove[]): Promise<boolean[]> {
    const kinds = new Map<string, JobMove[]>();
    for (const move of moves) {
      const kind = `${move.to}|${move.seen ?? ''}|${columnsOf(move).join(',')}`;
      const group = kinds.get(kind);
      if (group) group.push(move);
      else kinds.set(kind, [move]);
    }
    const moved = new Set<string>();
    for (const group of kinds.values()) {
      const first = group[0]!;
      const columns = columnsOf(first);
      const from = statusesLeadingTo(
        jobTransitions,
        first.to,
        first.seen === undefined ? undefined : [first.seen],
      );
      const names = sql.join([sql.id('id'), ...columns.map((column) => sql.id(column))]);
      const rows = sql.join(
        group.map(
          (move) =>
            sql`(${sql.join([
              sql`${move.id}`,
              ...columns.map((column) => cell(column, move.changes[column as keyof JobMove['changes']])),
            ])})`,
        ),
      );
      const sets = sql.join([
        sql`status = ${first.to}`,
        ...columns.map((column) => sql`${sql.id(column)} = v.${sql.id(column)}`),
      ]);
      const result = await sql<{ id: string }>`
        with v(${names}) as (values ${rows})
        update jobs set ${sets}
        from v
        where jobs.id = v.id and jobs.status in (${sql.join(from)})
        returning jobs.id`.execute(db);
      for (const row of result.rows) moved.add(row.id);
    }
    return moves.map((move) => moved.has(move.id));
  },

  /**
   * Leases up to `limit` admitted queued jobs of each agent, oldest first, in one statement. On PostgreSQL each agent's rows are picked through its claim index
   * and locked with SKIP LOCKED, so two nodes never lease the same job; SQLite serialises
   * writers, and a window function keeps each agent to its limit. Answers the leased jobs of all.
   */
  claimForAgents(
    db: Executor,
    input: {
      agentIds: readonly string[];
      limit: number;
      now: string;
      leaseExpiresAt: string;
    },
  ): Promise<AgentJob[]> {
    if (input.agentIds.length === 0) return Promise.resolve([]);
    const from = statusesLeadingTo(jobTransitions, 'dispatched', ['queued']);
    let claim = db
      .updateTable('jobs')
      .set((eb) => ({
        status: 'dispatched',
        attempt: eb('attempt', '+', 1),
        dispatched_at: input.now,
        lease_expires_at: input.leaseExpiresAt,
        updated_at: input.now,
      }))
      .where('status', 'in', from);
    if (capsOf(db).skipLocked) {
      claim = claim.where(
        'id',
        'in',
        sql<string>`(
          select j.id from unnest(cast(${[...input.agentIds]} as text[])) as a(agent_id)
          cross join lateral (
            select id from jobs
            where jobs.agent_id = a.agent_id and jobs.status in (${sql.join(from)}) and jobs.admitted = 1
            order by id limit ${input.limit}
            for update skip locked
          ) as j)`,
      );
    } else {
      const ranked = db
        .selectFrom('jobs')
        .select(['id', sql<number>`row_number() over (partition by agent_id order by id)`.as('n')])
        .where('agent_id', 'in', input.agentIds)
        .where('status', 'in', from)
        .where('admitted', '=', 1)
        .as('ranked');
      claim = claim.where(
        'id',
        'in',
        db.selectFrom(ranked).select('ranked.id').where('ranked.n', '<=', input.limit),
      );
    }
    return claim
      .returningAll()
      .$narrowType<{ agent_id: string }>()
      .execute()
      .then((rows) => rows.map(jobOf));
  },

  /** Stores output chunks once each; answers, per chunk, whether it was new. The keys must differ. */
  async insertOutput(db: Executor, chunks: readonly OutputRow[]): Promise<boolean[]> {
    if (chunks.length === 0) return [];
    const key = (c: Pick<OutputRow, 'job_id' | 'attempt' | 'seq'>) => `${c.job_id}/${c.attempt}/${c.seq}`;
    const inserted = await db
      .insertInto('job_output')
      .values([...chunks])
      .onConflict((oc) => oc.columns(['job_id', 'attempt', 'seq']).doNothing())
      .returning(['job_id', 'attempt', 'seq'])
      .execute();
    const stored = new Set(inserted.map(key));
    return chunks.map((chunk) => stored.has(key(chunk)));
  },

  /** `jobsRepo.addOutputBytes` for many jobs; the ids must differ. */
  async addOutputBytes(db: Executor, adds: readonly OutputBytes[]): Promise<void> {
    if (adds.length === 0) return;
    const rows = sql.join(
      adds.map(
        (add) => sql`(${add.id}, cast(${add.bytes} as integer), cast(${add.truncated ? 1 : 0} as integer))`,
      ),
    );
    await sql`
      with v(id, bytes, truncated) as (values ${rows})
      update jobs
      set output_bytes = jobs.output_bytes + v.bytes,
          output_truncated = case when v.truncated = 1 then 1 else jobs.output_truncated end
      from v
      where jobs.id = v.id`.execute(db);
  },
};
