import { createServer, type Server } from 'node:http';
import { call, expectStatus, type Session } from '../support/client.js';
import type { TestServer } from '../support/harness.js';

/** What a receiver was sent. */
export interface Request {
  path: string;
  body: any;
}

/**
 * A notification receiver on a real socket (127.0.0.1): it keeps every request and answers
 * `status` (200 unless told) with a short text.
 */
export class Receiver {
  readonly requests: Request[] = [];
  status = 200;
  url = '';
  readonly #server: Server;

  constructor() {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        this.requests.push({ path: req.url ?? '/', body: text ? JSON.parse(text) : null });
        res.writeHead(this.status, { 'content-type': 'text/plain' }).end(`answered ${this.status}`);
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    this.url = `http://127.0.0.1:${address.port}`;
    return this;
  }

  /** Requests to one path. */
  at(path: string): Request[] {
    return this.requests.filter((r) => r.path === path);
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** Calls the API as `session`, answering the body of the expected status. */
export function api(server: TestServer, session: Session) {
  return (method: string, route: string, body: unknown, status: number) =>
    expectStatus(
      call(server, method, route, { token: session.token, ...(body === undefined ? {} : { body }) }),
      status,
    );
}
