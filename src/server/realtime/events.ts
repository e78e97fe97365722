import { EventEmitter } from 'node:events';
import type pg from 'pg';
import type { Logger } from '../lib/logger.js';

/** Everything that happens in the fleet, as seen by consoles and by other server nodes. */
export type FleetEvent =
  | { type: 'agent.status'; org_id: string; agent_id: string; status: string; connected: boolean }
  | { type: 'agent.deleted'; org_id: string; agent_id: string; reason: string }
  | {
      type: 'job.state';
      org_id: string;
      job_id: string;
      agent_id: string;
      run_id: string | null;
      status: string;
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
  | { type: 'run.progress'; org_id: string; run_id: string; status: string; counts: Record<string, number> }
  /** Internal: jobs wait for this agent; the node holding its socket dispatches them. */
  | { type: 'agent.jobs_available'; org_id: string; agent_id: string }
  /** Internal: the node holding this agent's socket tells it to cancel. */
  | { type: 'job.cancel'; org_id: string; agent_id: string; job_id: string };

export type FleetEventListener = (event: FleetEvent) => void;

export interface EventBus {
  publish(event: FleetEvent): void;
  subscribe(listener: FleetEventListener): () => void;
  /**
   * Called each time the bus hears other nodes again after a gap (its connection was lost and
   * re-made): events published meanwhile were missed, so what they would have started is re-read.
   */
  onResume(listener: () => void): () => void;
  /** False during such a gap. */
  readonly listening: boolean;
  close(): Promise<void>;
}

/** One node: events stay in the process. */
export class InProcessEventBus implements EventBus {
  readonly #emitter = new EventEmitter().setMaxListeners(0);

  publish(event: FleetEvent): void {
    this.#emitter.emit('event', event);
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

/** The LISTEN connection is made again after 100 ms, then backing off to one try every 5 s. */
const RECONNECT_FIRST_MS = 100;
const RECONNECT_MAX_MS = 5000;

/**
 * Several nodes on one PostgreSQL: every event goes through NOTIFY and comes back to every
 * node through LISTEN, this one included, so all nodes see the same order of delivery.
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
    this.#pool.query('select pg_notify($1, $2)', [CHANNEL, fitPayload(event)]).catch((error: unknown) => {
      this.#logger.error({ err: error, event: event.type }, 'event bus: publish failed');
    });
  }

  subscribe(listener: FleetEventListener): () => void {
    this.#emitter.on('event', listener);
    return () => this.#emitter.off('event', listener);
  }

  onResume(listener: () => void): () => void {
    this.#resumeListeners.add(listener);
    return () => this.#resumeListeners.delete(listener);
  }

  async close(): Promise<void> {
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
      try {
        this.#emitter.emit('event', JSON.parse(message.payload) as FleetEvent);
      } catch (error) {
        this.#logger.error({ err: error }, 'event bus: bad payload');
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
