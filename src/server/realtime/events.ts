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
 * Several nodes on one PostgreSQL: every event goes through NOTIFY and comes back to every
 * node through LISTEN, this one included, so all nodes see the same order of delivery.
 */
export class PostgresEventBus implements EventBus {
  readonly #emitter = new EventEmitter().setMaxListeners(0);
  readonly #pool: pg.Pool;
  readonly #logger: Logger;
  #listener: pg.PoolClient | undefined;

  private constructor(pool: pg.Pool, logger: Logger) {
    this.#pool = pool;
    this.#logger = logger;
  }

  static async start(pool: pg.Pool, logger: Logger): Promise<PostgresEventBus> {
    const bus = new PostgresEventBus(pool, logger);
    const client = await pool.connect();
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      try {
        bus.#emitter.emit('event', JSON.parse(message.payload) as FleetEvent);
      } catch (error) {
        logger.error({ err: error }, 'event bus: bad payload');
      }
    });
    client.on('error', (error) => logger.error({ err: error }, 'event bus: listener connection failed'));
    await client.query(`LISTEN ${CHANNEL}`);
    bus.#listener = client;
    return bus;
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

  async close(): Promise<void> {
    this.#emitter.removeAllListeners();
    const client = this.#listener;
    this.#listener = undefined;
    if (client) {
      await client.query(`UNLISTEN ${CHANNEL}`).catch(() => undefined);
      client.release();
    }
  }
}
