import type { AgentFacts, RegisterRequest, RegisterResponse } from '../../../protocol/agent.js';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { newSecret, sha256 } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { EventBus } from '../../realtime/events.js';
import type { RequestMeta } from '../access/context.js';
import { agentsRepo, type Agent } from '../agents/agents.repo.js';
import { agentView, factColumns, type AgentUninstaller } from '../agents/agents.service.js';
import type { AuditLog } from '../audit/audit.service.js';
import { enrollmentRepo } from './enrollment.repo.js';
import { activeToken } from './enrollment.service.js';

export const AGENT_TOKEN_PREFIX = 'fpa';

type Via = 'enrollment_token' | 'machine_key';

/** Told after the commit when a machine enrolls for the first time (profiles auto-apply here). */
export type EnrolledHook = (agent: Agent, meta: RequestMeta) => Promise<void>;

/** Where a registration lands: an organisation, and the agent it updates (if any). */
interface Claim {
  orgId: string;
  via: Via;
  existing: Agent | undefined;
  /** For a new agent. */
  tags: string[];
  groupId: string | null;
}

/**
 * Registration trades an enrollment token or a machine key for the agent's own token, shown
 * once. One machine (fingerprint) is one agent per organisation: registering again updates it,
 * revives it if it was deleted, and replaces its token, so the previous one stops working.
 */
export class RegistrationService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #bus: EventBus;
  readonly #heartbeatIntervalMs: number;
  readonly #onEnrolled: EnrolledHook | undefined;
  readonly #updateKey: (() => Promise<string | undefined>) | undefined;

  readonly #uninstaller: Pick<AgentUninstaller, 'cancelUninstalls'>;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    bus: EventBus;
    heartbeatIntervalMs: number;
    uninstaller: Pick<AgentUninstaller, 'cancelUninstalls'>;
    onEnrolled?: EnrolledHook;
    /** The key agents check their updates with, told to each agent as it registers. */
    updateKey?: () => Promise<string | undefined>;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#bus = deps.bus;
    this.#heartbeatIntervalMs = deps.heartbeatIntervalMs;
    this.#onEnrolled = deps.onEnrolled;
    this.#updateKey = deps.updateKey;
    this.#uninstaller = deps.uninstaller;
  }

  async register(input: RegisterRequest, meta: RequestMeta): Promise<RegisterResponse> {
    if (input.enrollment_token !== undefined && input.machine_key !== undefined)
      throw new AppError('bad_request', 'send an enrollment token or a machine key, not both');
    const agentToken = newSecret(AGENT_TOKEN_PREFIX);
    const { agent, first, replaced } = await inTransaction(this.#db, async (trx) => {
      const now = this.#clock.now();
      const claim =
        input.enrollment_token !== undefined
          ? await this.#claimEnrollmentToken(trx, input.enrollment_token, input.facts.fingerprint, now)
          : input.machine_key !== undefined
            ? await this.#claimMachineKey(trx, input.machine_key, input.facts.fingerprint)
            : undefined;
      if (!claim) throw new AppError('unauthorized', 'an enrollment token or a machine key is required');
      // A machine record never registered before enrolls for the first time too; a revival does not.
      const first = claim.existing === undefined || claim.existing.enrolled_via === null;
      return {
        agent: await this.#apply(trx, claim, input.facts, agentToken, meta, now.toISOString()),
        first,
        replaced: Boolean(claim.existing?.token_hash),
      };
    });
    // a socket still open with the old token is closed (4401): that token no longer works
    if (replaced)
      this.#bus.publish({ type: 'agent.token_replaced', org_id: agent.org_id, agent_id: agent.id });
    this.#bus.publish({
      type: 'agent.status',
      org_id: agent.org_id,
      agent_id: agent.id,
      status: 'online',
      connected: false,
    });
    if (first) await this.#onEnrolled?.(agent, meta);
    const updateKey = await this.#updateKey?.();
    return {
      agent_id: agent.id,
      agent_token: agentToken,
      heartbeat_interval_ms: this.#heartbeatIntervalMs,
      ...(updateKey ? { update_public_key: updateKey } : {}),
    };
  }

  async #claimEnrollmentToken(trx: Executor, secret: string, fingerprint: string, now: Date): Promise<Claim> {
    const token = await activeToken(trx, secret, now);
    // The check above gives the reason; this one decides, atomically, against concurrent uses.
    if (!(await enrollmentRepo.consume(trx, token.id, now.toISOString())))
      throw new AppError('unauthorized', 'enrollment token is exhausted');
    return {
      orgId: token.org_id,
      via: 'enrollment_token',
      existing: await agentsRepo.findByFingerprint(trx, token.org_id, fingerprint),
      tags: token.default_tags,
      groupId: token.group_id,
    };
  }

  async #claimMachineKey(trx: Executor, secret: string, fingerprint: string): Promise<Claim> {
    const record = await agentsRepo.findByMachineKeyHash(trx, sha256(secret));
    if (!record) throw new AppError('unauthorized', 'machine key is not valid');
    if (record.fingerprint !== null && record.fingerprint !== fingerprint)
      throw new AppError('conflict', 'this machine key was claimed by another machine');
    if (record.fingerprint === null) {
      const twin = await agentsRepo.findByFingerprint(trx, record.org_id, fingerprint);
      if (twin && twin.id !== record.id && twin.deleted_at === null)
        throw new AppError('conflict', `this machine is already enrolled as agent ${twin.id}`);
    }
    return {
      orgId: record.org_id,
      via: 'machine_key',
      existing: record,
      tags: record.tags,
      groupId: record.group_id,
    };
  }

  async #apply(
    trx: Executor,
    claim: Claim,
    facts: AgentFacts,
    agentToken: string,
    meta: RequestMeta,
    now: string,
  ): Promise<Agent> {
    const live = {
      ...factColumns(facts, meta.ip),
      token_hash: sha256(agentToken),
      status: 'online',
      connected: false,
      last_seen_at: now,
      enrolled_via: claim.via,
      updated_at: now,
    };
    const before = claim.existing;
    const id = before?.id ?? newId();
    const scope = { orgId: claim.orgId, actor: { type: 'agent' as const, id, label: facts.hostname }, meta };
    if (before) {
      const after: Agent = { ...before, ...live, deleted_at: null, delete_reason: null };
      await agentsRepo.register(trx, id, { ...live, deleted_at: null, delete_reason: null });
      if (before.deleted_at) await this.#uninstaller.cancelUninstalls(trx, id, now);
      await this.#audit.record(trx, scope, {
        action: 'status_changed',
        entityType: 'agent',
        entityId: id,
        before: { ...agentView(before), deleted_at: before.deleted_at },
        after: { ...agentView(after), deleted_at: null },
      });
      return after;
    }
    const agent: Agent = {
      ...live,
      id,
      org_id: claim.orgId,
      name: (facts.hostname || `agent-${facts.fingerprint.slice(0, 8)}`).slice(0, 200),
      tags: claim.tags,
      group_id: claim.groupId,
      notes: '',
      metrics: null,
      machine_key_hash: null,
      created_at: now,
      deleted_at: null,
      delete_reason: null,
      profile_id: null,
      facts_requested_at: null,
    };
    await agentsRepo.insert(trx, agent);
    await this.#audit.record(trx, scope, {
      action: 'created',
      entityType: 'agent',
      entityId: id,
      after: agentView(agent),
    });
    return agent;
  }
}
