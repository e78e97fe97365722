import { sql, type Kysely } from 'kysely';

/** The columns of a rolled-up bucket of one agent: sums and counts give exact averages when rolled up again. */
const AGGREGATES = [
  'cpu_sum',
  'cpu_max',
  'memory_sum',
  'memory_max',
  'disk_sum',
  'disk_max',
  'uptime_max',
] as const;

async function agentBuckets(db: Kysely<unknown>, table: string): Promise<void> {
  let create = db.schema
    .createTable(table)
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('bucket', 'text', (c) => c.notNull())
    .addColumn('samples', 'integer', (c) => c.notNull());
  for (const column of AGGREGATES) create = create.addColumn(column, 'double precision', (c) => c.notNull());
  await create.addPrimaryKeyConstraint(`${table}_pk`, ['agent_id', 'bucket']).execute();
  // The next step up and the purge read a range of buckets across agents.
  await db.schema.createIndex(`${table}_bucket_idx`).on(table).column('bucket').execute();
}

async function fleetBuckets(db: Kysely<unknown>, table: string): Promise<void> {
  let create = db.schema
    .createTable(table)
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('bucket', 'text', (c) => c.notNull())
    // Agents heard in each minute of the bucket, summed: the uptime percentage's numerator.
    .addColumn('agent_minutes', 'integer', (c) => c.notNull())
    .addColumn('samples', 'integer', (c) => c.notNull());
  for (const column of AGGREGATES) create = create.addColumn(column, 'double precision', (c) => c.notNull());
  await create.addPrimaryKeyConstraint(`${table}_pk`, ['org_id', 'bucket']).execute();
  await db.schema.createIndex(`${table}_bucket_idx`).on(table).column('bucket').execute();
}

async function outcomeBuckets(db: Kysely<unknown>, table: string): Promise<void> {
  await db.schema
    .createTable(table)
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('bucket', 'text', (c) => c.notNull())
    // job | run
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint(`${table}_pk`, ['org_id', 'bucket', 'kind', 'outcome'])
    .execute();
  await db.schema.createIndex(`${table}_bucket_idx`).on(table).column('bucket').execute();
}

/**
 * Metrics history. Every heartbeat's metrics become a raw point (written with the heartbeats of
 * its flush, one statement per chunk), kept a short while; a rollup, run once across nodes, folds
 * closed minutes into per-agent 1-minute buckets and per-organisation fleet buckets (with the jobs
 * and runs that ended in them), then closed hours into 1-hour buckets, each step one
 * INSERT … SELECT … GROUP BY from its watermark in `metric_rollups`. The fleet overview reads
 * only fleet buckets: a few hundred rows whatever the fleet's size. No foreign keys: the heartbeat
 * path writes thousands of points a second, and retention removes what an organisation leaves.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  let points = db.schema
    .createTable('metric_points')
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull());
  for (const column of ['cpu', 'memory', 'disk', 'uptime'])
    points = points.addColumn(column, 'double precision', (c) => c.notNull());
  // Keys the agent sends beyond the four known ones, as JSON: kept raw, not rolled up.
  await points.addColumn('extra', 'text').execute();
  await db.schema
    .createIndex('metric_points_agent_idx')
    .on('metric_points')
    .columns(['agent_id', 'at'])
    .execute();
  await db.schema.createIndex('metric_points_at_idx').on('metric_points').column('at').execute();

  await agentBuckets(db, 'agent_metrics_1m');
  await agentBuckets(db, 'agent_metrics_1h');
  await fleetBuckets(db, 'fleet_metrics_1m');
  await fleetBuckets(db, 'fleet_metrics_1h');
  await outcomeBuckets(db, 'fleet_outcomes_1m');
  await outcomeBuckets(db, 'fleet_outcomes_1h');

  await db.schema
    .createTable('metric_rollups')
    .addColumn('step', 'text', (c) => c.primaryKey())
    // Everything before it is rolled up: the start of the first bucket not yet done.
    .addColumn('watermark', 'text', (c) => c.notNull())
    .execute();

  // The rollup counts jobs and runs that ended since its watermark; the overview counts runs in
  // progress and deployments by status: none of them may scan a big table.
  await sql`create index jobs_finished_idx on jobs (finished_at) where finished_at is not null`.execute(db);
  await sql`create index runs_finished_idx on runs (finished_at) where finished_at is not null`.execute(db);
  await sql`create index runs_running_idx on runs (org_id) where status = 'running'`.execute(db);
  await db.schema
    .createIndex('deployments_org_status_idx')
    .on('deployments')
    .columns(['org_id', 'status'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('deployments_org_status_idx').ifExists().execute();
  await db.schema.dropIndex('runs_running_idx').ifExists().execute();
  await db.schema.dropIndex('runs_finished_idx').ifExists().execute();
  await db.schema.dropIndex('jobs_finished_idx').ifExists().execute();
  for (const table of [
    'metric_rollups',
    'fleet_outcomes_1h',
    'fleet_outcomes_1m',
    'fleet_metrics_1h',
    'fleet_metrics_1m',
    'agent_metrics_1h',
    'agent_metrics_1m',
    'metric_points',
  ])
    await db.schema.dropTable(table).ifExists().execute();
}
