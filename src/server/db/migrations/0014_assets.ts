import { sql, type Kysely } from 'kysely';

/**
 * Credential assets: named values (text, integer, boolean, secret, or a username and password)
 * that processes read at run time. An asset holds one global value and any number of per-robot
 * values; every value, whatever its type, is stored sealed (SecretBox).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('assets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('assets_org_name_unique', ['org_id', 'name'])
    .execute();
  await db.schema.createIndex('assets_org_idx').on('assets').columns(['org_id', 'id']).execute();

  await db.schema
    .createTable('asset_values')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('asset_id', 'text', (c) => c.notNull().references('assets.id').onDelete('cascade'))
    // Null: the global value. A robot's value goes with the robot.
    .addColumn('robot_id', 'text', (c) => c.references('robots.id').onDelete('cascade'))
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_by', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('asset_values_asset_robot_unique', ['asset_id', 'robot_id'])
    .execute();
  // Nulls are distinct in a unique constraint (both dialects): this index keeps one global value.
  await db.schema
    .createIndex('asset_values_global_unique')
    .on('asset_values')
    .column('asset_id')
    .unique()
    .where(sql.ref('robot_id'), 'is', null)
    .execute();
  await db.schema.createIndex('asset_values_robot_idx').on('asset_values').column('robot_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['asset_values', 'assets']) await db.schema.dropTable(table).ifExists().execute();
}
