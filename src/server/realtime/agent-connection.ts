import type { WebSocket } from 'ws';
import type { AgentCloseCode, ServerFrame } from '../../protocol/agent.js';
import { isDatabaseUnavailable } from '../db/availability.js';
import type { Logger } from '../lib/logger.js';
import type { Agent } from '../modules/agents/agents.repo.js';

/** A frame that failed because the database is unreachable is tried again after 100 ms, backing off to 2 s. */
const RETRY_FIRST_MS = 100;
const RETRY_MAX_MS = 2000;
/** A close frame's reason is at most 123 bytes of UTF-8. */
const MAX_CLOSE_REASON_BYTES = 123;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Cut to fit a close frame; a character cut in two is dropped whole. */
export function closeReason(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return text;
  return bytes
    .subarray(0, MAX_CLOSE_REASON_BYTES)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
}

/**
 * One agent's socket. States: `greeting` until its hello, then `ready`; `closed` at the end.
 * Frames are handled one at a time, so output keeps its order and a result follows its output;
 * one that fails does not stop the ones after it. Dispatch requests arriving while one runs are
 * folded into one more pass.
 */
export class AgentConnection {
  state: 'greeting' | 'ready' | 'closed' = 'greeting';
  /** Frames enqueued and not yet handled. */
  waiting = 0;
  /** Pieces of work (a frame, a dispatch) waiting for the database to come back. */
  databaseWaits = 0;
  /** Cleared at each ping, set by the pong: a socket that stays silent through a ping is dead. */
  #alive = true;
  /** A frame came since the last round of pings: the socket is alive without asking. */
  #heard = false;
  #queue: Promise<void> = Promise.resolve();
  #dispatching = false;
  /** A dispatch asked for pooled work that no round has looked for yet. */
  #poolWanted = false;
  #dispatchAgain = false;

  constructor(
    readonly agent: Agent,
    readonly socket: WebSocket,
    readonly ip: string | null,
    private readonly logger: Logger,
  ) {
    socket.on('pong', () => {
      this.#alive = true;
    });
    socket.on('message', () => {
      this.#heard = true;
    });
  }

  send(frame: ServerFrame): void {
    if (this.state !== 'closed') this.socket.send(JSON.stringify(frame));
  }

  close(code: AgentCloseCode, reason: string): void {
    this.socket.close(code, closeReason(reason));
  }

  /**
   * Pings the socket, unless a frame came since the last round (heartbeats do, so a fleet of ten
   * thousand is not pinged every round); one that did not answer the last ping is dead: it is
   * cut, and false answered.
   */
  ping(): boolean {
    if (this.#heard) {
      this.#heard = false;
      this.#alive = true;
      return true;
    }
    if (!this.#alive) {
      this.socket.terminate();
      return false;
    }
    this.#alive = false;
    this.socket.ping();
    return true;
  }

  enqueue(work: () => Promise<void>): Promise<void> {
    this.waiting += 1;
    const run = this.#queue.then(work).finally(() => {
      this.waiting -= 1;
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs `claim` now, or folds into one more round of the dispatch under way. `pooled` asks a
   * round to look for pooled work too; the wish is kept until a round does.
   */
  async dispatch(claim: (pooled: boolean) => Promise<void>, pooled = false): Promise<void> {
    this.#poolWanted ||= pooled;
    if (this.#dispatching) {
      this.#dispatchAgain = true;
      return;
    }
    this.#dispatching = true;
    try {
      do {
        this.#dispatchAgain = false;
        const withPool = this.#poolWanted;
        this.#poolWanted = false;
        await claim(withPool);
      } while (this.#dispatchAgain && this.state === 'ready');
    } finally {
      this.#dispatching = false;
    }
  }

  /**
   * Runs a piece of work (a frame, a dispatch); while the database is unreachable it is tried
   * again until it is back or the socket closes, so nothing the agent sent meanwhile is lost and
   * its socket stays open. A result is acknowledged only once written: if the socket closes
   * first, the agent sends it again.
   */
  async retrying(work: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      // gone: the agent sends again, on its next connection, what was not acknowledged
      if (attempt > 0 && this.state === 'closed') return;
      try {
        await work();
        return;
      } catch (error) {
        if (!isDatabaseUnavailable(error)) throw error;
        // the outage is logged once (the logger absorbs it), not once per try
        this.logger.warn({ err: error, agentId: this.agent.id }, 'agent work waits for the database');
        this.databaseWaits += 1;
        await sleep(Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** attempt)).finally(() => {
          this.databaseWaits -= 1;
        });
      }
    }
  }
}
