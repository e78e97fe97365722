import { sql, type RawBuilder } from 'kysely';
import { capsOf, type Executor } from '../../db/executor.js';
import type { RobotsTable } from '../../db/schema.js';
import { containsText, hasJsonTag, unlessTaken } from '../../db/search.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';

type RobotRow = RobotsTable;

export type RobotKind = 'agent' | 'runner';
export type RobotStatus = 'online' | 'offline' | 'busy';

/** A stored robot, its pools decoded. */
export interface Robot extends Omit<RobotRow, 'pools' | 'kind'> {
  kind: RobotKind;
  pools: string[];
}

/** A robot as read: with its agent's name, and its status as it is now (see statusNow). */
export interface RobotRead extends Robot {
  agent_name: string | null;
  status_now: RobotStatus;
}

export interface RobotFilter {
  text?: string;
  status?: RobotStatus;
  kind?: RobotKind;
  pool?: string;
  agentId?: string;
}

export type RobotChanges = Partial<
  Pick<
    Robot,
    | 'name'
    | 'description'
    | 'agent_id'
    | 'pools'
    | 'credential_asset_id'
    | 'machine_key_hash'
    | 'token_prefix'
    | 'token_hash'
    | 'last_heartbeat_at'
    | 'status'
    | 'updated_at'
  >
>;

function decode(row: RobotRow): Robot {
  return { ...row, kind: row.kind as RobotKind, pools: JSON.parse(row.pools) as string[] };
}

function encode(robot: Robot): RobotRow {
  return { ...robot, pools: JSON.stringify(robot.pools) };
}

/**
 * The one rule for a robot's status, in SQL so that lists filter on it: an agent robot is live
 * while its agent is online; a runner while it has sent a heartbeat since `heartbeatCutoff`
 * (silence is read as offline when asked, so no timer ever writes it). A live robot running a
 * job, or a runner saying so, is busy. Nothing is stored twice: the agent's status stays the
 * agent's.
 */
function statusNow(heartbeatCutoff: string): RawBuilder<RobotStatus> {
  return sql<RobotStatus>`case
    when (robots.kind = 'agent' and agents.status = 'online')
      or (robots.kind = 'runner' and robots.last_heartbeat_at >= ${heartbeatCutoff})
    then case when robots.current_job_id is not null or robots.status = 'busy' then 'busy' else 'online' end
    else 'offline' end`;
}

function readQuery(db: Executor, heartbeatCutoff: string) {
  // The agent's name and status are read through the join, never copied onto the robot.
  return db
    .selectFrom('robots')
    .leftJoin('agents', 'agents.id', 'robots.agent_id')
    .selectAll('robots')
    .select(['agents.name as agent_name', statusNow(heartbeatCutoff).as('status_now')]);
}

function decodeRead(row: RobotRow & { agent_name: string | null; status_now: RobotStatus }): RobotRead {
  return { ...decode(row), agent_name: row.agent_name, status_now: row.status_now };
}

export const robotsRepo = {
  /** False when the organisation already has a robot of that name. */
  insert(db: Executor, robot: Robot): Promise<boolean> {
    return unlessTaken(db.insertInto('robots').values(encode(robot)).execute());
  },

  async get(
    db: Executor,
    orgId: string,
    id: string,
    heartbeatCutoff: string,
  ): Promise<RobotRead | undefined> {
    const row = await readQuery(db, heartbeatCutoff)
      .where('robots.org_id', '=', orgId)
      .where('robots.id', '=', id)
      .executeTakeFirst();
    return row && decodeRead(row);
  },

  async exists(db: Executor, orgId: string, id: string): Promise<boolean> {
    const row = await db
      .selectFrom('robots')
      .select('id')
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row !== undefined;
  },

  /** Reads a robot for a change; with row locks (PostgreSQL) a concurrent change waits. */
  async lock(db: Executor, orgId: string, id: string): Promise<Robot | undefined> {
    let q = db.selectFrom('robots').selectAll().where('org_id', '=', orgId).where('id', '=', id);
    if (capsOf(db).rowLocks) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    return row && decode(row);
  },

  async list(
    db: Executor,
    orgId: string,
    filter: RobotFilter,
    heartbeatCutoff: string,
    page: PageParams,
  ): Promise<Page<RobotRead>> {
    let q = readQuery(db, heartbeatCutoff).where('robots.org_id', '=', orgId);
    if (filter.kind) q = q.where('robots.kind', '=', filter.kind);
    if (filter.agentId) q = q.where('robots.agent_id', '=', filter.agentId);
    const { pool, text, status } = filter;
    if (pool) q = q.where((eb) => hasJsonTag(eb.ref('robots.pools'), pool));
    if (text) q = q.where((eb) => containsText([eb.ref('robots.name')], text, capsOf(db).ilike));
    if (status) q = q.where(statusNow(heartbeatCutoff), '=', status);
    return mapPage(await paginate(q, 'robots.id', page), decodeRead);
  },

  /** Every robot of the organisation (of one pool when given), newest first. */
  async inPool(
    db: Executor,
    orgId: string,
    pool: string | null,
    heartbeatCutoff: string,
  ): Promise<RobotRead[]> {
    let q = readQuery(db, heartbeatCutoff).where('robots.org_id', '=', orgId);
    if (pool !== null) q = q.where((eb) => hasJsonTag(eb.ref('robots.pools'), pool));
    return (await q.orderBy('robots.id', 'desc').execute()).map(decodeRead);
  },

  async onAgent(db: Executor, agentId: string, heartbeatCutoff: string): Promise<RobotRead[]> {
    const rows = await readQuery(db, heartbeatCutoff)
      .where('robots.agent_id', '=', agentId)
      .orderBy('robots.id', 'desc')
      .execute();
    return rows.map(decodeRead);
  },

  /** The robots that live on an agent, for the agent's delete (names only). */
  namesOnAgent(db: Executor, orgId: string, agentId: string): Promise<{ id: string; name: string }[]> {
    return db
      .selectFrom('robots')
      .select(['id', 'name'])
      .where('org_id', '=', orgId)
      .where('agent_id', '=', agentId)
      .orderBy('name')
      .execute();
  },

  /** The robots that run as a credential asset, for the asset's delete (names only). */
  namesWithCredential(db: Executor, orgId: string, assetId: string): Promise<{ id: string; name: string }[]> {
    return db
      .selectFrom('robots')
      .select(['id', 'name'])
      .where('org_id', '=', orgId)
      .where('credential_asset_id', '=', assetId)
      .orderBy('name')
      .execute();
  },

  /**
   * A live (not deleted) agent of the organisation that a robot may live on. Read here, in the
   * robot's transaction and locked against a concurrent delete (the agent's delete takes the row
   * first, then asks who uses it), so no robot is ever created on an agent being deleted.
   */
  async liveAgent(
    db: Executor,
    orgId: string,
    agentId: string,
  ): Promise<{ id: string; name: string } | undefined> {
    let q = db
      .selectFrom('agents')
      .select(['id', 'name'])
      .where('org_id', '=', orgId)
      .where('id', '=', agentId)
      .where('deleted_at', 'is', null);
    if (capsOf(db).rowLocks) q = q.forShare();
    return q.executeTakeFirst();
  },

  /** False when a rename takes a name the organisation already uses. */
  update(db: Executor, orgId: string, id: string, changes: RobotChanges): Promise<boolean> {
    const { pools, ...rest } = changes;
    const row: Partial<RobotRow> = {
      ...rest,
      ...(pools === undefined ? {} : { pools: JSON.stringify(pools) }),
    };
    return unlessTaken(
      db.updateTable('robots').set(row).where('org_id', '=', orgId).where('id', '=', id).execute(),
    );
  },

  remove(db: Executor, orgId: string, id: string): Promise<unknown> {
    return db.deleteFrom('robots').where('org_id', '=', orgId).where('id', '=', id).execute();
  },

  async findByMachineKeyHash(db: Executor, keyHash: string): Promise<Robot | undefined> {
    const row = await db
      .selectFrom('robots')
      .selectAll()
      .where('machine_key_hash', '=', keyHash)
      .executeTakeFirst();
    return row && decode(row);
  },

  async findByTokenHash(db: Executor, tokenHash: string): Promise<Robot | undefined> {
    const row = await db
      .selectFrom('robots')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return row && decode(row);
  },

  /**
   * Trades the machine key for a token, once: the update matches only while the key is still the
   * robot's, so of two registrations racing with one key one wins.
   */
  async register(
    db: Executor,
    id: string,
    keyHash: string,
    token: { hash: string; prefix: string },
    now: string,
  ): Promise<boolean> {
    const result = await db
      .updateTable('robots')
      .set({
        machine_key_hash: null,
        token_hash: token.hash,
        token_prefix: token.prefix,
        last_heartbeat_at: now,
        status: 'online',
        updated_at: now,
      })
      .where('id', '=', id)
      .where('machine_key_hash', '=', keyHash)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  async heartbeat(db: Executor, id: string, status: 'online' | 'busy', now: string): Promise<void> {
    await db.updateTable('robots').set({ last_heartbeat_at: now, status }).where('id', '=', id).execute();
  },

  /** Busy with a job, when idle: false when the robot runs another job already (or is not there). */
  async markBusy(db: Executor, orgId: string, id: string, jobId: string): Promise<boolean> {
    const result = await db
      .updateTable('robots')
      .set({ status: 'busy', current_job_id: jobId })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('current_job_id', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },

  /** Idle again, only if it still runs that job: a late word about an older job changes nothing. */
  async markIdle(db: Executor, orgId: string, id: string, jobId: string): Promise<boolean> {
    const result = await db
      .updateTable('robots')
      .set({ status: 'online', current_job_id: null })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('current_job_id', '=', jobId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  },
};
