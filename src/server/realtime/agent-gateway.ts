import type { WebSocket } from 'ws';
import type { AgentFrame, ServerFrame } from '../../protocol/agent.js';
import { isDatabaseUnavailable } from '../db/availability.js';
import type { Executor } from '../db/executor.js';
import type { Clock } from '../lib/clock.js';
import { AppError, assertNever } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import { agentsRepo, type AgentRow } from '../modules/agents/agents.repo.js';
import type { AgentsService } from '../modules/agents/agents.service.js';
import type { Liveness } from '../modules/agents/liveness.js';
import type { JobsService } from '../modules/execution/jobs.service.js';
import type { EventBus, FleetEvent } from './events.js';
import { parseAgentFrame } from './frames.js';

/** Agents marked disconnected per statement when the node stops: well under any bind-parameter limit. */
const STOP_BATCH = 1000;
/** A frame that failed because the database is unreachable is tried again after 100 ms, backing off to 2 s. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2000;
/**
 * Frames that may wait behind one waiting for the database; past that the socket is closed with
 * 1013 (try again later) rather than held in memory: the agent reconnects and sends again what
 * was not acknowledged (its results are spooled, its output replayed).
 */
const MAX_WAITING_FRAMES = 1000;

type QueuedFrame = Exclude<AgentFrame, { type: 'heartbeat' }>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One agent's socket. States: `greeting` until its hello, then `ready`; `closed` at the end.
 * Frames are handled one at a time, so output keeps its order and a result follows its output;
 * one that fails does not stop the ones after it. Dispatch requests arriving while one runs are
 * folded into one more pass.
 */
class AgentConnection {
  state: 'greeting' | 'ready' | 'closed' = 'greeting';
  /** Cleared at each ping, set by the pong: a socket that stays silent through a ping is dead. */
  alive = true;
  #queue: Promise<void> = Promise.resolve();
  /** Frames enqueued and not yet handled. */
  waiting = 0;
  /** Pieces of work (a frame, a dispatch) waiting for the database to come back. */
  databaseWaits = 0;
  #dispatching = false;
  #dispatchAgain = false;

  constructor(
    readonly agent: AgentRow,
    readonly socket: WebSocket,
    readonly ip: string | null,
  ) {}

  send(frame: ServerFrame): void {
    if (this.state !== 'closed') this.socket.send(JSON.stringify(frame));
  }

  enqueue(work: () => Promise<void>): Promise<void> {
    this.waiting += 1;
    const run = this.#queue.then(work).finally(() => {
      this.waiting -= 1;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async dispatch(claim: () => Promise<void>): Promise<void> {
    if (this.#dispatching) {
      this.#dispatchAgain = true;
      return;
    }
    this.#dispatching = true;
    try {
      do {
        this.#dispatchAgain = false;
        await claim();
      } while (this.#dispatchAgain && this.state === 'ready');
    } finally {
      this.#dispatching = false;
    }
  }
}

/** Holds the agents connected to this node and pushes work to them the moment it exists. */
export class AgentGateway {
  readonly #connections = new Map<string, AgentConnection>();
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #bus: EventBus;
  readonly #jobs: JobsService;
  readonly #liveness: Liveness;
  readonly #agents: AgentsService;
  readonly #heartbeatIntervalMs: number;
  readonly #logger: Logger;
  #unsubscribe: (() => void) | undefined;
  #unsubscribeResume: (() => void) | undefined;
  #pinger: NodeJS.Timeout | undefined;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    bus: EventBus;
    jobs: JobsService;
    liveness: Liveness;
    agents: AgentsService;
    heartbeatIntervalMs: number;
    logger: Logger;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#bus = deps.bus;
    this.#jobs = deps.jobs;
    this.#liveness = deps.liveness;
    this.#agents = deps.agents;
    this.#heartbeatIntervalMs = deps.heartbeatIntervalMs;
    this.#logger = deps.logger;
  }

  get connectedCount(): number {
    return this.#connections.size;
  }

  start(): void {
    this.#unsubscribe = this.#bus.subscribe((event) => this.#onEvent(event));
    // Work queued or canceled for these agents while the bus was deaf was announced to nobody.
    this.#unsubscribeResume = this.#bus.onResume(() => {
      for (const connection of this.#connections.values())
        if (connection.state === 'ready')
          void this.#retrying(connection, () => this.#catchUp(connection)).catch((error: unknown) =>
            this.#failed(connection, error),
          );
    });
    // A connection that died without a close (a cut cable) would swallow pushed jobs: ping it.
    this.#pinger = setInterval(() => this.#ping(), 2 * this.#heartbeatIntervalMs).unref();
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
    const now = this.#clock.now().toISOString();
    try {
      for (let i = 0; i < ids.length; i += STOP_BATCH) {
        await agentsRepo.setConnected(this.#db, ids.slice(i, i + STOP_BATCH), false, now);
      }
    } catch (error) {
      this.#logger.error({ err: error }, 'could not mark the agents of this node disconnected');
    }
    for (const connection of held) connection.socket.close(1001, 'server shutting down');
  }

  attach(agent: AgentRow, socket: WebSocket, ip: string | null): void {
    const previous = this.#connections.get(agent.id);
    if (previous) previous.socket.close(4000, 'replaced by a newer connection');
    const connection = new AgentConnection(agent, socket, ip);
    this.#connections.set(agent.id, connection);
    socket.on('pong', () => {
      connection.alive = true;
    });
    socket.on('message', (data: Buffer) => {
      const frame = parseAgentFrame(data.toString('utf8'));
      if (!frame) {
        connection.send({ type: 'error', code: 'bad_request', message: 'frame is not valid' });
        return;
      }
      // Memory only, so never behind a frame waiting for the database: through an outage the
      // agent's heartbeats are still heard, and written (renewing its leases) once it is back.
      if (frame.type === 'heartbeat') {
        this.#liveness.record(agent.id, frame.metrics);
        return;
      }
      if (connection.databaseWaits > 0 && connection.waiting >= MAX_WAITING_FRAMES) {
        socket.close(1013, 'the database is not reachable; reconnect later');
        return;
      }
      void connection
        .enqueue(() => this.#retrying(connection, () => this.#handle(connection, frame)))
        .catch((error: unknown) => this.#failed(connection, error));
    });
    socket.on('close', () => {
      connection.state = 'closed';
      if (this.#connections.get(agent.id) !== connection) return;
      this.#connections.delete(agent.id);
      agentsRepo
        .setConnected(this.#db, [agent.id], false, this.#clock.now().toISOString())
        .catch((error: unknown) => {
          this.#logger.error({ err: error, agentId: agent.id }, 'could not mark agent disconnected');
        });
    });
  }

  /**
   * Runs a connection's work (a frame, a dispatch); while the database is unreachable it is tried
   * again until it is back or the socket closes, so nothing the agent sent meanwhile is lost and
   * its socket stays open. A result is acknowledged only once written: if the socket closes
   * first, the agent sends it again.
   */
  async #retrying(connection: AgentConnection, work: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      // gone: the agent sends again, on its next connection, what was not acknowledged
      if (attempt > 0 && connection.state === 'closed') return;
      try {
        await work();
        return;
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
        // the outage is logged once (the logger absorbs it), not once per try
        this.#logger.warn({ err: error, agentId: connection.agent.id }, 'agent work waits for the database');
        connection.databaseWaits += 1;
        await sleep(Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** attempt)).finally(() => {
          connection.databaseWaits -= 1;
        });
      }
    }
  }

  async #handle(connection: AgentConnection, frame: QueuedFrame): Promise<void> {
    const agentId = connection.agent.id;
    switch (frame.type) {
      case 'hello': {
        // a hello tried again after the welcome went out goes on from there
        if (connection.state === 'greeting') {
          await this.#agents.updateFacts(agentId, frame.facts, connection.ip);
          await agentsRepo.setConnected(this.#db, [agentId], true, this.#clock.now().toISOString());
          this.#liveness.record(agentId, null);
          connection.state = 'ready';
          connection.send({
            type: 'welcome',
            agent_id: agentId,
            heartbeat_interval_ms: this.#heartbeatIntervalMs,
          });
          this.#bus.publish({
            type: 'agent.status',
            org_id: connection.agent.org_id,
            agent_id: agentId,
            status: 'online',
            connected: true,
          });
        }
        await this.#jobs.reconcileHeld(agentId, frame.running_job_ids);
        await this.#catchUp(connection);
        return;
      }
      case 'job_event': {
        const { event } = frame;
        try {
          await this.#jobs.applyEvent(agentId, event);
        } catch (error) {
          // A result the server holds differently, or for a job that no longer exists, is settled:
          // ack it so the agent forgets it instead of re-sending it forever.
          const settled =
            error instanceof AppError && (error.code === 'conflict' || error.code === 'not_found');
          if (!(settled && event.type === 'result')) throw error;
          this.#logger.warn(
            { agentId, jobId: event.job_id, reason: error.message },
            'conflicting result ignored',
          );
        }
        if (event.type === 'result') {
          connection.send({
            type: 'event_ack',
            job_id: event.job_id,
            attempt: event.attempt,
            event: 'result',
          });
        }
        return;
      }
      default:
        assertNever(frame);
    }
  }

  #onEvent(event: FleetEvent): void {
    switch (event.type) {
      case 'agent.jobs_available':
      case 'agent.deleted': {
        const connection = this.#connections.get(event.agent_id);
        if (connection?.state === 'ready')
          void this.#retrying(connection, () => this.#dispatch(connection)).catch((error: unknown) =>
            this.#failed(connection, error),
          );
        return;
      }
      case 'job.cancel':
        this.#connections.get(event.agent_id)?.send({ type: 'cancel', job_id: event.job_id });
        return;
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
      case 'job.state':
      case 'job.output':
      case 'run.progress':
        return;
      default:
        assertNever(event);
    }
  }

  async #reconnected(connection: AgentConnection): Promise<void> {
    const { id, org_id } = connection.agent;
    await agentsRepo.setConnected(this.#db, [id], true, this.#clock.now().toISOString());
    // closed meanwhile, and not replaced: its close handler may have written before this did
    if (connection.state === 'closed' && !this.#connections.has(id)) {
      await agentsRepo.setConnected(this.#db, [id], false, this.#clock.now().toISOString());
      return;
    }
    this.#bus.publish({ type: 'agent.status', org_id, agent_id: id, status: 'online', connected: true });
  }

  #ping(): void {
    for (const connection of this.#connections.values()) {
      if (!connection.alive) {
        this.#logger.warn({ agentId: connection.agent.id }, 'agent socket did not answer a ping: closing it');
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }

  /** Tells the agent what it must stop and hands it what waits for it. */
  async #catchUp(connection: AgentConnection): Promise<void> {
    for (const { id } of await this.#jobs.pendingCancels(connection.agent.id))
      connection.send({ type: 'cancel', job_id: id });
    await this.#dispatch(connection);
  }

  #dispatch(connection: AgentConnection): Promise<void> {
    return connection.dispatch(async () => {
      const jobs = await this.#jobs.claim(connection.agent.id);
      for (const job of jobs) connection.send({ type: 'job', job });
    });
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
