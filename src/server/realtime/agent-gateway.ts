import type { WebSocket } from 'ws';
import { AgentCloseCode, type AgentFacts, type AgentFrame } from '../../protocol/agent.js';
import { isDatabaseUnavailable } from '../db/availability.js';
import { AppError, assertNever } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { Agent } from '../modules/agents/agents.repo.js';
import type { AgentSession } from '../modules/execution/agent-session.js';
import type { AgentAuthenticator } from './agent-auth.js';
import { AgentConnection } from './agent-connection.js';
import type { EventBus, FleetEvent } from './events.js';
import { parseAgentFrame } from './frames.js';

/** Agents marked disconnected per statement when the node stops: well under any bind-parameter limit. */
const STOP_BATCH = 1000;
/**
 * Frames that may wait behind one waiting for the database; past that the socket is closed with
 * 1013 (try again later) rather than held in memory: the agent reconnects and sends again what
 * was not acknowledged (its results are spooled, its output replayed).
 */
const MAX_WAITING_FRAMES = 1000;
/** A full node says so at most this often: refused agents come back all the time. */
const FULL_WARNING_INTERVAL_MS = 60_000;

type QueuedFrame = Exclude<AgentFrame, { type: 'heartbeat' }>;

/**
 * The WebSocket transport of the agent session: holds the agents connected to this node, pushes
 * work to them the moment it exists, and translates the session's answers into frames and close
 * codes (src/protocol/agent.ts). The rules themselves are the session's.
 */
export class AgentGateway {
  readonly #connections = new Map<string, AgentConnection>();
  readonly #maxSockets: number;
  #refused = 0;
  #warnedFullAt = Number.NEGATIVE_INFINITY;
  readonly #session: AgentSession;
  readonly #auth: Pick<AgentAuthenticator, 'recheck'>;
  readonly #bus: EventBus;
  readonly #logger: Logger;
  #unsubscribe: (() => void) | undefined;
  #unsubscribeResume: (() => void) | undefined;
  #pinger: NodeJS.Timeout | undefined;

  constructor(deps: {
    session: AgentSession;
    auth: Pick<AgentAuthenticator, 'recheck'>;
    bus: EventBus;
    logger: Logger;
    /** Agent sockets this node holds at most (config.maxAgentSockets). */
    maxSockets: number;
  }) {
    this.#maxSockets = deps.maxSockets;
    this.#session = deps.session;
    this.#auth = deps.auth;
    this.#bus = deps.bus;
    this.#logger = deps.logger;
  }

  get connectedCount(): number {
    return this.#connections.size;
  }

  get maxSockets(): number {
    return this.#maxSockets;
  }

  /** New agent sockets refused because this node was full, since it started. */
  get refusedCount(): number {
    return this.#refused;
  }

  /**
   * Whether a new socket of this agent may be attached, asked just before the upgrade: below the
   * cap, or replacing the agent's own socket here (that holds no more). A refusal is counted.
   */
  admits(agentId: string): boolean {
    if (this.#connections.size < this.#maxSockets || this.#connections.has(agentId)) return true;
    this.#refused += 1;
    const now = performance.now();
    if (now - this.#warnedFullAt >= FULL_WARNING_INTERVAL_MS) {
      this.#warnedFullAt = now;
      this.#logger.warn(
        { held: this.#connections.size, max: this.#maxSockets, refused: this.#refused },
        'node full: refusing new agent sockets (503 node_full)',
      );
    }
    return false;
  }

  start(): void {
    this.#unsubscribe = this.#bus.subscribe((event) => this.#onEvent(event));
    // Work queued or canceled for these agents while the bus was deaf was announced to nobody.
    this.#unsubscribeResume = this.#bus.onResume(() => {
      for (const connection of this.#connections.values())
        if (connection.state === 'ready') this.#background(connection, () => this.#catchUp(connection));
    });
    // A connection that died without a close (a cut cable) would swallow pushed jobs: ping it.
    this.#pinger = setInterval(() => this.#ping(), 2 * this.#session.heartbeatIntervalMs).unref();
  }

  /**
   * Marks the agents this node holds disconnected, then closes their sockets: they reconnect to
   * another node, or to this one after a restart. Marked first, so an agent that reconnects
   * elsewhere at once is marked connected there after this write, not before it.
   */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribeResume?.();
    clearInterval(this.#pinger);
    const held = [...this.#connections.values()];
    this.#connections.clear();
    const ids = held.map((connection) => connection.agent.id);
    try {
      for (let i = 0; i < ids.length; i += STOP_BATCH)
        await this.#session.disconnected(ids.slice(i, i + STOP_BATCH));
    } catch (error) {
      this.#logger.error({ err: error }, 'could not mark the agents of this node disconnected');
    }
    for (const connection of held) connection.close(AgentCloseCode.goingAway, 'server shutting down');
  }

  attach(agent: Agent, socket: WebSocket, ip: string | null): void {
    this.#connections.get(agent.id)?.close(AgentCloseCode.replaced, 'replaced by a newer connection');
    const connection = new AgentConnection(agent, socket, ip, this.#logger);
    this.#connections.set(agent.id, connection);
    socket.on('message', (data: Buffer) => {
      const frame = parseAgentFrame(data.toString('utf8'));
      if (!frame) {
        connection.send({ type: 'error', code: 'bad_request', message: 'frame is not valid' });
        return;
      }
      // Memory only, so never behind a frame waiting for the database: through an outage the
      // agent's heartbeats are still heard, and written (renewing its leases) once it is back.
      if (frame.type === 'heartbeat') {
        this.#session.heartbeat(agent.id, frame.metrics);
        // a database read only when the server holds a newer build for it, every few heartbeats
        void this.#offerUpdate(connection, undefined);
        return;
      }
      if (connection.databaseWaits > 0 && connection.waiting >= MAX_WAITING_FRAMES) {
        connection.close(AgentCloseCode.tryAgainLater, 'the database is not reachable; reconnect later');
        return;
      }
      void connection
        .enqueue(() => connection.retrying(() => this.#handle(connection, frame)))
        .catch((error: unknown) => this.#failed(connection, error));
    });
    socket.on('close', () => {
      connection.state = 'closed';
      if (this.#connections.get(agent.id) !== connection) return;
      this.#connections.delete(agent.id);
      this.#session.disconnected([agent.id]).catch((error: unknown) => {
        this.#logger.error({ err: error, agentId: agent.id }, 'could not mark agent disconnected');
      });
    });
  }

  async #handle(connection: AgentConnection, frame: QueuedFrame): Promise<void> {
    const { agent } = connection;
    switch (frame.type) {
      case 'hello': {
        // a hello tried again after the welcome went out goes on from there
        if (connection.state === 'greeting') {
          await this.#session.hello(agent, {
            facts: frame.facts,
            heldJobIds: frame.running_job_ids,
            ip: connection.ip,
          });
          await this.#session.connected(agent);
          connection.state = 'ready';
          const updateKey = await this.#session.updateKey();
          connection.send({
            type: 'welcome',
            agent_id: agent.id,
            heartbeat_interval_ms: this.#session.heartbeatIntervalMs,
            ...(updateKey ? { update_public_key: updateKey } : {}),
          });
          await this.#offerUpdate(connection, frame.facts);
        }
        await this.#catchUp(connection);
        return;
      }
      case 'job_event': {
        const ack = await this.#session.event(agent.id, frame.event);
        // results are spooled until acknowledged; a refusal is told so the agent logs it
        if (ack.event === 'result' || ack.outcome === 'conflict' || ack.outcome === 'impossible')
          connection.send({ type: 'event_ack', ...ack });
        return;
      }
      case 'update_result': {
        const { type: _type, ...result } = frame;
        await this.#session.updateResult(agent, result);
        return;
      }
      case 'facts':
        await this.#session.facts(agent, frame.facts, connection.ip);
        return;
      default:
        assertNever(frame);
    }
  }

  #onEvent(event: FleetEvent): void {
    switch (event.type) {
      case 'agent.jobs_available': {
        for (const agentId of event.agent_ids) {
          const connection = this.#connections.get(agentId);
          if (connection?.state === 'ready')
            this.#background(connection, () => this.#dispatch(connection, event.pooled === true));
        }
        return;
      }
      case 'agent.deleted':
      case 'agent.token_replaced': {
        const connection = this.#connections.get(event.agent_id);
        if (connection) this.#background(connection, () => this.#recheck(connection));
        return;
      }
      case 'job.cancel':
        this.#connections.get(event.agent_id)?.send({ type: 'cancel', job_id: event.job_id });
        return;
      case 'agent.facts_requested': {
        const connection = this.#connections.get(event.agent_id);
        if (connection?.state === 'ready') connection.send({ type: 'refresh_facts' });
        return;
      }
      case 'agent.status': {
        // The sweep marks a silent agent disconnected, even one whose socket stayed open here (a
        // stalled server, late heartbeats); when its heartbeats bring it back, it is connected.
        const connection = this.#connections.get(event.agent_id);
        if (event.status === 'online' && !event.connected && connection?.state === 'ready')
          void this.#reconnected(connection).catch((error: unknown) =>
            this.#logger.error({ err: error, agentId: event.agent_id }, 'could not mark agent connected'),
          );
        return;
      }
      case 'agent.facts':
      case 'job.state':
      case 'job.output':
      case 'run.progress':
      case 'principals.changed':
      case 'settings.changed':
      case 'service.changed':
      case 'deployment.state':
      case 'deployment.target':
      case 'deployment.step':
      case 'alert.fired':
      case 'alert.resolved':
        return;
      default:
        assertNever(event);
    }
  }

  /**
   * The socket was opened with a token that may no longer hold: a deleted agent is closed with
   * 4410 (its order to uninstall, as a 410 would be), one whose token a registration replaced
   * with 4401. A revived agent's new connection, authenticated since, stays open.
   */
  async #recheck(connection: AgentConnection): Promise<void> {
    if (connection.state === 'closed') return;
    const standing = await this.#auth.recheck(connection.agent);
    if (standing.kind === 'deleted') connection.close(AgentCloseCode.deleted, standing.reason);
    if (standing.kind === 'revoked') connection.close(AgentCloseCode.unauthorized, 'agent token replaced');
  }

  async #reconnected(connection: AgentConnection): Promise<void> {
    const { id } = connection.agent;
    await this.#session.connected(connection.agent);
    // closed meanwhile, and not replaced: its close handler may have written before this did
    if (connection.state === 'closed' && !this.#connections.has(id)) await this.#session.disconnected([id]);
  }

  #ping(): void {
    for (const connection of this.#connections.values())
      if (!connection.ping())
        this.#logger.warn({ agentId: connection.agent.id }, 'agent socket did not answer a ping: closed it');
  }

  /** Tells the agent what it must stop and hands it what waits for it. */
  async #catchUp(connection: AgentConnection): Promise<void> {
    for (const jobId of await this.#session.cancelsDue(connection.agent.id))
      connection.send({ type: 'cancel', job_id: jobId });
    await this.#dispatch(connection, true);
  }

  /** Hands the agent its waiting jobs; with `pooled`, pooled jobs of its pools too. */
  #dispatch(connection: AgentConnection, pooled = false): Promise<void> {
    return connection.dispatch(async (withPool) => {
      for (const job of await this.#session.jobsToRun(connection.agent.id, { pooled: withPool }))
        connection.send({ type: 'job', job });
    }, pooled);
  }

  /** Sends the update due to the agent, if one is; checking never fails the session. */
  async #offerUpdate(connection: AgentConnection, facts: AgentFacts | undefined): Promise<void> {
    const offer = await this.#session.updateOffer(connection.agent, facts);
    if (offer) connection.send({ type: 'update', ...offer });
  }

  /** Work started by an event rather than a frame: retried through an outage, failures told. */
  #background(connection: AgentConnection, work: () => Promise<void>): void {
    void connection.retrying(work).catch((error: unknown) => this.#failed(connection, error));
  }

  #failed(connection: AgentConnection, error: unknown): void {
    if (isDatabaseUnavailable(error)) {
      connection.send({ type: 'error', code: 'not_ready', message: 'the database is not reachable' });
      return;
    }
    const code = error instanceof AppError ? error.code : 'internal';
    const message = error instanceof AppError ? error.message : 'internal error';
    if (code === 'internal')
      this.#logger.error({ err: error, agentId: connection.agent.id }, 'agent frame failed');
    connection.send({ type: 'error', code, message });
  }
}
