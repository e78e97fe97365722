import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Clock } from '../../src/server/lib/clock.js';

/** Receivers refuse a signature timestamp further than this from their clock. */
export const TOLERANCE_SECONDS = 300;

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** What the receiver answered. */
  status: number;
  /** Why it refused, for a refusal. */
  refused: string | null;
}

interface Endpoint {
  secret: string;
  /** Checked requests answered 500 before one is accepted (Infinity: always). */
  failures: number;
}

/**
 * A webhook receiver as an integrator would write one, on a real socket: it checks the
 * `Fleetplane-Signature` HMAC over `t.body`, refuses a timestamp older (or newer) than five
 * minutes by its clock and a delivery id + timestamp it has seen, and fails on purpose as told.
 * Several endpoints, one per path, each with its subscription's secret.
 */
export class WebhookReceiver {
  readonly requests: Received[] = [];
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #seen = new Set<string>();
  readonly #clock: Clock;
  readonly #server: Server;
  url = '';

  constructor(clock: Clock) {
    this.#clock = clock;
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '/';
        const { status, refused } = this.#judge(path, req.headers, body);
        this.requests.push({ path, headers: req.headers, body, status, refused });
        res
          .writeHead(status, { 'content-type': 'text/plain' })
          .end(refused ?? (status === 200 ? 'ok' : 'on purpose'));
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

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** An endpoint at `path`, checking signatures with `secret`, failing `failures` times first. */
  endpoint(path: string, secret: string, failures = 0): string {
    this.#endpoints.set(path, { secret, failures });
    return `${this.url}${path}`;
  }

  setFailures(path: string, failures: number): void {
    const endpoint = this.#endpoints.get(path);
    if (endpoint) endpoint.failures = failures;
  }

  /** Requests to a path that passed every check. */
  accepted(path: string): Received[] {
    return this.requests.filter((r) => r.path === path && r.refused === null);
  }

  /** Sends a request again as it came (a replay by whoever captured it), with headers changed. */
  async replay(request: Received, headers: Record<string, string> = {}): Promise<number> {
    const response = await fetch(`${this.url}${request.path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'fleetplane-signature': String(request.headers['fleetplane-signature']),
        'fleetplane-delivery': String(request.headers['fleetplane-delivery']),
        'fleetplane-event': String(request.headers['fleetplane-event']),
        ...headers,
      },
      body: request.body,
    });
    await response.text();
    return response.status;
  }

  #judge(
    path: string,
    headers: IncomingHttpHeaders,
    body: string,
  ): { status: number; refused: string | null } {
    const endpoint = this.#endpoints.get(path);
    if (!endpoint) return { status: 404, refused: 'no such endpoint' };
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(headers['fleetplane-signature'] ?? ''));
    if (!match) return { status: 400, refused: 'no signature' };
    const [, t = '', v1 = ''] = match;
    const expected = createHmac('sha256', endpoint.secret).update(`${t}.${body}`).digest();
    if (!timingSafeEqual(expected, Buffer.from(v1, 'hex'))) return { status: 401, refused: 'bad signature' };
    const age = Math.abs(this.#clock.now().getTime() / 1000 - Number(t));
    if (age > TOLERANCE_SECONDS) return { status: 401, refused: 'stale timestamp' };
    const seenKey = `${String(headers['fleetplane-delivery'])}:${t}`;
    if (this.#seen.has(seenKey)) return { status: 409, refused: 'replayed' };
    this.#seen.add(seenKey);
    if (endpoint.failures > 0) {
      endpoint.failures -= 1;
      return { status: 500, refused: null };
    }
    return { status: 200, refused: null };
  }
}
