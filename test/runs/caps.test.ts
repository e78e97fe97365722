import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/server/lib/ids.js';
import { createAgent } from '../support/agents.js';
import { call, expectError, expectStatus, signup, type Reply, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { createProfile } from '../profiles/support.js';
import { createScript } from '../scripts/library.js';

/** The cap on a run's id list and concurrency (MAX_RUN_AGENTS), spelled out: the test pins the number. */
const CAP = 100_000;

/** The agent's id followed by fresh ids of no agent, `count` in all. */
function idList(agentId: string, count: number): string[] {
  return [agentId, ...Array.from({ length: count - 1 }, () => newId())];
}

function expectOverCap(reply: Reply, field: string): void {
  expectError(reply, 400, 'validation_failed');
  expect(reply.body.error.details.map((d: { field: string }) => d.field)).toContain(field);
}

describe.each(dialects)('runs: the cap on targets and concurrency on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let agentId: string;
  const post = (route: string, body: unknown) => call(server, 'POST', route, { token: owner.token, body });

  beforeAll(async () => {
    // 100,000 ids are about 3.9 MB of JSON: above the default 1 MiB body limit.
    server = await startTestServer(dialect, { config: { bodyLimitBytes: 8 * 1024 * 1024 } });
    owner = await signup(server, 'caps');
    agentId = await createAgent(server, owner);
  });
  afterAll(async () => {
    await server.close();
  });

  it('runs: POST /runs takes 100,000 agent ids and concurrency 100,000, and refuses one more', async () => {
    const job = { interpreter: 'sh', command: 'true' };
    const run = await expectStatus(
      post('/api/v1/runs', { target: { agent_ids: idList(agentId, CAP) }, job, concurrency: CAP }),
      202,
    );
    expect(run.concurrency).toBe(CAP);
    // Ids of no agent select nothing: the one real agent is the run's only job.
    expect(run.counts.total).toBe(1);
    await expectStatus(call(server, 'POST', `/api/v1/runs/${run.id}/cancel`, { token: owner.token }), 202);

    expectOverCap(
      await post('/api/v1/runs', { target: { agent_ids: idList(agentId, CAP + 1) }, job }),
      'body.target.agent_ids',
    );
    expectOverCap(
      await post('/api/v1/runs', { target: { agent_ids: [agentId] }, job, concurrency: CAP + 1 }),
      'body.concurrency',
    );
  });

  it('runs: script execute, profile apply and schedules take the same cap', async () => {
    const script = await createScript(server, owner, { parameters: [] });
    const execute = (concurrency: number) =>
      post(`/api/v1/scripts/${script.id}/execute`, { target: { agent_ids: [agentId] }, concurrency });
    const executed = await expectStatus(execute(CAP), 202);
    expect(executed.concurrency).toBe(CAP);
    expectOverCap(await execute(CAP + 1), 'body.concurrency');

    const profile = await createProfile(server, owner, {
      tasks: [{ name: 'noop', action: 'command', interpreter: 'sh', content: 'true' }],
    });
    const apply = (body: Record<string, unknown>) => post(`/api/v1/profiles/${profile.id}/apply`, body);
    const applied = await expectStatus(apply({ agent_ids: idList(agentId, CAP), concurrency: CAP }), 202);
    expect(applied.concurrency).toBe(CAP);
    expect(applied.counts.total).toBe(1);
    expectOverCap(await apply({ agent_ids: idList(agentId, CAP + 1) }), 'body.agent_ids');
    expectOverCap(await apply({ agent_ids: [agentId], concurrency: CAP + 1 }), 'body.concurrency');

    const schedule = (concurrency: number) =>
      post('/api/v1/schedules', {
        name: `caps-${newId()}`,
        action: { kind: 'script', script_id: script.id, parameters: {} },
        target: { agent_ids: [agentId] },
        interval_seconds: 3600,
        concurrency,
      });
    const created = await expectStatus(schedule(CAP), 201);
    expect(created.concurrency).toBe(CAP);
    expectOverCap(await schedule(CAP + 1), 'body.concurrency');
    expectOverCap(
      await call(server, 'PATCH', `/api/v1/schedules/${created.id}`, {
        token: owner.token,
        body: { concurrency: CAP + 1 },
      }),
      'body.concurrency',
    );
  });
});
