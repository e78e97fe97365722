import { AGENT_RECONNECT_MAX_MS, type JobEvent, type UpdateResult } from '../protocol/agent.js';
import { Backoff, sleep } from './backoff.js';
import type { Channel, ChannelHost, SessionEnd } from './channel.js';
import { HttpChannel } from './http-channel.js';
import { AgentApi, websocketUrl } from './http-api.js';
import type { AgentLog } from './log.js';
import { WsChannel } from './ws-channel.js';

/** A connection that lasted this long was healthy: the next reconnect starts from the base delay. */
const STABLE_MS = 10_000;
/** The WebSocket failed to open this many times in a row: try HTTP polling. */
const WS_FAILURES_BEFORE_FALLBACK = 3;
/** While polling as a fallback, the WebSocket is tried again this often. */
const WS_RETRY_MS = 5 * 60_000;

export interface ConnectionOptions {
  server: string;
  token: string;
  transport: 'ws' | 'http';
  host: ChannelHost;
  log: AgentLog;
  heartbeatIntervalMs: number;
  random?: () => number;
}

export type ConnectionEnd = Exclude<SessionEnd, { kind: 'closed' }>;

/**
 * Keeps the agent connected until it is stopped or the server ends it (401, 410). With ws it
 * reconnects forever with backoff, and polls over HTTP while the WebSocket cannot be opened but
 * HTTP works, retrying the WebSocket every WS_RETRY_MS; a 503 to the upgrade (a full node) is
 * no reason to poll: the WebSocket is tried again after the server's Retry-After. With http it
 * only polls.
 */
export class Connection {
  private readonly abort = new AbortController();
  private readonly backoff: Backoff;
  private readonly api: AgentApi;
  private readonly timing: { heartbeatIntervalMs: number };
  private channel: Channel | null = null;

  constructor(private readonly options: ConnectionOptions) {
    this.backoff = new Backoff(500, AGENT_RECONNECT_MAX_MS, options.random);
    this.api = new AgentApi(options.server);
    this.timing = { heartbeatIntervalMs: options.heartbeatIntervalMs };
  }

  /** false when not connected; the caller keeps what it cannot lose. */
  send(event: JobEvent): boolean {
    return this.channel?.send(event) ?? false;
  }

  report(result: UpdateResult): boolean {
    return this.channel?.report(result) ?? false;
  }

  congested(): boolean {
    return this.channel?.congested() ?? false;
  }

  stop(): void {
    this.abort.abort();
  }

  async run(): Promise<ConnectionEnd> {
    if (this.options.transport === 'http') {
      const end = await this.session(this.http(false));
      return end.kind === 'closed' ? { kind: 'stopped' } : end;
    }
    let openFailures = 0;
    while (!this.abort.signal.aborted) {
      const end = await this.session(new WsChannel(websocketUrl(this.options.server), this.context()));
      if (end.kind !== 'closed') return end;
      if (end.retryAfterMs !== undefined) {
        // The server is up but busy: polling it over HTTP would load it more, so the WebSocket is
        // tried again after the wait it asked for, jittered so refused agents do not come back at once.
        const delay = end.retryAfterMs + this.backoff.next();
        this.options.log(`server busy; trying the WebSocket again in ${(delay / 1000).toFixed(1)}s`);
        await sleep(delay, this.abort.signal);
        continue;
      }
      if (end.openMs >= STABLE_MS) this.backoff.reset();
      openFailures = end.opened ? 0 : openFailures + 1;
      if (openFailures >= WS_FAILURES_BEFORE_FALLBACK) {
        const fallback = await this.session(this.http(true));
        if (fallback.kind !== 'closed') return fallback;
        if (fallback.opened) {
          // polled for a while: try the WebSocket again at once
          openFailures = 0;
          continue;
        }
      }
      await sleep(this.backoff.next(), this.abort.signal);
    }
    return { kind: 'stopped' };
  }

  private http(fallback: boolean): HttpChannel {
    return new HttpChannel(this.api, this.context(), {
      fallback,
      untilMs: fallback ? Date.now() + WS_RETRY_MS : undefined,
      backoff: this.backoff,
    });
  }

  private context() {
    return {
      token: this.options.token,
      host: this.options.host,
      log: this.options.log,
      signal: this.abort.signal,
      timing: this.timing,
    };
  }

  private async session(channel: Channel): Promise<SessionEnd> {
    this.channel = channel;
    try {
      return await channel.run();
    } finally {
      this.channel = null;
    }
  }
}
