import type { AgentFacts, UpdateOffer, UpdateResult } from '../../../protocol/agent.js';
import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { RequestContext } from '../access/context.js';
import { requireGroup } from '../agents/groups.service.js';
import type { AuditLog } from '../audit/audit.service.js';
import {
  downloadPath,
  type AgentBuild,
  type AgentBuilds,
  type BuildArch,
  type BuildOs,
} from './agent-builds.js';
import { agentUpdatesRepo, type UpdatePolicy, type UpdateState } from './agent-updates.repo.js';
import type { UpdatePolicyBody, UpdateStatus } from './agent-updates.schemas.js';
import type { BuildSigningKey } from './signing-key.js';
import { compareVersions } from '../../lib/semver.js';

/** An offer not answered in this long (the agent restarted mid-way, say) is made again. */
const OFFER_PENDING_MS = 10 * 60_000;
/** Agents with an update under way or ended that the status lists. */
const STATUS_LIMIT = 200;

interface AgentRef {
  id: string;
  org_id: string;
}

/** The build platform of an agent: its Node platform and arch, as the single-file builds name them. */
export function buildPlatform(facts: AgentFacts): { os: string; arch: string } {
  const platform = typeof facts.system_info?.platform === 'string' ? facts.system_info.platform : '';
  const os = platform === 'win32' ? 'windows' : platform || facts.os_type;
  return { os, arch: facts.arch };
}

/**
 * Self-update of single-file agents. An agent is offered the server's build for its platform when
 * it says hello (and, rechecked every few heartbeats, while connected) if: it can replace itself;
 * the build is newer (semver); it did not fail that very build (by SHA-256); its organisation's
 * policy is not paused, and at the canary stage it is in the canary group. An offer holds for
 * OFFER_PENDING_MS; the agent answers with an update result (swapped, or failed with why), and
 * counts as updated when it says hello on the offered version.
 */
export class AgentUpdatesService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #builds: AgentBuilds;
  readonly #key: BuildSigningKey;
  readonly #groupOf: (orgId: string, agentId: string) => Promise<string | null>;
  readonly #versionCounts: (orgId: string) => Promise<{ version: string; count: number }[]>;
  readonly #recheckMs: number;
  /** When each connected agent of this node is next looked at from a heartbeat, and on what it runs. */
  readonly #watched = new Map<string, { version: string; os: string; arch: string; nextCheckAt: number }>();

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    builds: AgentBuilds;
    key: BuildSigningKey;
    groupOf: (orgId: string, agentId: string) => Promise<string | null>;
    versionCounts: (orgId: string) => Promise<{ version: string; count: number }[]>;
    recheckMs: number;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#builds = deps.builds;
    this.#key = deps.key;
    this.#groupOf = deps.groupOf;
    this.#versionCounts = deps.versionCounts;
    this.#recheckMs = deps.recheckMs;
  }

  publicKey(): Promise<string> {
    return this.#key.publicKey();
  }

  /** A hello with facts: remembered, and answered with an offer when one is due. */
  async hello(agent: AgentRef, facts: AgentFacts): Promise<UpdateOffer | null> {
    // `fleetplane agent` from a package is never offered anything: no write on its every hello
    if (facts.self_update !== true) {
      this.#watched.delete(agent.id);
      return null;
    }
    const { os, arch } = buildPlatform(facts);
    const now = this.#clock.now();
    await agentUpdatesRepo.noteHello(
      this.#db,
      { agent_id: agent.id, org_id: agent.org_id, os, self_update: true },
      facts.agent_version,
      now.toISOString(),
    );
    this.#watched.set(agent.id, {
      version: facts.agent_version,
      os,
      arch,
      nextCheckAt: now.getTime() + this.#recheckMs,
    });
    return this.offer(agent);
  }

  /**
   * From a heartbeat: an offer when the server holds a newer build for the agent's platform and the
   * last look is a while ago. Cheap when there is nothing newer (no database read).
   */
  async heartbeat(agent: AgentRef): Promise<UpdateOffer | null> {
    const watched = this.#watched.get(agent.id);
    const now = this.#clock.now().getTime();
    if (!watched || now < watched.nextCheckAt) return null;
    watched.nextCheckAt = now + this.#recheckMs;
    const build = await this.#builds.find(watched.os as BuildOs, watched.arch as BuildArch);
    if (!build || compareVersions(build.version, watched.version) <= 0) return null;
    return this.offer(agent);
  }

  /** The agents of this node that left it. */
  forget(agentIds: readonly string[]): void {
    for (const id of agentIds) this.#watched.delete(id);
  }

  /** The offer due to the agent now, recorded as made; null when none is. */
  async offer(agent: AgentRef): Promise<UpdateOffer | null> {
    const state = await agentUpdatesRepo.state(this.#db, agent.id);
    if (!state?.self_update) return null;
    const build = await this.#builds.find(state.os as BuildOs, state.arch as BuildArch);
    if (!build || !(await this.#due(agent, state, build))) return null;
    const now = this.#clock.now().toISOString();
    await agentUpdatesRepo.markOffered(this.#db, agent.id, build, now);
    const { os, arch, version, sha256, size } = build;
    return {
      version,
      os,
      arch,
      sha256,
      size,
      signature: await this.#key.sign(build),
      download_path: downloadPath(build),
    };
  }

  async #due(agent: AgentRef, state: UpdateState, build: AgentBuild): Promise<boolean> {
    if (compareVersions(build.version, state.version) <= 0) return false;
    if (state.failed_sha256 === build.sha256) return false;
    const pending =
      state.outcome === 'offered' &&
      state.offered_sha256 === build.sha256 &&
      state.offered_at !== null &&
      this.#clock.now().getTime() - Date.parse(state.offered_at) < OFFER_PENDING_MS;
    if (pending) return false;
    const policy = await agentUpdatesRepo.policy(this.#db, agent.org_id);
    if (policy.paused) return false;
    if (policy.stage === 'all') return true;
    return (
      policy.canary_group_id !== null &&
      (await this.#groupOf(agent.org_id, agent.id)) === policy.canary_group_id
    );
  }

  /** The agent's account of its offer: swapped (it restarts on the new build) or failed, with why. */
  async result(agent: AgentRef, result: UpdateResult): Promise<void> {
    await agentUpdatesRepo.markResult(
      this.#db,
      agent.id,
      {
        sha256: result.sha256,
        ok: result.ok,
        reason: result.ok ? null : (result.reason ?? 'no reason given'),
      },
      this.#clock.now().toISOString(),
    );
  }

  policy(orgId: string): Promise<UpdatePolicy> {
    return agentUpdatesRepo.policy(this.#db, orgId);
  }

  async setPolicy(ctx: RequestContext, input: UpdatePolicyBody): Promise<UpdatePolicy> {
    const updated_at = this.#clock.now().toISOString();
    return inTransaction(this.#db, async (trx) => {
      if (input.canary_group_id !== null)
        await requireGroup(trx, ctx.orgId, input.canary_group_id, 'canary_group_id');
      const before = await agentUpdatesRepo.policy(trx, ctx.orgId);
      const after = { ...input, updated_at };
      await agentUpdatesRepo.savePolicy(trx, ctx.orgId, after);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'agent_update_policy',
        entityId: ctx.orgId,
        before,
        after,
      });
      return after;
    });
  }

  async status(orgId: string): Promise<UpdateStatus> {
    const [policy, builds, versions, states] = await Promise.all([
      this.policy(orgId),
      this.#builds.list(),
      this.#versionCounts(orgId),
      agentUpdatesRepo.withOutcome(this.#db, orgId, STATUS_LIMIT),
    ]);
    return {
      policy,
      builds: builds.map(({ os, arch, version, sha256, size }) => ({ os, arch, version, sha256, size })),
      // newest first, as versions order (text would put 0.9.0 above 0.10.0)
      versions: versions.sort((a, b) => compareVersions(b.version, a.version)),
      agents: states.map((state) => ({
        agent_id: state.agent_id,
        hostname: state.hostname,
        version: state.version,
        os: state.os,
        arch: state.arch,
        offered_version: state.offered_version,
        outcome: state.outcome,
        reason: state.reason,
        updated_at: state.updated_at,
      })),
    };
  }
}
