import type { Kysely } from 'kysely';

/**
 * Process jobs are jobs of kind `process`: they record the robot that runs them, the process and
 * what it ran (`process`: the process version, package version and hash, entry point and input)
 * and the JSON result the process wrote. A job for any robot of a pool is a pooled job whose pool
 * names the robot pool; the robot is set when one claims it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('robot_id', 'text').execute();
  await db.schema.alterTable('jobs').addColumn('process_id', 'text').execute();
  await db.schema.alterTable('jobs').addColumn('process', 'text').execute();
  await db.schema.alterTable('jobs').addColumn('result', 'text').execute();
  await db.schema.createIndex('jobs_process_idx').on('jobs').columns(['process_id', 'status']).execute();
  await db.schema.createIndex('jobs_robot_idx').on('jobs').columns(['robot_id', 'status']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('jobs_robot_idx').ifExists().execute();
  await db.schema.dropIndex('jobs_process_idx').ifExists().execute();
  for (const column of ['result', 'process', 'process_id', 'robot_id'])
    await db.schema.alterTable('jobs').dropColumn(column).execute();
}
