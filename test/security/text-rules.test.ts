import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { enroll, METRICS } from '../support/agents.js';
import { call, expectStatus, signup, type Reply, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

/**
 * The text rules of the validation edge (src/protocol/text.ts), on the cases that broke: a NUL was
 * a 500 on PostgreSQL and stored on SQLite. Every answer here is compared whole, so both dialects
 * must give the very same one.
 */

const PLAIN = 'must not contain control characters other than tab, newline and carriage return';

/** The one 400 a refused text gets, naming its field and the character. */
function refused(field: string, message: string) {
  return {
    error: { code: 'validation_failed', message: 'request is not valid', details: [{ field, message }] },
    request_id: expect.any(String),
  };
}

function expectRefused(reply: Reply, field: string, message = `${PLAIN} (U+0000)`): void {
  expect({ status: reply.status, body: reply.body }).toEqual({ status: 400, body: refused(field, message) });
}

describe.each(dialects)('security: text rules at the validation edge on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let agent: Awaited<ReturnType<typeof enroll>>;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'text');
    agent = await enroll(server, owner);
  });
  afterAll(async () => {
    await server.close();
  });

  const post = (route: string, body: unknown) => call(server, 'POST', route, { token: owner.token, body });
  const get = (route: string) => call(server, 'GET', route, { token: owner.token });

  /** A job of the agent, dispatched to it over the HTTP fallback. */
  async function dispatchedJob(): Promise<string> {
    const job = await expectStatus(
      post(`/api/v1/agents/${agent.agentId}/jobs`, { interpreter: 'sh', command: 'printf x' }),
      202,
    );
    const beat = await call(server, 'POST', '/api/v1/agent/heartbeat', {
      token: agent.agentToken,
      body: { metrics: METRICS, running_job_ids: [] },
    });
    expect(beat.body.jobs.map((j: { job_id: string }) => j.job_id)).toContain(job.id);
    return job.id;
  }

  const outputOf = async (jobId: string) =>
    (await get(`/api/v1/jobs/${jobId}/output?format=json`)).body.chunks.map((c: { data: string }) => c.data);

  it('security: a NUL in a name on create is a 400 naming body.name, and nothing is created', async () => {
    const name = 'web\u0000servers';
    const creates: [string, object][] = [
      ['/api/v1/agent-groups', { name }],
      ['/api/v1/scripts', { name, language: 'sh', content: 'true' }],
      ['/api/v1/agents', { name }],
      ['/api/v1/profiles', { name }],
    ];
    for (const [route, body] of creates) {
      expectRefused(await post(route, body), 'body.name');
      expect((await get(`${route}?limit=200`)).body.items.map((r: { name: string }) => r.name)).not.toContain(
        name,
      );
    }
  });

  it('security: PATCH /agents/{id} refuses a NUL in notes and keeps the notes it had', async () => {
    const route = `/api/v1/agents/${agent.agentId}`;
    await expectStatus(call(server, 'PATCH', route, { token: owner.token, body: { notes: 'rack 4' } }), 200);
    expectRefused(
      await call(server, 'PATCH', route, { token: owner.token, body: { notes: 'rack\u00004' } }),
      'body.notes',
    );
    expect((await get(route)).body.notes).toBe('rack 4');
  });

  it('security: a NUL in a search or filter parameter is a 400 naming it', async () => {
    const queries: [string, string][] = [
      ['/api/v1/agents', 'q'],
      ['/api/v1/scripts', 'q'],
      ['/api/v1/profiles', 'q'],
      ['/api/v1/templates', 'q'],
      ['/api/v1/audit', 'entity_type'],
    ];
    for (const [route, name] of queries)
      expectRefused(await get(`${route}?${name}=web%00`), `querystring.${name}`);
    // The run status filter is an enum: a NUL is refused as no allowed value, naming the field.
    const status = await get('/api/v1/runs?status=failed%00');
    expect({ status: status.status, code: status.body.error.code }).toEqual({
      status: 400,
      code: 'validation_failed',
    });
    expect(status.body.error.details[0].field).toBe('querystring.status');
  });

  it('security: plain text keeps tab, newline and carriage return, and refuses DEL, ESC and unpaired surrogates', async () => {
    const group = await expectStatus(
      post('/api/v1/agent-groups', { name: 'text group', description: 'one\ttwo\r\nthree' }),
      201,
    );
    expect(group.description).toBe('one\ttwo\r\nthree');
    const cases: [string, string][] = [
      ['web\u007f', `${PLAIN} (U+007F)`],
      ['web\u001b[31m', `${PLAIN} (U+001B)`],
      ['web\ud800', 'must not contain an unpaired UTF-16 surrogate (U+D800)'],
    ];
    for (const [description, message] of cases)
      expectRefused(
        await post('/api/v1/agent-groups', { name: 'g2', description }),
        'body.description',
        message,
      );
    // A well-formed pair is one character, not an unpaired surrogate.
    await expectStatus(post('/api/v1/agent-groups', { name: 'emoji \ud83d\ude80' }), 201);
  });

  it('security: script content, commands and file text keep what a shell accepts but never NUL', async () => {
    const content = "printf '\u001b[1mbold\u001b[0m\\n'";
    const script = await expectStatus(
      post('/api/v1/scripts', { name: 'bold', language: 'sh', content }),
      201,
    );
    expect(script.content).toBe(content);
    expectRefused(
      await post('/api/v1/scripts', { name: 'nul', language: 'sh', content: 'echo a\u0000b' }),
      'body.content',
      'must not contain NUL (U+0000)',
    );
    expectRefused(
      await post(`/api/v1/agents/${agent.agentId}/jobs`, { interpreter: 'sh', command: 'echo\u0000' }),
      'body.command',
      'must not contain NUL (U+0000)',
    );
    const task = {
      name: 'motd',
      action: 'file_copy',
      destination: '/etc/motd',
      content: '\u001b[32mhello\u001b[0m',
    };
    const profile = await expectStatus(post('/api/v1/profiles', { name: 'motd', tasks: [task] }), 201);
    const tasks = await get(`/api/v1/profiles/${profile.id}/tasks`);
    expect(tasks.body.items[0].content).toBe(task.content);
    expectRefused(
      await post(`/api/v1/profiles/${profile.id}/tasks`, { ...task, content: 'a\u0000' }),
      'body.content',
      'must not contain NUL (U+0000)',
    );
  });

  it('security: output sent over HTTP keeps escape sequences and stores NUL as U+FFFD', async () => {
    const jobId = await dispatchedJob();
    const events = [
      {
        type: 'output',
        job_id: jobId,
        attempt: 1,
        seq: 0,
        stream: 'stdout',
        data: 'a\u0000b \u001b[1mc\u001b[0m\n',
      },
      {
        type: 'result',
        job_id: jobId,
        attempt: 1,
        status: 'failed',
        exit_code: 1,
        duration_ms: 5,
        error: 'x\u0000y',
      },
    ];
    const reply = await call(server, 'POST', `/api/v1/agent/jobs/${jobId}/events`, {
      token: agent.agentToken,
      body: { events },
    });
    expect(reply.status).toBe(200);
    expect(reply.body.acks.map((ack: { outcome: string }) => ack.outcome)).toEqual(['applied', 'applied']);
    expect(await outputOf(jobId)).toEqual(['a\uFFFDb \u001b[1mc\u001b[0m\n']);
    expect((await get(`/api/v1/jobs/${jobId}`)).body.error).toBe('x\uFFFDy');
  });

  it('security: output sent over the WebSocket stores NUL as U+FFFD, and a hello with a NUL is refused', async () => {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/api/v1/agent/ws`, {
      headers: { authorization: `Bearer ${agent.agentToken}` },
    });
    const frames: { type: string; job?: { job_id: string }; message?: string }[] = [];
    ws.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString('utf8'))));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    try {
      ws.send(
        JSON.stringify({
          type: 'hello',
          facts: { ...agent.facts, hostname: 'a\u0000' },
          running_job_ids: [],
        }),
      );
      await eventually(async () => frames.find((f) => f.type === 'error'), { what: 'an error frame' });
      expect(frames.find((f) => f.type === 'error')?.message).toBe('frame is not valid');

      ws.send(JSON.stringify({ type: 'hello', facts: agent.facts, running_job_ids: [] }));
      const job = await expectStatus(
        post(`/api/v1/agents/${agent.agentId}/jobs`, { interpreter: 'sh', command: 'printf x' }),
        202,
      );
      await eventually(async () => frames.find((f) => f.job?.job_id === job.id), { what: 'the job pushed' });
      const event = {
        type: 'output',
        job_id: job.id,
        attempt: 1,
        seq: 0,
        stream: 'stderr',
        data: '\u0000\u001b[K',
      };
      ws.send(JSON.stringify({ type: 'job_event', event: { type: 'ack', job_id: job.id, attempt: 1 } }));
      ws.send(JSON.stringify({ type: 'job_event', event }));
      expect(await eventually(async () => (await outputOf(job.id))[0], { what: 'stored output' })).toBe(
        '\uFFFD\u001b[K',
      );
    } finally {
      ws.close();
    }
  });

  it('security: a Windows exit code beyond 31 bits is kept signed, and a repeated result is idempotent', async () => {
    const jobId = await dispatchedJob();
    // 0xC0000005, an access violation, as Node reports it on Windows.
    const result = {
      type: 'result',
      job_id: jobId,
      attempt: 1,
      status: 'failed',
      exit_code: 3221225477,
      duration_ms: 5,
    };
    for (const outcome of ['applied', 'duplicate']) {
      const reply = await call(server, 'POST', `/api/v1/agent/jobs/${jobId}/events`, {
        token: agent.agentToken,
        body: { events: [result] },
      });
      expect(reply.status).toBe(200);
      expect(reply.body.acks).toMatchObject([{ event: 'result', outcome }]);
    }
    expect((await get(`/api/v1/jobs/${jobId}`)).body).toMatchObject({
      status: 'failed',
      exit_code: -1073741819,
    });
    const beyond = await call(server, 'POST', `/api/v1/agent/jobs/${jobId}/events`, {
      token: agent.agentToken,
      body: { events: [{ ...result, exit_code: 2 ** 32 }] },
    });
    expect(beyond.body.error.details).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'body.events.0.exit_code' })]),
    );
  });

  it('security: integers beyond 32 bits and unreadable or overlong paths get a 400 with the one shape', async () => {
    const version = await get(`/api/v1/scripts/${agent.agentId}/versions/2147483648`);
    expect({ status: version.status, field: version.body.error.details[0]?.field }).toEqual({
      status: 400,
      field: 'params.version',
    });
    for (const path of ['/api/v1/agents/%FF%FE', `/api/v1/agents/${'a'.repeat(200)}`]) {
      const reply = await get(path);
      expect({ status: reply.status, body: reply.body }).toEqual({
        status: 400,
        body: {
          error: { code: 'bad_request', message: expect.any(String), details: [] },
          request_id: expect.any(String),
        },
      });
    }
  });
});
