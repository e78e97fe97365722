import type { AgentFacts, AgentMetrics } from '../../../protocol/agent.js';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { newSecret, sha256 } from '../../lib/crypto.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import { assertUnused, type Usage } from '../../lib/usage.js';
import type { EventBus } from '../../realtime/events.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog, AuditScope } from '../audit/audit.service.js';
import { requireProfile } from '../profiles/profiles.service.js';
import { agentsRepo, type Agent, type AgentFilter, type TargetSelector } from './agents.repo.js';
import type { AgentStatus, AgentSummary } from './agents.schemas.js';
import { groupsRepo } from './groups.repo.js';
import { requireGroup } from './groups.service.js';

export const MACHINE_KEY_PREFIX = 'fpm';

/** What deleting an agent needs from the jobs module: an uninstall job, queued in the same transaction. */
export interface AgentUninstaller {
  enqueueUninstall(trx: Executor, scope: AuditScope, agent: Agent, reason: string): Promise<void>;
  /** A deleted agent that registers again keeps its machine: its pending uninstall is canceled. */
  cancelUninstalls(trx: Executor, agentId: string, now: string): Promise<void>;
}

export interface AgentView {
  id: string;
  name: string;
  hostname: string;
  os_type: string;
  os_version: string;
  arch: string;
  ip: string | null;
  agent_version: string | null;
  interpreters: string[];
  tags: string[];
  group_id: string | null;
  notes: string;
  status: AgentStatus;
  connected: boolean;
  last_seen_at: string | null;
  metrics: AgentMetrics | null;
  system_info: Record<string, unknown> | null;
  enrolled_via: string | null;
  /** The deployment profile assigned to the agent. */
  profile_id: string | null;
  created_at: string;
  updated_at: string;
}

/** What a request for fresh facts answers: how the agent hears it. */
export interface FactsRequest {
  agent_id: string;
  requested_at: string;
  delivery: 'websocket' | 'next_heartbeat';
}

function statusOf(status: string): AgentStatus {
  return status === 'online' || status === 'offline' ? status : 'pending';
}

/** Agents by state, for the system summary. */
export function countAgents(db: Executor, orgId: string) {
  return agentsRepo.countByState(db, orgId);
}

/** Live agents by the version they last reported (agent updates' status). */
export function countAgentVersions(db: Executor, orgId: string) {
  return agentsRepo.countByVersion(db, orgId);
}

/** Assigns a profile to an agent (a group's auto profile on enrollment), audited. */
export async function assignProfile(
  trx: Executor,
  audit: AuditLog,
  change: {
    scope: AuditScope;
    agent: Pick<Agent, 'org_id' | 'id' | 'profile_id'>;
    profileId: string;
    now: string;
  },
): Promise<void> {
  const { scope, agent, profileId, now } = change;
  await agentsRepo.update(trx, agent.org_id, agent.id, { profile_id: profileId, updated_at: now });
  await audit.record(trx, scope, {
    action: 'modified',
    entityType: 'agent',
    entityId: agent.id,
    before: { profile_id: agent.profile_id },
    after: { profile_id: profileId },
  });
}

export function agentView(row: Agent): AgentView {
  return {
    id: row.id,
    name: row.name,
    hostname: row.hostname,
    os_type: row.os_type,
    os_version: row.os_version,
    arch: row.arch,
    ip: row.ip,
    agent_version: row.agent_version,
    interpreters: row.interpreters,
    tags: row.tags,
    group_id: row.group_id,
    notes: row.notes,
    status: statusOf(row.status),
    connected: row.connected,
    last_seen_at: row.last_seen_at,
    metrics: row.metrics,
    system_info: row.system_info,
    enrolled_via: row.enrolled_via,
    profile_id: row.profile_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** Tags are a set: each kept once, in the order first given. */
export function distinctTags(tags: readonly string[]): string[] {
  return [...new Set(tags)];
}

/** The columns an agent's own report of itself sets, at registration and on every reconnect. */
export function factColumns(facts: AgentFacts, requestIp: string | null) {
  return {
    hostname: facts.hostname,
    fingerprint: facts.fingerprint,
    os_type: facts.os_type,
    os_version: facts.os_version,
    arch: facts.arch,
    ip: facts.ip ?? requestIp,
    agent_version: facts.agent_version,
    interpreters: [...new Set(facts.interpreters)],
    system_info: facts.system_info ?? null,
  };
}

/**
 * A stored selector (a schedule's target) names only this organisation's agents and groups: an
 * id from elsewhere is refused when written (422), as the agents do not exist here.
 */
export async function requireKnownTarget(db: Executor, orgId: string, target: TargetSelector): Promise<void> {
  if (target.group_id !== undefined && !(await groupsRepo.get(db, orgId, target.group_id)))
    throw new AppError('unprocessable', 'the target names an agent group that does not exist', {
      details: [{ field: 'target.group_id', message: 'agent group not found' }],
    });
  const ids = [...new Set(target.agent_ids ?? [])];
  if (ids.length === 0) return;
  const found = new Set((await agentsRepo.selectTargets(db, orgId, { agent_ids: ids })).map((a) => a.id));
  const unknown = (target.agent_ids ?? []).flatMap((id, index) => (found.has(id) ? [] : [index]));
  if (unknown.length > 0)
    throw new AppError('unprocessable', 'the target names agents that do not exist', {
      details: unknown
        .slice(0, 20)
        .map((index) => ({ field: `target.agent_ids.${index}`, message: 'agent not found' })),
    });
}

export class AgentsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #bus: EventBus;
  readonly #uninstaller: AgentUninstaller;
  readonly #usage: Usage | undefined;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    bus: EventBus;
    uninstaller: AgentUninstaller;
    /** What lives on an agent (robots): deleting it is refused (409, naming them) while any does. */
    usage?: Usage;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#bus = deps.bus;
    this.#uninstaller = deps.uninstaller;
    this.#usage = deps.usage;
  }

  async list(orgId: string, filter: AgentFilter, page: PageParams): Promise<Page<AgentView>> {
    return mapPage(await agentsRepo.list(this.#db, orgId, filter, page), agentView);
  }

  /** The organisation's agents counted by OS and status, for the overview. */
  async summary(orgId: string): Promise<AgentSummary> {
    const byOs = new Map<string, AgentSummary['by_os'][number]>();
    const totals = { total: 0, online: 0, offline: 0, pending: 0 };
    for (const { os_type, status, count } of await agentsRepo.countByOsAndStatus(this.#db, orgId)) {
      const os = byOs.get(os_type) ?? { os_type, total: 0, online: 0, offline: 0, pending: 0 };
      const state = statusOf(status);
      os[state] += count;
      os.total += count;
      totals[state] += count;
      totals.total += count;
      byOs.set(os_type, os);
    }
    return { ...totals, by_os: [...byOs.values()].sort((a, b) => b.total - a.total) };
  }

  async get(orgId: string, id: string): Promise<AgentView> {
    return agentView(await this.#agent(this.#db, orgId, id));
  }

  /** A machine record, pending until an agent registers with its machine key (shown once). */
  async create(
    ctx: RequestContext,
    input: { name: string; os_type?: string; tags?: string[]; group_id?: string; notes?: string },
  ): Promise<{ agent: AgentView; machine_key: string }> {
    return inTransaction(this.#db, async (trx) => {
      if (input.group_id !== undefined) await requireGroup(trx, ctx.orgId, input.group_id);
      const now = this.#clock.now().toISOString();
      const machineKey = newSecret(MACHINE_KEY_PREFIX);
      const row: Agent = {
        id: newId(),
        org_id: ctx.orgId,
        name: input.name,
        hostname: '',
        fingerprint: null,
        os_type: input.os_type ?? 'other',
        os_version: '',
        arch: '',
        ip: null,
        agent_version: null,
        interpreters: [],
        tags: distinctTags(input.tags ?? []),
        group_id: input.group_id ?? null,
        notes: input.notes ?? '',
        status: 'pending',
        connected: false,
        last_seen_at: null,
        metrics: null,
        system_info: null,
        token_hash: null,
        machine_key_hash: sha256(machineKey),
        enrolled_via: null,
        created_at: now,
        updated_at: now,
        deleted_at: null,
        delete_reason: null,
        profile_id: null,
        facts_requested_at: null,
      };
      await agentsRepo.insert(trx, row);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'agent',
        entityId: row.id,
        after: agentView(row),
      });
      return { agent: agentView(row), machine_key: machineKey };
    });
  }

  async update(
    ctx: RequestContext,
    id: string,
    input: {
      name?: string;
      tags?: string[];
      group_id?: string | null;
      notes?: string;
      profile_id?: string | null;
    },
  ): Promise<AgentView> {
    return inTransaction(this.#db, async (trx) => {
      const before = await this.#agent(trx, ctx.orgId, id);
      if (input.group_id) await requireGroup(trx, ctx.orgId, input.group_id);
      if (input.profile_id) await requireProfile(trx, ctx.orgId, input.profile_id, 'profile_id');
      const after: Agent = {
        ...before,
        name: input.name ?? before.name,
        tags: input.tags ? distinctTags(input.tags) : before.tags,
        group_id: input.group_id === undefined ? before.group_id : input.group_id,
        notes: input.notes ?? before.notes,
        profile_id: input.profile_id === undefined ? before.profile_id : input.profile_id,
        updated_at: this.#clock.now().toISOString(),
      };
      await agentsRepo.update(trx, ctx.orgId, id, {
        name: after.name,
        tags: after.tags,
        group_id: after.group_id,
        notes: after.notes,
        profile_id: after.profile_id,
        updated_at: after.updated_at,
      });
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'agent',
        entityId: id,
        before: agentView(before),
        after: agentView(after),
      });
      return agentView(after);
    });
  }

  /**
   * Soft delete: the row and its token stay, so the agent hears 410 (its open socket is closed
   * with 4410) and uninstalls itself; an uninstall job is queued in the same transaction, the
   * record of that order. Registering again revives it.
   */
  async remove(ctx: RequestContext, id: string, reason: string): Promise<void> {
    const deleted = await inTransaction(this.#db, async (trx) => {
      const before = await this.#agent(trx, ctx.orgId, id);
      const now = this.#clock.now().toISOString();
      await agentsRepo.softDelete(trx, ctx.orgId, id, reason, now);
      // Asked after the row is written (and so locked): a robot created meanwhile waits, then
      // finds the agent gone; the refusal rolls the delete back.
      if (this.#usage) await assertUnused(this.#usage, trx, ctx.orgId, 'agent', id);
      const after: Agent = { ...before, deleted_at: now, delete_reason: reason, updated_at: now };
      await this.#uninstaller.enqueueUninstall(trx, ctx, after, reason);
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: 'agent',
        entityId: id,
        before: agentView(before),
        after: { deleted_at: now, delete_reason: reason },
      });
      return after;
    });
    this.#bus.publish({ type: 'agent.deleted', org_id: deleted.org_id, agent_id: deleted.id, reason });
  }

  /** Whether a node holds the agents' sockets; connecting also marks them online and seen. */
  async setConnected(ids: readonly string[], connected: boolean): Promise<void> {
    await agentsRepo.setConnected(this.#db, ids, connected, this.#clock.now().toISOString());
  }

  /**
   * Facts reported on reconnect or on request (interpreters installed since, an OS upgrade); the
   * fingerprint stays. They answer any request for facts still open.
   */
  async updateFacts(agentId: string, facts: AgentFacts, requestIp: string | null): Promise<void> {
    const { fingerprint: _fingerprint, ...columns } = factColumns(facts, requestIp);
    await agentsRepo.register(this.#db, agentId, {
      ...columns,
      facts_requested_at: null,
      updated_at: this.#clock.now().toISOString(),
    });
  }

  /**
   * Asks the agent for its facts now: a node holding its socket sends `refresh_facts` at once; an
   * agent polling over HTTP (online, no socket) hears it in its next heartbeat's answer. An agent
   * doing neither cannot hear it: 409.
   */
  async requestFacts(ctx: RequestContext, id: string): Promise<FactsRequest> {
    const request = await inTransaction(this.#db, async (trx) => {
      const agent = await this.#agent(trx, ctx.orgId, id);
      if (!agent.connected && agent.status !== 'online')
        throw new AppError(
          'conflict',
          `agent ${agent.name} is not connected (${statusOf(agent.status)}): it can be asked for its facts once it is back`,
        );
      const requestedAt = this.#clock.now().toISOString();
      await agentsRepo.requestFacts(trx, ctx.orgId, id, requestedAt);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'agent',
        entityId: id,
        before: { facts_requested_at: agent.facts_requested_at },
        after: { facts_requested_at: requestedAt },
      });
      return {
        agent_id: id,
        requested_at: requestedAt,
        delivery: agent.connected ? ('websocket' as const) : ('next_heartbeat' as const),
      };
    });
    this.#bus.publish({ type: 'agent.facts_requested', org_id: ctx.orgId, agent_id: id });
    return request;
  }

  async #agent(db: Executor, orgId: string, id: string): Promise<Agent> {
    const row = await agentsRepo.get(db, orgId, id);
    if (!row) throw notFound('agent');
    return row;
  }
}
