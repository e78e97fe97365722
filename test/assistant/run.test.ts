import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinal } from '../../src/protocol/jobs.js';
import {
  addMember,
  auditOf,
  call,
  expectError,
  expectStatus,
  signup,
  type Session,
} from '../support/client.js';
import { enrollmentToken, jobOutput, startAgent, untilOnline, type AgentProcess } from '../support/agents.js';
import { eventually } from '../support/eventually.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { stopProcess } from '../support/processes.js';
import { FakeProvider, proposal } from './fake-provider.js';

describe.each(dialects)('assistant: run and follow up on %s', (dialect) => {
  let server: TestServer;
  let fake: FakeProvider;
  let owner: Session;
  let operator: Session;
  let agent: AgentProcess;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-assistant-'));
    fake = await new FakeProvider().start();
    server = await startTestServer(dialect, { config: { outboundAllow: ['loopback'] } });
    owner = await signup(server, 'assistant-run');
    const [member, token] = await Promise.all([
      addMember(server, owner, 'operator'),
      enrollmentToken(server, owner, { name: 'assistant' }),
      expectStatus(
        call(server, 'PUT', '/api/v1/settings/ai', {
          token: owner.token,
          body: { enabled: true, provider_url: fake.url, model: 'fake-model', timeout_seconds: 5 },
        }),
        200,
      ),
    ]);
    operator = member;
    agent = await startAgent(server.url, { token: token.secret, stateDir: path.join(dir, 'agent') });
    await untilOnline(server, owner.token, agent.id);
  });
  afterAll(async () => {
    if (agent) await stopProcess(agent.proc);
    await server?.close();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const as = (session: Session, route: string, body: Record<string, unknown>) =>
    call(server, 'POST', `/api/v1/assistant/${route}`, { token: session.token, body });
  /** A proposal the model labels `level` (the final level is at least that). */
  const propose = async (
    session: Session,
    command: string,
    level: string,
    extra: Record<string, unknown> = {},
  ) => {
    fake.next({ kind: 'answer', answer: proposal(command, level) });
    return expectStatus(
      as(session, 'generate', { prompt: `please ${command}`, agent_id: agent.id, ...extra }),
      200,
    );
  };
  const finished = (jobId: string) =>
    eventually(
      async () => {
        const job = await expectStatus(
          call(server, 'GET', `/api/v1/jobs/${jobId}`, { token: owner.token }),
          200,
        );
        return isFinal(job.status) ? job : undefined;
      },
      { intervalMs: 50, timeoutMs: 10_000, what: `job ${jobId} to finish` },
    );

  it('assistant: end to end: generate for an agent, confirm, run, read the output, follow up with it', async () => {
    const first = await propose(owner, 'echo assistant-e2e', 'caution');
    expect(first.proposal.shell).toBe('bash');
    expect(first.proposal.safety.level).not.toBe('safe');
    const ids = { conversation_id: first.conversation_id, message_id: first.message_id };
    const ran = await expectStatus(as(owner, 'run', { ...ids, agent_id: agent.id, confirm: true }), 200);
    expect(ran.run_id).toBeNull();
    const job = await finished(ran.job_id);
    expect(job.status).toBe('succeeded');
    expect(await jobOutput(server, owner, ran.job_id)).toContain('assistant-e2e');

    fake.next({ kind: 'answer', answer: proposal('echo done', 'safe') });
    const followUp = await expectStatus(
      as(owner, 'generate', {
        prompt: 'what does this mean?',
        conversation_id: first.conversation_id,
        job_id: ran.job_id,
      }),
      200,
    );
    expect(followUp.conversation_id).toBe(first.conversation_id);
    const sent = fake.last.body.messages;
    // the history came back (the first request and proposal) and the output was fed to the model
    expect(sent.some((m) => m.role === 'user' && m.content === 'please echo assistant-e2e')).toBe(true);
    expect(sent.some((m) => m.role === 'assistant' && m.content.includes('echo assistant-e2e'))).toBe(true);
    expect(sent.at(-1)?.content).toContain('what does this mean?');
    expect(sent.at(-1)?.content).toContain('assistant-e2e');
    expect(sent.at(-1)?.content).toContain('exit code 0');

    const conversation = await expectStatus(
      call(server, 'GET', `/api/v1/assistant/conversations/${first.conversation_id}`, { token: owner.token }),
      200,
    );
    expect(conversation.messages).toHaveLength(4);
    expect(conversation.messages.find((m: { id: string }) => m.id === first.message_id).job_id).toBe(
      ran.job_id,
    );
    const events = await auditOf(server, owner, 'assistant_proposal', first.message_id);
    expect(events.map((e) => e.action)).toEqual(['created', 'modified']);
    expect(events[1].after).toMatchObject({
      job_id: ran.job_id,
      command: 'echo assistant-e2e',
      confirmed: true,
    });
  });

  it('assistant: caution asks for confirm; dangerous also takes assistant:confirm_dangerous', async () => {
    const caution = await propose(operator, 'echo careful', 'caution');
    const cautionIds = { conversation_id: caution.conversation_id, message_id: caution.message_id };
    const unconfirmed = await as(operator, 'run', { ...cautionIds, agent_id: agent.id });
    expectError(unconfirmed, 422, 'unprocessable');
    expect(unconfirmed.body.error.details[0].field).toBe('confirm');
    expect(
      (await expectStatus(as(operator, 'run', { ...cautionIds, agent_id: agent.id, confirm: true }), 200))
        .job_id,
    ).toBeTruthy();

    const dangerous = await propose(operator, 'echo scary', 'dangerous');
    const ids = { conversation_id: dangerous.conversation_id, message_id: dangerous.message_id };
    const refused = await as(operator, 'run', { ...ids, agent_id: agent.id, confirm: true });
    expectError(refused, 403, 'forbidden');
    expect(refused.body.error.message).toContain('assistant:confirm_dangerous');

    const ownDangerous = await propose(owner, 'echo scary', 'dangerous');
    const ownIds = { conversation_id: ownDangerous.conversation_id, message_id: ownDangerous.message_id };
    expectError(await as(owner, 'run', { ...ownIds, agent_id: agent.id }), 422, 'unprocessable');
    const ran = await expectStatus(
      as(owner, 'run', { ...ownIds, target: { agent_ids: [agent.id] }, confirm: true }),
      200,
    );
    expect(ran).toMatchObject({ job_id: null, level: 'dangerous' });
    const run = await expectStatus(
      call(server, 'GET', `/api/v1/runs/${ran.run_id}`, { token: owner.token }),
      200,
    );
    expect(run.source).toBe('assistant');

    // with the safety check off, caution runs unconfirmed
    await expectStatus(
      call(server, 'PUT', '/api/v1/settings/ai', { token: owner.token, body: { safety_check: false } }),
      200,
    );
    try {
      expect(
        (await expectStatus(as(operator, 'run', { ...cautionIds, agent_id: agent.id }), 200)).job_id,
      ).toBeTruthy();
    } finally {
      await expectStatus(
        call(server, 'PUT', '/api/v1/settings/ai', { token: owner.token, body: { safety_check: true } }),
        200,
      );
    }
  });

  it("assistant: conversations are their user's own: another's is 404, listed, deleted", async () => {
    const mine = await propose(operator, 'echo mine', 'safe', { agent_id: undefined, os_type: 'ubuntu' });
    const path = `/api/v1/assistant/conversations/${mine.conversation_id}`;
    expectError(await call(server, 'GET', path, { token: owner.token }), 404, 'not_found');
    expectError(await call(server, 'DELETE', path, { token: owner.token }), 404, 'not_found');
    const ids = { conversation_id: mine.conversation_id, message_id: mine.message_id };
    expectError(await as(owner, 'run', { ...ids, agent_id: agent.id }), 404, 'not_found');
    expectError(
      await as(owner, 'generate', { prompt: 'continue', conversation_id: mine.conversation_id }),
      404,
      'not_found',
    );
    const ownerList = await expectStatus(
      call(server, 'GET', '/api/v1/assistant/conversations', { token: owner.token }),
      200,
    );
    expect(ownerList.items.map((c: { id: string }) => c.id)).not.toContain(mine.conversation_id);
    const list = await expectStatus(
      call(server, 'GET', '/api/v1/assistant/conversations?limit=1', { token: operator.token }),
      200,
    );
    expect(list.items[0].id).toBe(mine.conversation_id);
    expect(list.next_cursor).not.toBeNull();

    await expectStatus(call(server, 'DELETE', path, { token: operator.token }), 204);
    expectError(await call(server, 'GET', path, { token: operator.token }), 404, 'not_found');
  });

  it('assistant: a proposal saved as a script keeps its shell, command and typed parameters', async () => {
    fake.next({
      kind: 'answer',
      answer: proposal('ls -la /var/log', 'safe', {
        parameters: [{ name: 'directory', value: '/var/log', description: 'where to look' }],
      }),
    });
    const made = await expectStatus(as(owner, 'generate', { prompt: 'list logs', os_type: 'debian' }), 200);
    const ids = { conversation_id: made.conversation_id, message_id: made.message_id };
    const script = await expectStatus(as(owner, 'save', { ...ids, name: 'list logs' }), 201);
    expect(script).toMatchObject({ language: 'bash', content: 'ls -la /var/log', kind: 'command' });
    expect(script.parameters).toEqual([
      { name: 'directory', type: 'string', description: 'where to look', default: '/var/log' },
    ]);
    // the operator may not create scripts
    expectError(await as(operator, 'save', { ...ids, name: 'again' }), 403, 'forbidden');
  });
});
