import type {
  AgentFacts,
  AgentMetrics,
  EventAck,
  JobEvent,
  JobSpec,
  UpdateOffer,
  UpdateResult,
} from '../protocol/agent.js';
import type { AgentLog } from './log.js';

/** The contract between the agent and a transport session (WebSocket or HTTP polling). */

/** What a session needs from the agent and tells it. */
export interface ChannelHost {
  facts(): AgentFacts;
  heldJobIds(): string[];
  metrics(): Promise<AgentMetrics>;
  /** The server asked for fresh facts: collects them again and answers them (facts() too, after). */
  refreshFacts(): AgentFacts;
  /** The server accepted the session: spooled results can be sent. */
  onConnected(): void;
  onJob(spec: JobSpec): void;
  onCancel(jobId: string): void;
  /**
   * The server's answer about an event. Whatever its outcome the event is settled: a result is
   * forgotten (applied or duplicate: the server has it; conflict or impossible: it never will).
   */
  onAck(ack: EventAck): void;
  /** The server told its build-signing key (in welcome). */
  onUpdateKey(key: string): void;
  /** The server offers a newer build of the agent. */
  onUpdate(offer: UpdateOffer): void;
}

export type SessionEnd =
  /**
   * opened: the transport worked (upgrade done, or a heartbeat answered); openMs: for how long.
   * retryAfterMs: the server answered 503, up but unable to take the session now (a full node, or
   * one waiting for its database): try the same transport again after this long.
   */
  | { kind: 'closed'; opened: boolean; openMs: number; retryAfterMs?: number }
  /** 410, or the socket closed with 4410: the agent was deleted. */
  | { kind: 'gone'; reason: string }
  /** 401, or the socket closed with 4401: the agent token was replaced, revoked or is invalid. */
  | { kind: 'unauthorized'; message: string }
  | { kind: 'stopped' };

export interface Channel {
  run(): Promise<SessionEnd>;
  /** false when the event could not be sent now (not connected). */
  send(event: JobEvent): boolean;
  /** Tells the server how an update ended; false when it cannot now. */
  report(result: UpdateResult): boolean;
  congested(): boolean;
}

export interface ChannelContext {
  token: string;
  host: ChannelHost;
  log: AgentLog;
  /** Aborted when the agent stops. */
  signal: AbortSignal;
  /** Shared across sessions: the server may change the interval in welcome or a heartbeat reply. */
  timing: { heartbeatIntervalMs: number };
}

/** Output is paused above this much unsent data. */
export const HIGH_WATER_BYTES = 1024 * 1024;

/**
 * A server value of 0 would make a hot loop and an hour would look like a dead agent. The floor
 * is far below any interval worth configuring, so the server's leases (3 heartbeats or more) hold.
 */
export function clampInterval(ms: number): number {
  return Math.min(10 * 60_000, Math.max(100, ms));
}

/** 410 and 401 end the agent, whichever request they answer. */
export function terminalEnd(status: number | null, message: string): SessionEnd | null {
  if (status === 410) return { kind: 'gone', reason: message };
  if (status === 401) return { kind: 'unauthorized', message };
  return null;
}
