import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  auditOf,
  call,
  expectError,
  expectStatus,
  signup,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { analyzeCommand } from '../../src/server/modules/assistant/safety/analyzer.js';
import { FakeProvider, proposal } from './fake-provider.js';

describe.each(dialects)('assistant: the provider on %s', (dialect) => {
  let server: TestServer;
  let fake: FakeProvider;
  let owner: Session;

  beforeAll(async () => {
    fake = await new FakeProvider().start();
    server = await startTestServer(dialect, { config: { outboundAllow: ['loopback'] } });
    owner = await signup(server, 'assistant');
    await expectStatus(
      call(server, 'PUT', '/api/v1/settings/ai', {
        token: owner.token,
        body: {
          enabled: true,
          provider_url: fake.url,
          model: 'fake-model',
          api_key: 'sk-test',
          timeout_seconds: 1,
        },
      }),
      200,
    );
  });
  afterAll(async () => {
    await server?.close();
    await fake?.close();
  });

  const generate = (body: Record<string, unknown>, session = owner) =>
    call(server, 'POST', '/api/v1/assistant/generate', { token: session.token, body });

  it('assistant: a good answer becomes a judged proposal in a new conversation, audited and counted', async () => {
    fake.next({ kind: 'answer', answer: proposal('free -m', 'safe') });
    const reply = await expectStatus(generate({ prompt: 'show memory use', os_type: 'ubuntu' }), 200);
    expect(reply.proposal).toMatchObject({ command: 'free -m', shell: 'bash', model: 'fake-model' });
    expect(reply.proposal.safety.analyzer_level).toBe(analyzeCommand('free -m', 'bash').level);
    // what the provider was asked: the key, the model, a JSON schema and the request
    expect(fake.last.authorization).toBe('Bearer sk-test');
    expect(fake.last.body.model).toBe('fake-model');
    expect(fake.last.body.response_format.type).toBe('json_schema');
    expect(fake.last.body.response_format.json_schema.schema).toMatchObject({
      required: expect.arrayContaining(['command', 'explanation', 'safety']),
      additionalProperties: false,
    });
    expect(fake.last.body.messages.at(-1)).toEqual({ role: 'user', content: 'show memory use' });
    expect(fake.last.body.messages[0]?.content).toContain('bash');

    const [event] = await auditOf(server, owner, 'assistant_proposal', reply.message_id);
    expect(event.after).toMatchObject({
      request: 'show memory use',
      model: 'fake-model',
      command: 'free -m',
    });
    const status = await expectStatus(
      call(server, 'GET', '/api/v1/assistant/status', { token: owner.token }),
      200,
    );
    expect(status).toMatchObject({
      configured: true,
      reachable: true,
      model: 'fake-model',
      last_error: null,
    });
    expect(status.usage.prompt_tokens).toBeGreaterThanOrEqual(100);
    expect(status.usage.completion_tokens).toBeGreaterThanOrEqual(20);
  });

  it('assistant: a model that calls a destructive command safe is overruled by the analyzer', async () => {
    fake.next({ kind: 'answer', answer: proposal('rm -rf /', 'safe') });
    const reply = await expectStatus(
      generate({ prompt: 'free some space', os_type: 'debian', shell: 'bash' }),
      200,
    );
    expect(reply.proposal.safety).toMatchObject({
      level: 'dangerous',
      model_level: 'safe',
      analyzer_level: 'dangerous',
      confirmation: 'confirm_dangerous',
    });
    expect(reply.proposal.safety.findings.length).toBeGreaterThan(0);
    // and the model may raise a level the analyzer gave
    fake.next({ kind: 'answer', answer: proposal('uptime', 'dangerous') });
    const raised = await expectStatus(generate({ prompt: 'uptime', os_type: 'debian' }), 200);
    expect(raised.proposal.safety.level).toBe('dangerous');
    expect(raised.proposal.safety.confirmation).toBe('confirm_dangerous');
  });

  it('assistant: a malformed answer is repaired once; twice malformed is a clear 502', async () => {
    fake.next(
      { kind: 'content', content: 'Sure! Here is your command: ls' },
      { kind: 'answer', answer: proposal('ls -la') },
    );
    const before = fake.calls.length;
    const repaired = await expectStatus(generate({ prompt: 'list files', os_type: 'linux' }), 200);
    expect(repaired.proposal.command).toBe('ls -la');
    expect(fake.calls.length - before).toBe(2);
    expect(fake.last.body.messages.at(-1)?.content).toContain('could not be used');

    fake.next({ kind: 'content', content: '{"command": 42}' }, { kind: 'content', content: 'still not it' });
    const failed = await generate({ prompt: 'list files', os_type: 'linux' });
    expectError(failed, 502, 'bad_gateway');
    expect(failed.body.error.message).toContain('malformed');
  });

  it('assistant: a refusal is a 422 that quotes the model', async () => {
    fake.next({ kind: 'refusal', refusal: 'I cannot help with that' });
    const refused = await generate({ prompt: 'dump all passwords', os_type: 'windows' });
    expectError(refused, 422, 'unprocessable');
    expect(refused.body.error.message).toContain('I cannot help with that');
  });

  it('assistant: a provider that hangs, rate-limits or fails answers 504, 503 with Retry-After, 502', async () => {
    fake.next({ kind: 'hang' });
    const started = Date.now();
    expectError(await generate({ prompt: 'x', os_type: 'linux' }), 504, 'gateway_timeout');
    expect(Date.now() - started).toBeLessThan(3000);

    fake.next({
      kind: 'status',
      status: 429,
      headers: { 'retry-after': '7' },
      body: '{"error":"slow down"}',
    });
    const limited = await generate({ prompt: 'x', os_type: 'linux' });
    expectError(limited, 503, 'provider_unavailable');
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.body.error.message).toContain('rate-limiting');

    fake.next({ kind: 'status', status: 500, body: 'upstream exploded' });
    const broken = await generate({ prompt: 'x', os_type: 'linux' });
    expectError(broken, 502, 'bad_gateway');
    expect(broken.body.error.message).toContain('upstream exploded');

    const status = await expectStatus(
      call(server, 'GET', '/api/v1/assistant/status', { token: owner.token }),
      200,
    );
    expect(status.last_error).toContain('HTTP 500');
    // the connection test reports the provider as it is now
    const tested = await expectStatus(
      call(server, 'POST', '/api/v1/assistant/test', { token: owner.token }),
      200,
    );
    expect(tested).toMatchObject({ ok: true, model: 'fake-model' });
  });

  it('assistant: an organisation without a provider answers 409; a user past the limit 429', async () => {
    const other = await signup(server, 'unconfigured');
    expectError(await generate({ prompt: 'x', os_type: 'linux' }, other), 409, 'conflict');

    const member = await addMember(server, owner, 'operator');
    let last = await generate({ prompt: 'x', os_type: 'linux' }, member);
    for (let i = 0; i < 30 && last.status === 200; i++)
      last = await generate({ prompt: 'x', os_type: 'linux' }, member);
    expectError(last, 429, 'rate_limited');
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('assistant: review runs the analyzer alone, audited', async () => {
    const before = fake.calls.length;
    const review = await expectStatus(
      call(server, 'POST', '/api/v1/assistant/review', {
        token: owner.token,
        body: { command: 'Remove-Item C:\\Windows -Recurse -Force', shell: 'powershell' },
      }),
      200,
    );
    const expected = analyzeCommand('Remove-Item C:\\Windows -Recurse -Force', 'powershell');
    expect(review.level).toBe('dangerous');
    expect(review.confirmation).toBe('confirm_dangerous');
    expect(review.findings).toEqual(expected.findings);
    expect(fake.calls.length).toBe(before);
    const audit = await expectStatus(
      call(server, 'GET', '/api/v1/audit?entity_type=assistant_review&limit=5', { token: owner.token }),
      200,
    );
    expect(audit.items[0].after.command).toBe('Remove-Item C:\\Windows -Recurse -Force');
  });
});
