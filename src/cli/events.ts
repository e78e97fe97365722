import WebSocket from 'ws';
import type { FleetEvent } from '../server/realtime/events.js';
import type { ApiClient } from './client.js';

/** What the events socket sends (src/server/realtime/console.routes.ts). */
export type StreamMessage =
  | FleetEvent
  | { type: 'subscribed'; job_id: string }
  | { type: 'error'; code: string; message: string; job_id?: string };

export interface StreamListener {
  message(message: StreamMessage): void;
  /** The socket came back after a drop: events meanwhile were missed, followed jobs are subscribed again. */
  reconnected(): void;
}

const MAX_RETRY_MS = 10_000;

function socketUrl(server: string): string {
  const url = new URL('/api/v1/events/ws', server);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/**
 * The server's events socket, for one command. States: connecting → open → (dropped → waiting
 * → connecting again, each followed job subscribed again) → closed by `close`. The first
 * connection must succeed; a refused token is refreshed once.
 */
export class EventStream {
  readonly #client: ApiClient;
  readonly #listener: StreamListener;
  readonly #followed = new Set<string>();
  #socket: WebSocket | null = null;
  #closed = false;
  #retryMs = 500;
  #timer: NodeJS.Timeout | undefined;

  private constructor(client: ApiClient, listener: StreamListener) {
    this.#client = client;
    this.#listener = listener;
  }

  static async open(client: ApiClient, listener: StreamListener): Promise<EventStream> {
    const stream = new EventStream(client, listener);
    try {
      await stream.#connect();
    } catch (error) {
      const refused = error instanceof RefusedError && error.status === 401;
      if (!refused) throw error;
      await client.refresh();
      await stream.#connect();
    }
    return stream;
  }

  /** Output of a job arrives only once it is followed: the server answers `subscribed`. */
  follow(jobId: string): void {
    this.#followed.add(jobId);
    this.#send({ type: 'subscribe', job_id: jobId });
  }

  unfollow(jobId: string): void {
    if (this.#followed.delete(jobId)) this.#send({ type: 'unsubscribe', job_id: jobId });
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#socket?.close();
  }

  #send(command: object): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(command));
  }

  #connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(socketUrl(this.#client.server), {
        headers: { authorization: `Bearer ${this.#client.token}` },
      });
      let opened = false;
      socket.on('unexpected-response', (_request, response) => {
        socket.terminate();
        reject(new RefusedError(response.statusCode ?? 0));
      });
      socket.on('error', (error) => {
        if (!opened) reject(new Error(`events socket: ${error.message}`));
      });
      socket.on('open', () => {
        opened = true;
        this.#socket = socket;
        this.#retryMs = 500;
        for (const jobId of this.#followed) this.#send({ type: 'subscribe', job_id: jobId });
        resolve();
      });
      socket.on('message', (data: Buffer) => {
        this.#listener.message(JSON.parse(data.toString('utf8')) as StreamMessage);
      });
      socket.on('close', () => {
        if (!opened || this.#closed) return;
        this.#socket = null;
        this.#timer = setTimeout(() => this.#reconnect(), this.#retryMs);
        this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
      });
    });
  }

  #reconnect(): void {
    const again = () => {
      if (this.#closed) return;
      this.#timer = setTimeout(() => this.#reconnect(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    };
    this.#connect().then(
      () => this.#listener.reconnected(),
      async (error: unknown) => {
        // an access token that expired meanwhile is renewed; anything else is tried again later
        if (error instanceof RefusedError && error.status === 401)
          await this.#client.refresh().catch(() => undefined);
        again();
      },
    );
  }
}

class RefusedError extends Error {
  constructor(readonly status: number) {
    super(`events socket refused: HTTP ${status}`);
  }
}
