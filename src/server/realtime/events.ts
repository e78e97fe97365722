import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { JobStatus, RunStatus } from '../../protocol/jobs.js';
import type { Logger } from '../lib/logger.js';

/** Everything that happens in the fleet, as seen by consoles and by other server nodes. */
export type FleetEvent =
  | { type: 'agent.status'; org_id: string; agent_id: string; status: string; connected: boolean }
  | { type: 'agent.deleted'; org_id: string; agent_id: string; reason: string }
  /** The agent reported its facts again, as an operator asked: consoles read it again. */
  | { type: 'agent.facts'; org_id: string; agent_id: string }
  | {
      type: 'job.state';
      org_id: string;
      job_id: string;
      /** Null while a pooled job waits for an agent. */
      agent_id: string | null;
      run_id: string | null;
      status: JobStatus;
      attempt: number;
      exit_code: number | null;
    }
  | {
      type: 'job.output';
      org_id: string;
      job_id: string;
      attempt: number;
      seq: number;
      stream: string;
      data: string;
    }
  | {
      type: 'run.progress';
      org_id: string;
      run_id: string;
      status: RunStatus;
      counts: Record<string, number>;
    }
  | { type: 'service.changed'; org_id: string; service_id: string; action: 'created' | 'updated' | 'deleted' }
  | {
      type: 'deployment.state';
      org_id: string;
      deployment_id: string;
      service_id: string;
      status: string;
      current_batch: number;
      /** Targets by status, and `total`. */
      counts: Record<string, number>;
    }
  | {
      type: 'deployment.target';
      org_id: string;
      deployment_id: string;
      service_id: string;
      target_id: string;
      agent_id: string;
      job_id: string | null;
      batch: number;
      status: string;
    }
  | {
      type: 'deployment.step';
      org_id: string;
      deployment_id: string;
      service_id: string;
      target_id: string;
      agent_id: string;
      name: string;
      state: string;
      message: string;
      error_message: string | null;
    }
  /** An alert opened (`alert.fired`) or closed by itself (`alert.resolved`); outbound webhooks send these. */
  | {
      type: 'alert.fired' | 'alert.resolved';
      org_id: string;
      alert_id: string;
      rule_id: string;
      rule_name: string;
      severity: string;
      subject: string;
      subject_label: string;
      summary: string;
    }
  /**
   * Internal: jobs wait for these agents; the node holding an agent's socket dispatches them.
   * `pooled`: pooled jobs they may take too, not only their own.
   */
  | { type: 'agent.jobs_available'; org_id: string; agent_ids: string[]; pooled?: true }
  /** Internal: the node holding this agent's socket tells it to cancel. */
  | { type: 'job.cancel'; org_id: string; agent_id: string; job_id: string }
  /** Internal: an operator asked for the agent's facts; the node holding its socket tells it. */
  | { type: 'agent.facts_requested'; org_id: string; agent_id: string }
  /** Internal: a registration replaced the agent's token; a socket opened with the old one is closed. */
  | { type: 'agent.token_replaced'; org_id: string; agent_id: string }
  /**
   * Internal: what some principals may do changed (roles, membership, a key, a session); every
   * node drops those it cached. Null fields match all: a password change names only the user.
   */
  | {
      type: 'principals.changed';
      org_id: string | null;
      user_id: string | null;
      session_id: string | null;
      api_key_id: string | null;
    }
  /** Internal: an organisation's settings group changed; nodes apply what they hold in memory (the log level). */
  | { type: 'settings.changed'; org_id: string; group: string };

export type FleetEventListener = (event: FleetEvent) => void;

export interface EventBus {
  publish(event: FleetEvent): void;
  subscribe(listener: FleetEventListener): () => void;
  /**
   * Hears the events this node publishes, as it publishes them: each event once across the
   * deployment, where `subscribe` hears it on every node (outbound webhooks are sent once).
   */
  onPublished(listener: FleetEventListener): () => void;
  /**
   * Called each time the bus hears other nodes again after a gap (its connection was lost and
   * re-made): events published meanwhile were missed, so what they would have started is re-read.
   */
  onResume(listener: () => void): () => void;
  /** False during such a gap. */
  readonly listening: boolean;
  /** Resolves once every event published before the call has been sent to the other nodes. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/** One node: events stay in the process. */
export class InProcessEventBus implements EventBus {
  readonly #emitter = new EventEmitter().setMaxListeners(0);

  publish(event: FleetEvent): void {
    this.#emitter.emit('published', event);
    this.#emitter.emit('event', event);
  }

  onPublished(listener: FleetEventListener): () => void {
    this.#emitter.on('published', listener);
    return () => this.#emitter.off('published', listener);
  }

  subscribe(listener: FleetEventListener): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }

  /** Events never leave the process, so none is ever missed. */
  onResume(): () => void {
    return () => undefined;
  }

  get listening(): boolean {
    return true;
  }

  /** Delivered as published: nothing waits. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.#emitter.removeAllListeners();
  }
}

const CHANNEL = 'fleetplane_events';
/** NOTIFY payloads must stay under 8000 bytes; live output is cut to fit (stored output is whole). */
const MAX_PAYLOAD_BYTES = 7000;

function fitPayload(event: FleetEvent): string {
  const payload = JSON.stringify(event);
  if (Buffer.byteLength(payload) <= MAX_PAYLOAD_BYTES || event.type !== 'job.output') return payload;
  return JSON.stringify({
    ...event,
    data: `${event.data.slice(0, MAX_PAYLOAD_BYTES / 4)}…[cut for live view]`,
  });
}

/**
 * Events as NOTIFY payloads of at most MAX_PAYLOAD_BYTES each: `{"n":…,"events":[…]}`. The
 * number makes every payload unique, since PostgreSQL delivers identical payloads of one
 * transaction only once.
 */
function packPayloads(events: readonly string[], nextNumber: () => number): string[] {
  const payloads: string[] = [];
  let batch: string[] = [];
  let bytes = 0;
  const close = () => {
    if (batch.length > 0) payloads.push(`{"n":${nextNumber()},"events":[${batch.join(',')}]}`);
    batch = [];
    bytes = 0;
  };
  for (const event of events) {
    // event texts are mostly ASCII: their length is their size, give or take a multi-byte character
    const size = Buffer.byteLength(event) + 1;
    if (bytes + size > MAX_PAYLOAD_BYTES) close();
    batch.push(event);
    bytes += size;
  }
  close();
  return payloads;
}

/** The LISTEN connection is made again after 100 ms, then backing off to one try every 5 s. */
const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 5000;

/**
 * Several nodes on one PostgreSQL: every event goes through NOTIFY and comes back to every
 * node through LISTEN, this one included, so all nodes see the same order of delivery.
 *
 * Events published in one turn of the event loop leave together, packed into as few payloads as
 * fit, by one statement; one send is under way at a time and the next takes all that was
 * published meanwhile. A fan-out to ten thousand agents publishes tens of thousands of events:
 * a statement each would queue them behind every other query on the pool.
 *
 * The LISTEN connection: listening → (it fails: a database restart, a terminated backend)
 * reconnecting, tried again with backoff → listening, and the resume listeners run → closed.
 */
export class PostgresEventBus implements EventBus {
  readonly #emitter = new EventEmitter().setMaxListeners(0);
  readonly #resumeListeners = new Set<() => void>();
  readonly #pool: pg.Pool;
  readonly #logger: Logger;
  #listener: pg.PoolClient | undefined;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;
  /** Events published and not yet handed to a send, as JSON. */
  #pending: string[] = [];
  /** The send under way (or the last one), never rejecting; the next one starts after it. */
  #sending: Promise<void> = Promise.resolve();
  #sendScheduled = false;
  #payloads = 0;

  private constructor(pool: pg.Pool, logger: Logger) {
    this.#pool = pool;
    this.#logger = logger;
  }

  /** Listens before answering, so a node that cannot LISTEN at start fails to start. */
  static async start(pool: pg.Pool, logger: Logger): Promise<PostgresEventBus> {
    const bus = new PostgresEventBus(pool, logger);
    await bus.#listen();
    return bus;
  }

  get listening(): boolean {
    return this.#listener !== undefined;
  }

  publish(event: FleetEvent): void {
    this.#emitter.emit('published', event);
    this.#pending.push(fitPayload(event));
    if (this.#sendScheduled) return;
    this.#sendScheduled = true;
    setImmediate(() => void this.flush());
  }

  flush(): Promise<void> {
    this.#sending = this.#sending.then(() => this.#send());
    return this.#sending;
  }

  /** Sends what is pending; a failure is logged (those events are lost, as a failed NOTIFY always was). */
  async #send(): Promise<void> {
    this.#sendScheduled = false;
    if (this.#pending.length === 0) return;
    const events = this.#pending;
    this.#pending = [];
    const payloads = packPayloads(events, () => (this.#payloads += 1));
    try {
      // As one JSON text: pg would escape each payload again to write a text[] literal.
      await this.#pool.query(
        'select pg_notify($1, payload) from json_array_elements_text($2::json) as payload',
        [CHANNEL, JSON.stringify(payloads)],
      );
    } catch (error) {
      this.#logger.error({ err: error, events: events.length }, 'event bus: publish failed');
    }
  }

  subscribe(listener: FleetEventListener): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }

  onPublished(listener: FleetEventListener): () => void {
    this.#emitter.on('published', listener);
    return () => this.#emitter.off('published', listener);
  }

  onResume(listener: () => void): () => void {
    this.#resumeListeners.add(listener);
    return () => this.#resumeListeners.delete(listener);
  }

  async close(): Promise<void> {
    // sent, not awaited: with the database gone a send could wait for as long as a connection attempt
    void this.flush();
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#emitter.removeAllListeners();
    this.#resumeListeners.clear();
    const client = this.#listener;
    this.#listener = undefined;
    if (client) {
      await client.query(`UNLISTEN ${CHANNEL}`).catch(() => undefined);
      client.release();
    }
  }

  async #listen(): Promise<void> {
    const client = await this.#pool.connect();
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      let events: FleetEvent[];
      try {
        events = (JSON.parse(message.payload) as { events: FleetEvent[] }).events;
      } catch (error) {
        this.#logger.error({ err: error }, 'event bus: bad payload');
        return;
      }
      for (const event of events) {
        try {
          this.#emitter.emit('event', event);
        } catch (error) {
          this.#logger.error({ err: error, event: event.type }, 'event bus: a listener failed');
        }
      }
    });
    client.on('error', (error) => this.#lost(client, error));
    try {
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (error) {
      // released with the error, so the pool discards the connection instead of reusing it
      client.release(error instanceof Error ? error : true);
      throw error;
    }
    if (this.#closed) {
      client.release();
      return;
    }
    this.#listener = client;
  }

  #lost(client: pg.PoolClient, error: Error): void {
    if (this.#listener !== client) return;
    this.#listener = undefined;
    client.release(error);
    this.#logger.warn({ err: error }, 'event bus: the LISTEN connection failed; reconnecting');
    this.#reconnect(0);
  }

  #reconnect(attempt: number): void {
    if (this.#closed) return;
    const delayMs = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** attempt);
    this.#retry = setTimeout(() => {
      this.#listen().then(
        () => {
          if (!this.#listener) return;
          this.#logger.info({ attempts: attempt + 1 }, 'event bus: listening again; catching up');
          for (const listener of this.#resumeListeners) listener();
        },
        (error: unknown) => {
          if (this.#closed) return;
          this.#logger.warn({ err: error }, 'event bus: could not LISTEN again; retrying');
          this.#reconnect(attempt + 1);
        },
      );
    }, delayMs);
    this.#retry.unref();
  }
}
