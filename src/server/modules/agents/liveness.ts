import type { AgentMetrics } from '../../../protocol/agent.js';
import type { Config } from '../../config.js';
import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/logger.js';
import { sweepTimer, type OutageHold } from '../../lib/sweep-timer.js';
import type { EventBus } from '../../realtime/events.js';
import { livenessRepo, type AgentRef, type Beat } from './liveness.repo.js';

/** Agents per UPDATE: 3 parameters each stays far below both dialects' limits. */
const BEATS_PER_STATEMENT = 500;

export interface LivenessDeps {
  db: Executor;
  clock: Clock;
  bus: EventBus;
  fleet: Pick<Config['fleet'], 'heartbeatFlushMs' | 'offlineAfterMs' | 'sweepIntervalMs'>;
  /** Holds the sweep back after the database was unreachable. */
  hold: OutageHold;
  logger: Logger;
  /** Called with the agents whose heartbeats were written (at most 500 at a time): job leases are renewed there. */
  onSeen: (agentIds: string[]) => Promise<void>;
  /** Called with the metrics of the heartbeats just written (at most 500): metrics history keeps them. */
  onMetrics?: (heard: HeardMetrics[]) => Promise<void>;
}

/** The metrics of a heartbeat written: whose, when heard. */
export interface HeardMetrics {
  agent_id: string;
  org_id: string;
  at: string;
  metrics: AgentMetrics;
}

/**
 * Whether agents are alive, from their heartbeats.
 *
 * An agent is `pending` (a machine record that never registered), `online` or `offline`.
 * A heartbeat is buffered in memory (the latest per agent wins) and the buffer is written
 * every heartbeatFlushMs in one statement per 500 agents, so ten thousand agents cost a few
 * statements a second, not ten thousand; a write moves the agent to `online`. The sweep,
 * every sweepIntervalMs, moves `online` agents silent for offlineAfterMs to `offline`.
 * Both transitions publish `agent.status`.
 *
 * Timer states: stopped → start() → running → stop() → stopped (after a last flush).
 */
export class Liveness {
  readonly #deps: LivenessDeps;
  /** Since start: heartbeats heard (hellos included), and agent rows they updated (one per agent per flush). */
  readonly counts = { received: 0, written: 0 };
  #buffer = new Map<string, Beat>();
  #flushing: Promise<void> = Promise.resolve();
  #sweeping: Promise<AgentRef[]> | undefined;
  #timers: NodeJS.Timeout[] = [];

  constructor(deps: LivenessDeps) {
    this.#deps = deps;
  }

  /** Buffers a heartbeat; metrics null keeps the last metrics known. */
  record(agentId: string, metrics: AgentMetrics | null): void {
    this.counts.received += 1;
    const previous = this.#buffer.get(agentId);
    const seen = this.#deps.clock.now().toISOString();
    this.#buffer.set(agentId, {
      id: agentId,
      seen,
      metrics: metrics ?? previous?.metrics ?? null,
      metricsAt: metrics ? seen : (previous?.metricsAt ?? null),
    });
  }

  start(): void {
    if (this.#timers.length > 0) return;
    const { heartbeatFlushMs, sweepIntervalMs } = this.#deps.fleet;
    this.#timers = [
      setInterval(() => void this.flush(), heartbeatFlushMs).unref(),
      sweepTimer(() => void this.sweep(), sweepIntervalMs),
    ];
  }

  /** Stops the timers and writes what is still buffered. */
  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    await this.#sweeping;
    await this.flush();
  }

  /** Writes the buffer; flushes run one after another, never two at once. Never rejects. */
  flush(): Promise<void> {
    const run = this.#flushing.then(() => this.#flushOnce());
    this.#flushing = run.catch(() => undefined);
    return run;
  }

  /** Marks silent agents offline and answers them; a sweep already under way is joined, not doubled. */
  sweep(): Promise<AgentRef[]> {
    this.#sweeping ??= this.#sweepOnce().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #flushOnce(): Promise<void> {
    if (this.#buffer.size === 0) return;
    const beats = [...this.#buffer.values()];
    this.#buffer = new Map();
    for (let i = 0; i < beats.length; i += BEATS_PER_STATEMENT) {
      // SQLite answers synchronously, so a flush of ten thousand beats would hold the event loop
      // for its whole length (a third of a second): sockets get their turn between chunks.
      if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const chunk = beats.slice(i, i + BEATS_PER_STATEMENT);
      let written: AgentRef[];
      try {
        written = await this.#write(chunk);
      } catch (error) {
        this.#deps.logger.error({ err: error, agents: chunk.length }, 'liveness: heartbeat write failed');
        // Keep them for the next flush, unless a newer heartbeat arrived meanwhile.
        for (const beat of chunk) if (!this.#buffer.has(beat.id)) this.#buffer.set(beat.id, beat);
        continue;
      }
      this.counts.written += written.length;
      if (written.length === 0) continue;
      await this.#keepMetrics(chunk, written);
      try {
        await this.#deps.onSeen(written.map((agent) => agent.id));
      } catch (error) {
        this.#deps.logger.error({ err: error, agents: written.length }, 'liveness: onSeen failed');
      }
    }
  }

  /** Hands the metrics of the beats written on, in one call per chunk; a failure costs points, never heartbeats. */
  async #keepMetrics(chunk: readonly Beat[], written: readonly AgentRef[]): Promise<void> {
    const { onMetrics, logger } = this.#deps;
    if (!onMetrics) return;
    const orgOf = new Map(written.map((agent) => [agent.id, agent.org_id]));
    const heard: HeardMetrics[] = [];
    for (const beat of chunk) {
      const orgId = orgOf.get(beat.id);
      // A hello carries no metrics: only heartbeats that did make points, at the time they were heard.
      if (orgId !== undefined && beat.metrics && beat.metricsAt)
        heard.push({ agent_id: beat.id, org_id: orgId, at: beat.metricsAt, metrics: beat.metrics });
    }
    if (heard.length === 0) return;
    try {
      await onMetrics(heard);
    } catch (error) {
      logger.error({ err: error, points: heard.length }, 'liveness: metrics history write failed');
    }
  }

  async #write(chunk: Beat[]): Promise<AgentRef[]> {
    const { db, bus } = this.#deps;
    // Usually empty: a prior read keeps the write a single plain statement on both dialects.
    const cameOnline = await livenessRepo.notOnline(
      db,
      chunk.map((beat) => beat.id),
    );
    const written = await livenessRepo.writeBeats(db, chunk);
    const writtenIds = new Set(written.map((agent) => agent.id));
    for (const agent of cameOnline) {
      if (!writtenIds.has(agent.id)) continue;
      bus.publish({
        type: 'agent.status',
        org_id: agent.org_id,
        agent_id: agent.id,
        status: 'online',
        connected: agent.connected,
      });
    }
    return written;
  }

  async #sweepOnce(): Promise<AgentRef[]> {
    const { db, bus, clock, fleet, logger, hold } = this.#deps;
    // Heartbeats heard here but not yet written must not read as silence; nor, after an outage,
    // those other nodes heard and did not write yet.
    await this.flush();
    if (await hold.holding()) return [];
    const now = clock.now();
    const cutoff = new Date(now.getTime() - fleet.offlineAfterMs).toISOString();
    try {
      const offline = await livenessRepo.markSilentOffline(db, cutoff, now.toISOString());
      for (const agent of offline) {
        bus.publish({
          type: 'agent.status',
          org_id: agent.org_id,
          agent_id: agent.id,
          status: 'offline',
          connected: false,
        });
      }
      if (offline.length > 0) logger.info({ agents: offline.length }, 'liveness: agents went offline');
      return offline;
    } catch (error) {
      hold.failed(error);
      logger.error({ err: error }, 'liveness: sweep failed');
      return [];
    }
  }
}
