import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { newSecret, sha256 } from '../../lib/crypto.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { Usage } from '../../lib/usage.js';
import type { RequestContext, RequestMeta } from '../access/context.js';
import type { AuditLog, AuditScope } from '../audit/audit.service.js';
import { JOB_TOKEN_PREFIX } from '../execution/job-tokens.js';
import {
  robotsRepo,
  type Robot,
  type RobotFilter,
  type RobotKind,
  type RobotRead,
  type RobotStatus,
} from './robots.repo.js';
import type { RobotCreateBody, RobotUpdateBody } from './robots.schemas.js';

export const ROBOT_TOKEN_PREFIX = 'fpr';
export const ROBOT_MACHINE_KEY_PREFIX = 'fprm';

/**
 * How often a runner says it is alive. It is offline after three intervals of silence: read from
 * last_heartbeat_at whenever a robot is read, so no timer writes it and every node agrees.
 */
export const RUNNER_HEARTBEAT_INTERVAL_SECONDS = 60;
const RUNNER_SILENCE_MS = 3 * RUNNER_HEARTBEAT_INTERVAL_SECONDS * 1000;

export interface RobotView {
  id: string;
  name: string;
  description: string;
  kind: RobotKind;
  agent_id: string | null;
  agent_name: string | null;
  pools: string[];
  credential_asset_id: string | null;
  status: RobotStatus;
  current_job_id: string | null;
  last_heartbeat_at: string | null;
  has_token: boolean;
  token_prefix: string | null;
  created_at: string;
  updated_at: string;
}

/** Who a runner's token says it is: what runner routes act as (robotOf(request)). */
export interface RobotIdentity {
  id: string;
  org_id: string;
  name: string;
  kind: RobotKind;
  pools: string[];
  credential_asset_id: string | null;
}

/** What a robot's credential says it is. */
function identityOf(
  robot: Pick<Robot, 'id' | 'org_id' | 'name' | 'kind' | 'pools' | 'credential_asset_id'>,
): RobotIdentity {
  return {
    id: robot.id,
    org_id: robot.org_id,
    name: robot.name,
    kind: robot.kind,
    pools: robot.pools,
    credential_asset_id: robot.credential_asset_id,
  };
}

export function robotView(row: RobotRead): RobotView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    kind: row.kind,
    agent_id: row.agent_id,
    agent_name: row.agent_name,
    pools: row.pools,
    credential_asset_id: row.credential_asset_id,
    status: row.status_now,
    current_job_id: row.current_job_id,
    last_heartbeat_at: row.last_heartbeat_at,
    has_token: row.token_hash !== null,
    token_prefix: row.token_prefix,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/**
 * The robots living on an agent: the agents service asks before deleting one (409 naming them).
 * It reads only the robots' own table, so app.ts wires it without an import cycle.
 */
export const robotAgentUsage: Usage = {
  async usersOf(db, orgId, agentId) {
    const robots = await robotsRepo.namesOnAgent(db, orgId, agentId);
    return robots.map((r) => ({ type: 'robot', id: r.id, name: r.name }));
  },
};

/** The robots that run as a credential asset: the assets service asks before deleting one (409 naming them). */
export const robotCredentialUsage: Usage = {
  async usersOf(db, orgId, assetId) {
    const robots = await robotsRepo.namesWithCredential(db, orgId, assetId);
    return robots.map((r) => ({ type: 'robot', id: r.id, name: r.name }));
  },
};

function nameTaken(name: string): AppError {
  return new AppError('conflict', `a robot named "${name}" exists`, {
    details: [{ field: 'name', message: 'already used in this organisation' }],
  });
}

function unprocessable(field: string, message: string, detail: string): AppError {
  return new AppError('unprocessable', message, { details: [{ field, message: detail }] });
}

function tokenPrefixOf(token: string): string {
  return token.slice(0, ROBOT_TOKEN_PREFIX.length + 9);
}

/**
 * Robots: the unattended identities processes run as. An agent robot lives on one of our agents
 * and is online while that agent is; a runner registers itself with a one-time machine key, then
 * speaks with its robot token (both stored hashed) and is online while its heartbeats come.
 * Either is busy between markBusy and markIdle, which the process engine calls.
 */
export class RobotsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #onHeartbeat: (robotId: string) => Promise<unknown>;
  readonly #jobTokens: (token: string) => Promise<{ orgId: string; robotId: string } | undefined>;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    /** A runner's heartbeat also keeps the leases of the jobs it holds (the execution engine's). */
    onHeartbeat?: (robotId: string) => Promise<unknown>;
    /** The robot a live process job's token acts for (the execution engine's `FP_ROBOT_TOKEN`). */
    jobTokens?: (token: string) => Promise<{ orgId: string; robotId: string } | undefined>;
  }) {
    this.#jobTokens = deps.jobTokens ?? (() => Promise.resolve(undefined));
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#onHeartbeat = deps.onHeartbeat ?? (() => Promise.resolve());
  }

  async create(
    ctx: RequestContext,
    input: RobotCreateBody,
  ): Promise<{ robot: RobotView; machine_key: string | null }> {
    if (input.kind === 'runner' && input.agent_id !== undefined)
      throw unprocessable('agent_id', 'a runner robot lives on no agent', 'only for agent robots');
    if (input.kind === 'agent' && input.agent_id === undefined)
      throw unprocessable('agent_id', 'an agent robot needs its agent', 'required for agent robots');
    const machineKey = input.kind === 'runner' ? newSecret(ROBOT_MACHINE_KEY_PREFIX) : null;
    const now = this.#clock.now().toISOString();
    const row: Robot = {
      id: newId(),
      org_id: ctx.orgId,
      name: input.name,
      description: input.description ?? '',
      kind: input.kind,
      agent_id: input.agent_id ?? null,
      pools: [...new Set(input.pools ?? [])],
      credential_asset_id: input.credential_asset_id ?? null,
      status: 'offline',
      current_job_id: null,
      last_heartbeat_at: null,
      machine_key_hash: machineKey && sha256(machineKey),
      token_prefix: null,
      token_hash: null,
      created_by: ctx.userId,
      created_at: now,
      updated_at: now,
    };
    return inTransaction(this.#db, async (trx) => {
      if (row.agent_id !== null) await this.#requireAgent(trx, ctx.orgId, row.agent_id);
      if (!(await robotsRepo.insert(trx, row))) throw nameTaken(row.name);
      const created = await this.#read(trx, ctx.orgId, row.id);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'robot',
        entityId: row.id,
        after: created,
      });
      return { robot: created, machine_key: machineKey };
    });
  }

  async list(orgId: string, filter: RobotFilter, page: PageParams): Promise<Page<RobotView>> {
    return mapPage(await robotsRepo.list(this.#db, orgId, filter, this.#cutoff(), page), robotView);
  }

  async get(orgId: string, id: string): Promise<RobotView> {
    return this.#read(this.#db, orgId, id);
  }

  /** Whether the organisation has this robot (the assets service keeps a value per robot). */
  async exists(orgId: string, id: string): Promise<boolean> {
    return robotsRepo.exists(this.#db, orgId, id);
  }

  async update(ctx: RequestContext, id: string, input: RobotUpdateBody): Promise<RobotView> {
    return inTransaction(this.#db, async (trx) => {
      const locked = await robotsRepo.lock(trx, ctx.orgId, id);
      if (!locked) throw notFound('robot');
      const before = await this.#read(trx, ctx.orgId, id);
      if (input.agent_id !== undefined) {
        if (locked.kind !== 'agent')
          throw unprocessable('agent_id', 'a runner robot lives on no agent', 'only for agent robots');
        await this.#requireAgent(trx, ctx.orgId, input.agent_id);
      }
      const changed = await robotsRepo.update(trx, ctx.orgId, id, {
        name: input.name,
        description: input.description,
        pools: input.pools && [...new Set(input.pools)],
        credential_asset_id: input.credential_asset_id,
        agent_id: input.agent_id,
        updated_at: this.#clock.now().toISOString(),
      });
      if (!changed) throw nameTaken(input.name ?? locked.name);
      const after = await this.#read(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'robot',
        entityId: id,
        before,
        after,
      });
      return after;
    });
  }

  /** Refused (409) while the robot runs a job: the job would lose the identity it runs as. */
  async remove(ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      if (!(await robotsRepo.lock(trx, ctx.orgId, id))) throw notFound('robot');
      const before = await this.#read(trx, ctx.orgId, id);
      if (before.status === 'busy')
        throw new AppError('conflict', `robot "${before.name}" is running a job`, {
          details: [{ field: 'status', message: 'busy', job_id: before.current_job_id }],
        });
      await robotsRepo.remove(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, { action: 'deleted', entityType: 'robot', entityId: id, before });
    });
  }

  /** A new one-time machine key for a runner; the previous key, if unused, stops working. */
  async issueMachineKey(ctx: RequestContext, id: string): Promise<{ robot: RobotView; machine_key: string }> {
    return inTransaction(this.#db, async (trx) => {
      const locked = await robotsRepo.lock(trx, ctx.orgId, id);
      if (!locked) throw notFound('robot');
      if (locked.kind !== 'runner')
        throw unprocessable(
          'kind',
          'an agent robot runs on its agent and takes no machine key',
          'agent robot',
        );
      const before = await this.#read(trx, ctx.orgId, id);
      const machineKey = newSecret(ROBOT_MACHINE_KEY_PREFIX);
      await robotsRepo.update(trx, ctx.orgId, id, {
        machine_key_hash: sha256(machineKey),
        updated_at: this.#clock.now().toISOString(),
      });
      const after = await this.#read(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'robot',
        entityId: id,
        before,
        after: { ...after, machine_key_issued: true },
      });
      return { robot: after, machine_key: machineKey };
    });
  }

  /** The runner's token stops working at once; it registers again with a new machine key. */
  async revokeToken(ctx: RequestContext, id: string): Promise<RobotView> {
    return inTransaction(this.#db, async (trx) => {
      if (!(await robotsRepo.lock(trx, ctx.orgId, id))) throw notFound('robot');
      const before = await this.#read(trx, ctx.orgId, id);
      if (!before.has_token) return before;
      await robotsRepo.update(trx, ctx.orgId, id, {
        token_hash: null,
        token_prefix: null,
        updated_at: this.#clock.now().toISOString(),
      });
      const after = await this.#read(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'robot',
        entityId: id,
        before,
        after,
      });
      return after;
    });
  }

  /**
   * A runner trades its machine key for a robot token, shown once; the key is consumed. A key
   * unknown, already used, or of a robot of another name all answer the same 401, so a caller
   * learns nothing about which robots exist.
   */
  async register(
    input: { name: string; machine_key: string },
    meta: RequestMeta,
  ): Promise<{ robot_id: string; robot_token: string; heartbeat_interval_seconds: number }> {
    const refused = new AppError('unauthorized', 'the machine key or the robot name is not valid');
    const keyHash = sha256(input.machine_key);
    const token = newSecret(ROBOT_TOKEN_PREFIX);
    const robot = await inTransaction(this.#db, async (trx) => {
      const found = await robotsRepo.findByMachineKeyHash(trx, keyHash);
      if (!found || found.kind !== 'runner' || found.name !== input.name) throw refused;
      const before = await this.#read(trx, found.org_id, found.id);
      const now = this.#clock.now().toISOString();
      if (
        !(await robotsRepo.register(
          trx,
          found.id,
          keyHash,
          { hash: sha256(token), prefix: tokenPrefixOf(token) },
          now,
        ))
      )
        throw refused;
      await this.#audit.record(trx, this.#robotScope(found, meta), {
        action: 'status_changed',
        entityType: 'robot',
        entityId: found.id,
        before,
        after: await this.#read(trx, found.org_id, found.id),
      });
      return found;
    });
    return {
      robot_id: robot.id,
      robot_token: token,
      heartbeat_interval_seconds: RUNNER_HEARTBEAT_INTERVAL_SECONDS,
    };
  }

  /** The runner a robot token belongs to; unknown or revoked tokens are 401. */
  async authenticate(token: string | null): Promise<RobotIdentity> {
    if (token?.startsWith(`${JOB_TOKEN_PREFIX}_`)) return this.#authenticateJob(token);
    if (!token?.startsWith(`${ROBOT_TOKEN_PREFIX}_`))
      throw new AppError('unauthorized', 'a robot token is required: send X-Robot-Token or a bearer token');
    const robot = await robotsRepo.findByTokenHash(this.#db, sha256(token));
    if (!robot) throw new AppError('unauthorized', 'robot token is not valid');
    return identityOf(robot);
  }

  /** A process job's token: its robot, while the job is live. */
  async #authenticateJob(token: string): Promise<RobotIdentity> {
    const holder = await this.#jobTokens(token);
    const robot = holder && (await robotsRepo.get(this.#db, holder.orgId, holder.robotId, this.#cutoff()));
    if (!robot) throw new AppError('unauthorized', 'the job token is not valid, or its job has ended');
    return identityOf(robot);
  }

  /** A runner is alive (and busy, if it says so). Not audited: liveness, many a minute per runner. */
  async heartbeat(
    robot: RobotIdentity,
    status: 'idle' | 'busy' | undefined,
  ): Promise<{ robot_id: string; heartbeat_interval_seconds: number }> {
    const now = this.#clock.now().toISOString();
    await robotsRepo.heartbeat(this.#db, robot.id, status === 'busy' ? 'busy' : 'online', now);
    await this.#onHeartbeat(robot.id);
    return { robot_id: robot.id, heartbeat_interval_seconds: RUNNER_HEARTBEAT_INTERVAL_SECONDS };
  }

  /**
   * The process engine's claim of a robot for a job: false when the robot runs another job (or is
   * not there). Pass the engine's transaction as `db` to claim with the job, atomically.
   */
  markBusy(orgId: string, robotId: string, jobId: string, db: Executor = this.#db): Promise<boolean> {
    return robotsRepo.markBusy(db, orgId, robotId, jobId);
  }

  /** The robot is free again, if it still runs that job (a late word about an older job is ignored). */
  markIdle(orgId: string, robotId: string, jobId: string, db: Executor = this.#db): Promise<boolean> {
    return robotsRepo.markIdle(db, orgId, robotId, jobId);
  }

  /** Every robot of a pool (every robot of the organisation when null), with its status now. */
  async eligibleRobots(orgId: string, pool: string | null, db: Executor = this.#db): Promise<RobotView[]> {
    return (await robotsRepo.inPool(db, orgId, pool, this.#cutoff())).map(robotView);
  }

  /** The robots that live on an agent, with their status now. */
  async robotsOnAgent(agentId: string, db: Executor = this.#db): Promise<RobotView[]> {
    return (await robotsRepo.onAgent(db, agentId, this.#cutoff())).map(robotView);
  }

  async #requireAgent(db: Executor, orgId: string, agentId: string): Promise<void> {
    if (!(await robotsRepo.liveAgent(db, orgId, agentId)))
      throw unprocessable('agent_id', 'the agent does not exist', 'agent not found');
  }

  async #read(db: Executor, orgId: string, id: string): Promise<RobotView> {
    const row = await robotsRepo.get(db, orgId, id, this.#cutoff());
    if (!row) throw notFound('robot');
    return robotView(row);
  }

  /** Heartbeats older than this mean a silent runner: offline. */
  #cutoff(): string {
    return new Date(this.#clock.now().getTime() - RUNNER_SILENCE_MS).toISOString();
  }

  #robotScope(robot: Robot, meta: RequestMeta): AuditScope {
    return { orgId: robot.org_id, actor: { type: 'robot', id: robot.id, label: robot.name }, meta };
  }
}
