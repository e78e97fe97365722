import { createServer, type Server, type ServerResponse } from 'node:http';

/** What the fake answers to the next call. */
export type FakeAnswer =
  | { kind: 'answer'; answer: Record<string, unknown> }
  | { kind: 'content'; content: string }
  | { kind: 'refusal'; refusal: string }
  | { kind: 'status'; status: number; body?: string; headers?: Record<string, string> }
  /** Never answers: the caller's timeout must fire. */
  | { kind: 'hang' };

/** A request the fake received: its headers and parsed body. */
export interface FakeCall {
  authorization: string | undefined;
  body: {
    model: string;
    messages: { role: string; content: string }[];
    response_format: { type: string; json_schema: { name: string; schema: object } };
    max_tokens: number;
    temperature: number;
  };
}

/** A proposal as a model would send it. */
export function proposal(command: string, level = 'safe', extra: Record<string, unknown> = {}) {
  return {
    command,
    explanation: `runs ${command}`,
    parameters: [],
    safety: { level, reasons: [`the model thinks it is ${level}`] },
    estimated_duration_seconds: 1,
    ...extra,
  };
}

/**
 * A local OpenAI-compatible chat-completions API over real HTTP: each call takes the next queued
 * answer (a good proposal when none is queued) and is recorded, so tests see what was sent.
 */
export class FakeProvider {
  readonly calls: FakeCall[] = [];
  readonly #queue: FakeAnswer[] = [];
  readonly #server: Server;
  url = '';

  constructor() {
    this.#server = createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (raw += chunk));
      req.on('end', () => {
        if (req.url !== '/v1/chat/completions' || req.method !== 'POST') {
          res.writeHead(404).end();
          return;
        }
        this.calls.push({
          authorization: req.headers.authorization,
          body: JSON.parse(raw) as FakeCall['body'],
        });
        this.#answer(res, this.#queue.shift() ?? { kind: 'answer', answer: proposal('uptime') });
      });
    });
  }

  /** Queues answers for the next calls, in order. */
  next(...answers: FakeAnswer[]): void {
    this.#queue.push(...answers);
  }

  get last(): FakeCall {
    const call = this.calls.at(-1);
    if (!call) throw new Error('the fake provider received no call');
    return call;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    const address = this.#server.address();
    if (typeof address !== 'object' || !address) throw new Error('no address');
    this.url = `http://127.0.0.1:${address.port}/v1`;
    return this;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  #answer(res: ServerResponse, answer: FakeAnswer): void {
    const completion = (message: Record<string, unknown>) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: 'chatcmpl-fake',
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
        }),
      );
    switch (answer.kind) {
      case 'answer':
        completion({ content: JSON.stringify(answer.answer) });
        return;
      case 'content':
        completion({ content: answer.content });
        return;
      case 'refusal':
        completion({ content: null, refusal: answer.refusal });
        return;
      case 'status':
        res
          .writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
          .end(answer.body ?? '');
        return;
      case 'hang':
        return;
    }
  }
}
