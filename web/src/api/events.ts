import { useEffect } from 'react';
import { tokenStore } from './client';

/** What the events WebSocket delivers to a console (src/server/realtime/console.routes.ts). */
export type FleetEvent =
  | { type: 'agent.status'; agent_id: string; status: 'pending' | 'online' | 'offline'; connected: boolean }
  | { type: 'agent.deleted'; agent_id: string; reason: string }
  | { type: 'agent.facts'; agent_id: string }
  | {
      type: 'job.state';
      job_id: string;
      agent_id: string | null;
      run_id: string | null;
      status: string;
      exit_code: number | null;
    }
  | { type: 'job.output'; job_id: string; attempt: number; seq: number; stream: string; data: string }
  | { type: 'run.progress'; run_id: string; status: string; counts: Record<string, number> }
  | { type: 'subscribed'; job_id: string }
  | { type: 'error'; code: string; message: string; job_id?: string };

type Listener = (event: FleetEvent) => void;

/**
 * The app's one events socket. States: closed (no token) → connecting → open; a drop while a
 * token is held reconnects after a growing delay (1 s to 15 s) and subscribes again to every
 * followed job. A new token (refresh, org switch) reconnects at once.
 */
class EventStream {
  #socket: WebSocket | null = null;
  #listeners = new Set<Listener>();
  #followed = new Map<string, number>();
  #retryMs = 1000;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor() {
    tokenStore.subscribe(() => this.#reconnect());
  }

  on(listener: Listener): () => void {
    this.#listeners.add(listener);
    if (!this.#socket) this.#reconnect();
    return () => this.#listeners.delete(listener);
  }

  /** Output of a job arrives only while some page follows it. */
  follow(jobId: string): () => void {
    this.#followed.set(jobId, (this.#followed.get(jobId) ?? 0) + 1);
    this.#send({ type: 'subscribe', job_id: jobId });
    return () => {
      const left = (this.#followed.get(jobId) ?? 1) - 1;
      if (left > 0) this.#followed.set(jobId, left);
      else {
        this.#followed.delete(jobId);
        this.#send({ type: 'unsubscribe', job_id: jobId });
      }
    };
  }

  #send(command: object) {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(command));
  }

  #reconnect() {
    clearTimeout(this.#timer);
    const old = this.#socket;
    this.#socket = null;
    old?.close();
    const token = tokenStore.get();
    if (!token) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(
      `${scheme}://${location.host}/api/v1/events/ws?access_token=${encodeURIComponent(token)}`,
    );
    this.#socket = socket;
    socket.onopen = () => {
      this.#retryMs = 1000;
      for (const jobId of this.#followed.keys()) this.#send({ type: 'subscribe', job_id: jobId });
    };
    socket.onmessage = (message: MessageEvent<string>) => {
      const event = JSON.parse(message.data) as FleetEvent;
      for (const listener of this.#listeners) listener(event);
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#timer = setTimeout(() => this.#reconnect(), this.#retryMs);
      this.#retryMs = Math.min(this.#retryMs * 2, 15_000);
    };
  }
}

export const events = new EventStream();

/** Calls `listener` for every event while the component is mounted. */
export function useFleetEvents(listener: Listener): void {
  useEffect(() => events.on(listener), [listener]);
}

/** Follows a job's output while mounted (and `jobId` is set). */
export function useFollowJob(jobId: string | undefined): void {
  useEffect(() => (jobId ? events.follow(jobId) : undefined), [jobId]);
}
