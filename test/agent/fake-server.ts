import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import type {
  AgentFrame,
  EventAck,
  EventOutcome,
  HeartbeatResponse,
  JobEvent,
  JobEventsResponse,
  JobSpec,
  ServerFrame,
} from '../../src/protocol/agent.js';

/**
 * A stand-in for the agent endpoints of the Fleetplane server, speaking the wire protocol from
 * src/protocol/agent.ts, so the agent's lifecycle is tested without the real server. Every
 * request and frame is recorded; answers are set by the test.
 */
export class FakeAgentServer {
  readonly token = 'fat_test-token';
  readonly registrations: unknown[] = [];
  readonly frames: AgentFrame[] = [];
  readonly heartbeats: unknown[] = [];
  readonly postedEvents: { jobId: string; events: JobEvent[] }[] = [];
  /** When set, the WebSocket upgrade is answered with this status. */
  upgradeStatus: number | null = null;
  /** A Retry-After header for that answer, in seconds. */
  upgradeRetryAfter: number | null = null;
  /** When set, heartbeats are answered with this status. */
  heartbeatStatus: number | null = null;
  /** Event posts answered with a status other than 200, by job id. */
  readonly eventStatus = new Map<string, number>();
  /** Results over the WebSocket are acknowledged unless this is false. */
  ackResults = true;
  /** What the server makes of a job's events, by job id (over both transports); `applied` when unset. */
  readonly eventOutcome = new Map<string, EventOutcome>();
  /** Jobs the next HTTP heartbeat hands out. */
  readonly pendingJobs: JobSpec[] = [];
  readonly pendingCancels: string[] = [];
  upgrades = 0;
  url = '';
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<WebSocket>();
  private readonly welcomed = new Set<WebSocket>();

  constructor(private readonly heartbeatIntervalMs = 1_000) {
    this.http = createServer((request, response) => void this.route(request, response));
    this.http.on('upgrade', (request, socket, head) => this.upgrade(request, socket, head));
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    this.http.closeAllConnections();
    await new Promise((resolve) => this.http.close(resolve));
  }

  /** Sends a frame to every connected agent. */
  push(frame: ServerFrame): void {
    for (const ws of this.sockets) ws.send(JSON.stringify(frame));
  }

  /** Agents connected and welcomed: jobs pushed now follow the welcome, as on the real server. */
  connected(): number {
    return [...this.welcomed].filter((ws) => ws.readyState === WebSocket.OPEN).length;
  }

  closeSockets(code: number, reason = ''): void {
    for (const ws of this.sockets) ws.close(code, reason);
  }

  /** Every job event the agent sent, over either transport. */
  events(): JobEvent[] {
    return [
      ...this.frames.flatMap((frame) => (frame.type === 'job_event' ? [frame.event] : [])),
      ...this.postedEvents.flatMap((post) => post.events),
    ];
  }

  private ack(event: JobEvent): EventAck {
    const outcome = this.eventOutcome.get(event.job_id) ?? 'applied';
    return {
      job_id: event.job_id,
      attempt: event.attempt,
      event: event.type,
      outcome,
      ...(outcome === 'applied' ? {} : { message: `the fake server says ${outcome}` }),
    };
  }

  private upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.upgrades += 1;
    const status = request.headers.authorization === `Bearer ${this.token}` ? this.upgradeStatus : 401;
    if (status !== null) {
      const retryAfter = this.upgradeRetryAfter === null ? '' : `Retry-After: ${this.upgradeRetryAfter}\r\n`;
      socket.end(`HTTP/1.1 ${status} Refused\r\n${retryAfter}Connection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => {
      this.sockets.add(ws);
      ws.on('close', () => {
        this.sockets.delete(ws);
        this.welcomed.delete(ws);
      });
      ws.on('message', (data) => {
        const frame = JSON.parse((data as Buffer).toString('utf8')) as AgentFrame;
        this.frames.push(frame);
        if (frame.type === 'hello') {
          ws.send(
            JSON.stringify({
              type: 'welcome',
              agent_id: 'agent-1',
              heartbeat_interval_ms: this.heartbeatIntervalMs,
            }),
          );
          this.welcomed.add(ws);
        }
        if (frame.type === 'job_event' && frame.event.type === 'result' && this.ackResults) {
          const answer: ServerFrame = { type: 'event_ack', ...this.ack(frame.event) };
          ws.send(JSON.stringify(answer));
        }
      });
    });
  }

  private async route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body: unknown = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null;
    const reply = (status: number, value?: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(value === undefined ? '' : JSON.stringify(value));
    };
    const authorized = request.headers.authorization === `Bearer ${this.token}`;
    const url = request.url ?? '';
    if (url === '/api/v1/agent/register') {
      this.registrations.push(body);
      const known = (body as { enrollment_token?: string }).enrollment_token === 'enroll-me';
      if (!known) return reply(401, { error: { code: 'unauthorized', message: 'unknown enrollment token' } });
      return reply(201, {
        agent_id: 'agent-1',
        agent_token: this.token,
        heartbeat_interval_ms: this.heartbeatIntervalMs,
      });
    }
    if (!authorized) return reply(401, { error: { code: 'unauthorized', message: 'bad agent token' } });
    if (url === '/api/v1/agent/heartbeat') {
      this.heartbeats.push(body);
      if (this.heartbeatStatus !== null)
        return reply(this.heartbeatStatus, { error: { code: 'x', message: 'refused' } });
      const answer: HeartbeatResponse = {
        jobs: this.pendingJobs.splice(0),
        cancel_job_ids: this.pendingCancels.splice(0),
        heartbeat_interval_ms: this.heartbeatIntervalMs,
      };
      return reply(200, answer);
    }
    const match = /^\/api\/v1\/agent\/jobs\/([^/]+)\/events$/.exec(url);
    if (match?.[1]) {
      const jobId = decodeURIComponent(match[1]);
      const { events } = body as { events: JobEvent[] };
      this.postedEvents.push({ jobId, events });
      const status = this.eventStatus.get(jobId);
      if (status !== undefined) return reply(status, { error: { code: 'x', message: 'refused' } });
      const answer: JobEventsResponse = { acks: events.map((event) => this.ack(event)) };
      return reply(200, answer);
    }
    return reply(404, { error: { code: 'not_found', message: url } });
  }
}
