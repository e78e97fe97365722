import WebSocket from 'ws';
import type { ServerFrame } from '../../src/protocol/agent.js';
import { facts as someFacts } from './agents.js';
import { eventually, IN_MEMORY } from './eventually.js';
import type { TestServer } from './harness.js';

/**
 * An agent speaking the WebSocket by hand (the counterpart of `ScriptedAgent`, which polls over
 * HTTP): the test sends each frame itself and reads every frame the server sent, in order.
 */
export class SocketAgent {
  readonly frames: ServerFrame[] = [];
  /** Set once the server closed the socket. */
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.frames.push(JSON.parse(data.toString('utf8')) as ServerFrame));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString('utf8') };
    });
  }

  /** Opens the socket with the agent's token, says hello and resolves at the welcome. */
  static async connect(
    server: Pick<TestServer, 'url'>,
    token: string,
    options: { facts?: object; held?: string[] } = {},
  ): Promise<SocketAgent> {
    const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/v1/agent/ws`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const agent = new SocketAgent(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('open', () => resolve());
    });
    agent.send({ type: 'hello', facts: options.facts ?? someFacts(), running_job_ids: options.held ?? [] });
    await agent.next('welcome');
    return agent;
  }

  send(frame: unknown): void {
    this.ws.send(JSON.stringify(frame));
  }

  /** Sends one job event. */
  event(event: Record<string, unknown>): void {
    this.send({ type: 'job_event', event });
  }

  /** The first frame of this type not taken yet (taking it), waiting for it if need be. */
  async next<T extends ServerFrame['type']>(type: T): Promise<Extract<ServerFrame, { type: T }>> {
    return eventually(
      () => {
        const index = this.frames.findIndex((frame) => frame.type === type);
        if (index < 0) return undefined;
        return this.frames.splice(index, 1)[0] as Extract<ServerFrame, { type: T }>;
      },
      { ...IN_MEMORY, what: `a ${type} frame` },
    );
  }

  /** Resolves with the close code and reason once the server closed the socket. */
  untilClosed(): Promise<{ code: number; reason: string }> {
    return eventually(() => this.closed, { ...IN_MEMORY, what: 'the socket to close' });
  }

  close(): void {
    this.ws.terminate();
  }
}
