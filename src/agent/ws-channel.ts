import { Compile } from 'typebox/compile';
import WebSocket from 'ws';
import {
  AGENT_RECONNECT_MAX_MS,
  AgentCloseCode,
  ServerFrame,
  type AgentFrame,
  type JobEvent,
  type UpdateResult,
} from '../protocol/agent.js';
import {
  HIGH_WATER_BYTES,
  clampInterval,
  terminalEnd,
  type Channel,
  type ChannelContext,
  type SessionEnd,
} from './channel.js';
import { errorMessage } from './log.js';

const checkFrame = Compile(ServerFrame);

const HANDSHAKE_TIMEOUT_MS = 10_000;
const WELCOME_TIMEOUT_MS = 15_000;
const CLOSE_TIMEOUT_MS = 2_000;
/** Nothing heard (no frame, no pong) for this many heartbeats: the connection is dead. */
const SILENT_HEARTBEATS = 3;

/** A Retry-After header (seconds or an HTTP date) in ms, at most the agent's longest reconnect delay. */
function retryAfterMs(header: string | undefined): number {
  if (!header) return 0;
  const seconds = /^\d+$/.test(header.trim()) ? Number(header) : (Date.parse(header) - Date.now()) / 1000;
  return Number.isFinite(seconds) ? Math.min(AGENT_RECONNECT_MAX_MS, Math.max(0, seconds * 1000)) : 0;
}

function rawText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.from(data).toString('utf8');
}

/**
 * One WebSocket session: connecting → open (hello sent first, then events may flow; the server
 * handles frames in order) → welcomed (heartbeats, spooled results resent)
 * → closed. Used once; the connection makes a new one for every reconnect.
 */
export class WsChannel implements Channel {
  private ws: WebSocket | null = null;
  private openedAt: number | undefined;
  private lastHeard = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly context: ChannelContext,
  ) {}

  send(event: JobEvent): boolean {
    return this.sendFrame({ type: 'job_event', event });
  }

  report(result: UpdateResult): boolean {
    return this.sendFrame({ type: 'update_result', ...result });
  }

  congested(): boolean {
    return (this.ws?.bufferedAmount ?? 0) > HIGH_WATER_BYTES;
  }

  run(): Promise<SessionEnd> {
    const { signal, log } = this.context;
    if (signal.aborted) return Promise.resolve({ kind: 'stopped' });
    return new Promise((resolve) => {
      const ws = new WebSocket(this.url, {
        headers: { authorization: `Bearer ${this.context.token}` },
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      });
      this.ws = ws;
      let refusedStatus: number | undefined;
      let retryAfter: string | undefined;
      let errorText: string | undefined;
      let closeTimer: NodeJS.Timeout | undefined;
      const welcomeTimer = setTimeout(() => {
        log('no welcome from the server; reconnecting');
        ws.terminate();
      }, HANDSHAKE_TIMEOUT_MS + WELCOME_TIMEOUT_MS);
      const onAbort = () => {
        if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'agent stopping');
        else ws.terminate();
        closeTimer = setTimeout(() => ws.terminate(), CLOSE_TIMEOUT_MS);
      };
      signal.addEventListener('abort', onAbort, { once: true });

      ws.on('unexpected-response', (_request, response) => {
        refusedStatus = response.statusCode;
        retryAfter = response.headers['retry-after'];
        response.resume();
        ws.terminate();
      });
      ws.on('open', () => {
        this.openedAt = Date.now();
        this.lastHeard = Date.now();
        const host = this.context.host;
        this.sendFrame({ type: 'hello', facts: host.facts(), running_job_ids: host.heldJobIds() });
      });
      ws.on('message', (data) => {
        this.lastHeard = Date.now();
        this.onMessage(rawText(data), welcomeTimer);
      });
      ws.on('pong', () => {
        this.lastHeard = Date.now();
      });
      ws.on('error', (error) => {
        errorText ??= errorMessage(error);
      });
      ws.on('close', (code, reasonBuffer) => {
        clearTimeout(welcomeTimer);
        clearTimeout(closeTimer);
        clearTimeout(this.heartbeatTimer);
        signal.removeEventListener('abort', onAbort);
        this.ws = null;
        const reason = reasonBuffer.toString('utf8');
        const openMs = this.openedAt === undefined ? 0 : Date.now() - this.openedAt;
        const refused =
          refusedStatus === undefined ? null : `WebSocket upgrade refused with HTTP ${refusedStatus}`;
        const terminal =
          terminalEnd(refusedStatus ?? null, refused ?? '') ??
          (code === AgentCloseCode.deleted ? terminalEnd(410, reason || 'agent deleted') : null) ??
          (code === AgentCloseCode.unauthorized ? terminalEnd(401, reason || 'agent token rejected') : null);
        if (terminal) {
          resolve(terminal);
        } else if (signal.aborted) {
          resolve({ kind: 'stopped' });
        } else {
          if (this.openedAt !== undefined) log(`disconnected (${code}${reason ? ` ${reason}` : ''})`);
          else log(refused ?? `WebSocket connection failed: ${errorText ?? `closed with ${code}`}`);
          resolve({
            kind: 'closed',
            opened: this.openedAt !== undefined,
            openMs,
            ...(refusedStatus === 503 ? { retryAfterMs: retryAfterMs(retryAfter) } : {}),
          });
        }
      });
    });
  }

  private sendFrame(frame: AgentFrame): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  private onMessage(text: string, welcomeTimer: NodeJS.Timeout): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      this.context.log('ignored a server frame that is not JSON');
      return;
    }
    if (!checkFrame.Check(frame)) {
      this.context.log(`ignored an unknown server frame: ${text.slice(0, 200)}`);
      return;
    }
    const { host, log, timing } = this.context;
    switch (frame.type) {
      case 'welcome':
        clearTimeout(welcomeTimer);
        timing.heartbeatIntervalMs = clampInterval(frame.heartbeat_interval_ms);
        log(`connected (WebSocket, agent ${frame.agent_id})`);
        if (frame.update_public_key) host.onUpdateKey(frame.update_public_key);
        host.onConnected();
        void this.heartbeat();
        break;
      case 'job':
        host.onJob(frame.job);
        break;
      case 'cancel':
        host.onCancel(frame.job_id);
        break;
      case 'event_ack': {
        const { type: _type, ...ack } = frame;
        host.onAck(ack);
        break;
      }
      case 'error':
        log(`server error ${frame.code}: ${frame.message}`);
        break;
      case 'update': {
        const { type: _type, ...offer } = frame;
        host.onUpdate(offer);
        break;
      }
      case 'refresh_facts':
        this.sendFrame({ type: 'facts', facts: host.refreshFacts() });
        break;
      default: {
        const unexpected: never = frame;
        log(`ignored server frame ${JSON.stringify(unexpected)}`);
      }
    }
  }

  /** Sends metrics and a ping, then schedules the next beat; a silent server is dropped. */
  private async heartbeat(): Promise<void> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const interval = this.context.timing.heartbeatIntervalMs;
    if (Date.now() - this.lastHeard > SILENT_HEARTBEATS * interval) {
      this.context.log('the server stopped answering; reconnecting');
      ws.terminate();
      return;
    }
    try {
      this.sendFrame({ type: 'heartbeat', metrics: await this.context.host.metrics() });
      if (ws.readyState === WebSocket.OPEN) ws.ping();
    } catch (error) {
      this.context.log(`heartbeat failed: ${errorMessage(error)}`);
    }
    if (ws.readyState !== WebSocket.OPEN) return;
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(), interval);
  }
}
