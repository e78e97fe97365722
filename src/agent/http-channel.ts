import type { AgentFacts, EventAck, JobEvent, JobEventsResponse, UpdateResult } from '../protocol/agent.js';
import type { Backoff } from './backoff.js';
import { sleep } from './backoff.js';
import {
  HIGH_WATER_BYTES,
  clampInterval,
  terminalEnd,
  type Channel,
  type ChannelContext,
  type SessionEnd,
} from './channel.js';
import type { AgentApi, ApiOutcome } from './http-api.js';

/** The server's JobEventsRequest takes at most 500 events; the byte cap stays under its 1 MiB body limit. */
const MAX_BATCH_EVENTS = 500;
const MAX_BATCH_BYTES = 512 * 1024;
/** When the agent stops, events already on their way (the results of killed jobs) get this long. */
const FLUSH_GRACE_MS = 2_000;

export interface HttpChannelOptions {
  /**
   * A fallback session stands in for an unreachable WebSocket: it ends at its first failure (so
   * the connection tries the WebSocket again) or at untilMs. Otherwise it polls until stopped.
   */
  fallback: boolean;
  untilMs: number | undefined;
  backoff: Backoff;
}

interface Queued {
  event: JobEvent;
  bytes: number;
}

/**
 * The HTTP polling session: a heartbeat every interval returns the jobs waiting and the cancels
 * due; events go out in batches, one request per job. polling ⇄ failing (backoff) → ended.
 */
export class HttpChannel implements Channel {
  private readonly outbox: Queued[] = [];
  private outboxBytes = 0;
  private flushing: Promise<void> | null = null;
  private healthy = false;
  private terminal: SessionEnd | null = null;
  /** An update's outcome, sent with the next heartbeat. */
  private updateResult: UpdateResult | undefined;
  /** Ends event posts: on 401 or 410, or FLUSH_GRACE_MS after the session ended. */
  private readonly ended = new AbortController();
  /** Ends the heartbeat loop: the agent stops, or the session ended. */
  private readonly signal: AbortSignal;

  constructor(
    private readonly api: AgentApi,
    private readonly context: ChannelContext,
    private readonly options: HttpChannelOptions,
  ) {
    this.signal = AbortSignal.any([context.signal, this.ended.signal]);
  }

  send(event: JobEvent): boolean {
    if (!this.healthy || this.ended.signal.aborted) return false;
    const bytes = Buffer.byteLength(JSON.stringify(event));
    this.outbox.push({ event, bytes });
    this.outboxBytes += bytes;
    this.flushing ??= this.flush().finally(() => {
      this.flushing = null;
    });
    return true;
  }

  report(result: UpdateResult): boolean {
    if (!this.healthy) return false;
    this.updateResult = result;
    return true;
  }

  congested(): boolean {
    return this.outboxBytes > HIGH_WATER_BYTES;
  }

  async run(): Promise<SessionEnd> {
    const { host, log, timing, token } = this.context;
    const startedAt = Date.now();
    let everHealthy = false;
    /** Facts collected again at the server's request, sent with the next heartbeat. */
    let refreshedFacts: AgentFacts | undefined;
    while (!this.signal.aborted) {
      if (this.options.untilMs !== undefined && Date.now() >= this.options.untilMs) break;
      const updateResult = this.updateResult;
      const reply = await this.api.heartbeat(
        token,
        {
          metrics: await host.metrics(),
          running_job_ids: host.heldJobIds(),
          // facts ride on the first heartbeat of a session, as they do on hello
          ...(everHealthy && !refreshedFacts ? {} : { facts: refreshedFacts ?? host.facts() }),
          ...(updateResult ? { update_result: updateResult } : {}),
        },
        this.signal,
      );
      if (this.signal.aborted) break;
      if (reply.ok) {
        timing.heartbeatIntervalMs = clampInterval(reply.body.heartbeat_interval_ms);
        if (!this.healthy) {
          this.healthy = true;
          everHealthy = true;
          this.options.backoff.reset();
          const every = `every ${Math.round(timing.heartbeatIntervalMs / 1000)}s`;
          log(
            this.options.fallback
              ? `WebSocket unavailable; polling over HTTP ${every}`
              : `connected (HTTP polling ${every})`,
          );
          host.onConnected();
        }
        if (this.updateResult === updateResult) this.updateResult = undefined;
        refreshedFacts = reply.body.refresh_facts ? host.refreshFacts() : undefined;
        if (reply.body.update) host.onUpdate(reply.body.update);
        for (const job of reply.body.jobs) host.onJob(job);
        for (const jobId of reply.body.cancel_job_ids) host.onCancel(jobId);
        // fresh facts go at once rather than an interval later
        if (!refreshedFacts) await sleep(timing.heartbeatIntervalMs, this.signal);
        continue;
      }
      this.terminal = terminalEnd(reply.status, reply.message);
      if (this.terminal) break;
      this.healthy = false;
      if (this.options.fallback) {
        if (everHealthy) log(`HTTP heartbeat failed: ${reply.message}`);
        break;
      }
      const delay = this.options.backoff.next();
      log(`HTTP heartbeat failed: ${reply.message}; retrying in ${(delay / 1000).toFixed(1)}s`);
      await sleep(delay, this.signal);
    }
    this.healthy = false;
    const grace = setTimeout(() => this.ended.abort(), FLUSH_GRACE_MS);
    await this.flushing;
    clearTimeout(grace);
    if (this.terminal) return this.terminal;
    if (this.context.signal.aborted) return { kind: 'stopped' };
    return { kind: 'closed', opened: everHealthy, openMs: everHealthy ? Date.now() - startedAt : 0 };
  }

  /** Sends what is queued, one request per job in arrival order, until the outbox is empty. */
  private async flush(): Promise<void> {
    while (this.outbox.length > 0 && !this.ended.signal.aborted) {
      const batch = this.nextBatch();
      const jobId = batch[0]?.event.job_id ?? '';
      const reply = await this.api.postEvents(
        this.context.token,
        jobId,
        batch.map((queued) => queued.event),
        this.ended.signal,
      );
      this.outboxBytes -= batch.reduce((sum, queued) => sum + queued.bytes, 0);
      this.settle(jobId, batch, reply);
    }
    // what is left is dropped: output is best-effort and results wait in the spool
    this.outbox.length = 0;
    this.outboxBytes = 0;
  }

  /** Takes the oldest job's events (up to the batch caps) out of the outbox, keeping their order. */
  private nextBatch(): Queued[] {
    const jobId = this.outbox[0]?.event.job_id;
    const batch: Queued[] = [];
    let bytes = 0;
    for (let i = 0; i < this.outbox.length && batch.length < MAX_BATCH_EVENTS;) {
      const queued = this.outbox[i];
      if (!queued || queued.event.job_id !== jobId) {
        i += 1;
        continue;
      }
      if (batch.length > 0 && bytes + queued.bytes > MAX_BATCH_BYTES) break;
      batch.push(queued);
      bytes += queued.bytes;
      this.outbox.splice(i, 1);
    }
    return batch;
  }

  /** Hands the host the server's answer about each event, as the WebSocket's event_ack frames do. */
  private settle(jobId: string, batch: Queued[], reply: ApiOutcome<JobEventsResponse>): void {
    const { host, log } = this.context;
    if (reply.ok) {
      for (const ack of reply.body.acks) host.onAck(ack);
      return;
    }
    const terminal = terminalEnd(reply.status, reply.message);
    if (terminal) {
      this.terminal = terminal;
      this.ended.abort();
    } else if (reply.status !== null && reply.status < 500 && reply.status !== 408 && reply.status !== 429) {
      // the server will never take these events; resending its results would loop forever
      const results = batch.flatMap(({ event }) => (event.type === 'result' ? [event] : []));
      if (results.length === 0) log(`job ${jobId}: the server rejected its events: ${reply.message}`);
      for (const result of results) host.onAck(refused(result, reply.message));
    } else {
      log(`job ${jobId}: events not delivered (${reply.message}); a result is sent again later`);
    }
  }
}

function refused(event: Extract<JobEvent, { type: 'result' }>, message: string): EventAck {
  return { job_id: event.job_id, attempt: event.attempt, event: 'result', outcome: 'impossible', message };
}
