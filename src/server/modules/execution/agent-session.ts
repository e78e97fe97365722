import type {
  AgentFacts,
  AgentMetrics,
  EventAck,
  JobEvent,
  JobSpec,
  UpdateOffer,
  UpdateResult,
} from '../../../protocol/agent.js';
import type { Logger } from '../../lib/logger.js';
import type { EventBus } from '../../realtime/events.js';
import type { AgentUpdatesService } from '../agent-builds/agent-updates.service.js';
import type { AgentsService } from '../agents/agents.service.js';
import type { Liveness } from '../agents/liveness.js';
import type { JobsService } from './jobs.service.js';

/** An agent as its session knows it: whether facts were asked of it decides who hears of new ones. */
interface FactsHolder {
  id: string;
  org_id: string;
  facts_requested_at: string | null;
}

type SessionJobs = Pick<JobsService, 'reconcileHeld' | 'claim' | 'pendingCancels' | 'applyEvent'>;
type SessionUpdates = Pick<AgentUpdatesService, 'hello' | 'heartbeat' | 'result' | 'forget' | 'publicKey'>;

/**
 * An agent's conversation with the server, one set of rules for both transports: the WebSocket
 * gateway and the HTTP fallback call it and only translate (frames and close codes; bodies and
 * statuses).
 *
 * - hello: the agent says what it is (facts) and which jobs it holds; the server's leases are
 *   reconciled with that. On the WebSocket once per connection; over HTTP with every heartbeat,
 *   since each poll is a session of its own (a reply lost on the way took its jobs with it).
 * - heartbeat: the agent is alive (buffered; the flush renews its leases).
 * - facts: an operator asked for them (`refresh_facts`); stored like hello's, and announced.
 * - work: the cancels due and the jobs leased to it now.
 * - events: each applied once and answered with an EventAck; a duplicate is answered as such, a
 *   conflicting or impossible one is refused with its reason. The agent forgets an event whatever
 *   its outcome, so a result the server will never take is not resent forever.
 * - updates: a single-file agent on an older version is offered the newer build (at hello, and
 *   rechecked with heartbeats); it answers with an update result.
 */
export class AgentSession {
  readonly heartbeatIntervalMs: number;
  readonly #jobs: SessionJobs;
  readonly #agents: Pick<AgentsService, 'updateFacts' | 'setConnected'>;
  readonly #liveness: Pick<Liveness, 'record'>;
  readonly #bus: EventBus;
  readonly #logger: Logger;
  readonly #updates: SessionUpdates;

  constructor(deps: {
    jobs: SessionJobs;
    agents: Pick<AgentsService, 'updateFacts' | 'setConnected'>;
    liveness: Pick<Liveness, 'record'>;
    bus: EventBus;
    heartbeatIntervalMs: number;
    logger: Logger;
    updates: SessionUpdates;
  }) {
    this.#jobs = deps.jobs;
    this.#agents = deps.agents;
    this.#liveness = deps.liveness;
    this.#bus = deps.bus;
    this.heartbeatIntervalMs = deps.heartbeatIntervalMs;
    this.#logger = deps.logger;
    this.#updates = deps.updates;
  }

  /** Facts that come while some were asked for answer the request (any facts do). */
  async hello(
    agent: FactsHolder,
    input: { facts: AgentFacts | undefined; heldJobIds: readonly string[]; ip: string | null },
  ): Promise<void> {
    if (input.facts) {
      if (agent.facts_requested_at !== null) await this.facts(agent, input.facts, input.ip);
      else await this.#agents.updateFacts(agent.id, input.facts, input.ip);
    }
    await this.#jobs.reconcileHeld(agent.id, input.heldJobIds);
  }

  /** Facts the agent collected again as asked (`refresh_facts`): stored, and consoles hear of them. */
  async facts(agent: { id: string; org_id: string }, facts: AgentFacts, ip: string | null): Promise<void> {
    await this.#agents.updateFacts(agent.id, facts, ip);
    this.#bus.publish({ type: 'agent.facts', org_id: agent.org_id, agent_id: agent.id });
  }

  /** Memory only: heard even while the database is away, written once it is back. */
  heartbeat(agentId: string, metrics: AgentMetrics | null): void {
    this.#liveness.record(agentId, metrics);
  }

  /** The agent holds a socket to this node now: it is online and connected, and consoles hear so. */
  async connected(agent: { id: string; org_id: string }): Promise<void> {
    await this.#agents.setConnected([agent.id], true);
    this.#liveness.record(agent.id, null);
    this.#bus.publish({
      type: 'agent.status',
      org_id: agent.org_id,
      agent_id: agent.id,
      status: 'online',
      connected: true,
    });
  }

  disconnected(agentIds: readonly string[]): Promise<void> {
    this.#updates.forget(agentIds);
    return this.#agents.setConnected(agentIds, false);
  }

  /** The key agents check builds with; undefined while it cannot be read (told again next hello). */
  async updateKey(): Promise<string | undefined> {
    try {
      return await this.#updates.publicKey();
    } catch (error) {
      this.#logger.warn({ err: error }, 'agent build signing key unavailable');
      return undefined;
    }
  }

  /**
   * The update due to the agent: from a hello's facts, or (no facts) a heartbeat's recheck. A
   * failure is logged and offers nothing: updates never stand in the way of the session.
   */
  async updateOffer(
    agent: { id: string; org_id: string },
    facts: AgentFacts | undefined,
  ): Promise<UpdateOffer | null> {
    try {
      return facts ? await this.#updates.hello(agent, facts) : await this.#updates.heartbeat(agent);
    } catch (error) {
      this.#logger.warn({ err: error, agentId: agent.id }, 'agent update check failed');
      return null;
    }
  }

  updateResult(agent: { id: string; org_id: string }, result: UpdateResult): Promise<void> {
    if (!result.ok)
      this.#logger.warn(
        { agentId: agent.id, version: result.version, reason: result.reason },
        'agent update failed',
      );
    return this.#updates.result(agent, result);
  }

  /** Jobs waiting for the agent, leased to it now; with `pooled`, pooled jobs of its pools too. */
  jobsToRun(agentId: string, options: { pooled?: boolean } = {}): Promise<JobSpec[]> {
    return this.#jobs.claim(agentId, options);
  }

  /** Jobs the agent holds that it must stop. */
  async cancelsDue(agentId: string): Promise<string[]> {
    return (await this.#jobs.pendingCancels(agentId)).map((job) => job.id);
  }

  async event(agentId: string, event: JobEvent): Promise<EventAck> {
    const verdict = await this.#jobs.applyEvent(agentId, event);
    if (verdict.outcome === 'conflict' || verdict.outcome === 'impossible')
      this.#logger.warn(
        { agentId, jobId: event.job_id, attempt: event.attempt, event: event.type, ...verdict },
        'agent event refused',
      );
    return {
      job_id: event.job_id,
      attempt: event.attempt,
      event: event.type,
      ...(event.type === 'output' ? { seq: event.seq } : {}),
      ...verdict,
    };
  }

  /** In order, one answer each: a refused event does not stop the ones after it. */
  async events(agentId: string, events: readonly JobEvent[]): Promise<EventAck[]> {
    const acks: EventAck[] = [];
    for (const event of events) acks.push(await this.event(agentId, event));
    return acks;
  }
}
