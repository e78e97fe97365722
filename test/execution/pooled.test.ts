import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSpec } from '../../src/protocol/agent.js';
import { enroll, METRICS } from '../support/agents.js';
import { call, expectError, expectStatus } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, type TestServer } from '../support/harness.js';
import { SocketAgent } from '../support/socket-agent.js';
import { HttpAgent, WsAgent } from './drivers.js';
import { Engine } from './support.js';

const RACERS = 50;
const JOBS = 30;

/**
 * A pooled job names no agent but a pool (a selector): the first agent of the pool to ask takes
 * it, and no other, however many ask at once, from however many nodes.
 */
describe.each(dialects)('execution: pooled jobs on %s', (dialect) => {
  let engine: Engine;
  /** PostgreSQL: a second node, so that agents race through two servers' connections. */
  let other: TestServer | undefined;

  beforeAll(async () => {
    engine = await Engine.start(dialect, 'pooled');
    if (dialect === 'postgres') other = await engine.node();
  });
  afterAll(async () => {
    await other?.close();
    await engine.close();
  });

  /** An agent over HTTP with these tags, polling the given node. */
  async function agentWith(tags: string[], node: TestServer = engine.server): Promise<HttpAgent> {
    const { agentId, agentToken } = await enroll(engine.server, engine.owner);
    await expectStatus(engine.api('PATCH', `/api/v1/agents/${agentId}`, { tags }), 200);
    return new HttpAgent(node, agentId, agentToken);
  }

  function submit(pool: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    return engine.api('POST', '/api/v1/jobs', { pool, interpreter: 'sh', command: 'true', ...extra });
  }

  it('execution: each pooled job goes to exactly one of 50 agents racing for it; an agent outside the pool gets none', async () => {
    const tag = 'racer';
    const racers = await Promise.all(
      Array.from({ length: RACERS }, (_, i) =>
        agentWith([tag], i % 2 === 1 && other ? other : engine.server),
      ),
    );
    const outsider = await agentWith(['bystander']);
    const submitted = new Set<string>();
    for (let i = 0; i < JOBS; i += 1) {
      const job = await expectStatus(submit({ tags: [tag] }), 202);
      expect(job).toMatchObject({ agent_id: null, pool: { tags: [tag] }, status: 'queued' });
      submitted.add(job.id);
    }

    const handed: { agent: HttpAgent; job: JobSpec }[] = [];
    await eventually(
      async () => {
        // every racer asks at the same moment, the outsider with them
        const rounds = await Promise.all(
          [...racers, outsider].map(async (agent) => ({ agent, jobs: await agent.poll() })),
        );
        for (const { agent, jobs } of rounds) for (const job of jobs) handed.push({ agent, job });
        return handed.length >= JOBS;
      },
      { what: 'every pooled job to be taken' },
    );
    // one more round: nothing is left to hand out twice
    for (const agent of racers) expect(await agent.poll()).toEqual([]);

    expect(handed.filter(({ agent }) => agent === outsider)).toEqual([]);
    const ids = handed.map(({ job }) => job.job_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(submitted);
    expect(new Set(handed.map(({ agent }) => agent.id)).size).toBeGreaterThan(1);
    for (const { agent, job } of handed)
      expect(await engine.job(job.job_id)).toMatchObject({
        agent_id: agent.id,
        status: 'dispatched',
        attempt: 1,
      });

    // results come back once each
    await Promise.all(handed.map(({ agent, job }) => agent.report(job, 'succeeded', 0)));
    for (const id of submitted) expect((await engine.job(id)).status).toBe('succeeded');
  }, 120_000);

  it('execution: a pooled job handed out and never started goes back to its pool, and another agent of the pool takes it', async () => {
    const first = await agentWith(['requeue']);
    const second = await agentWith(['requeue']);
    const job = await expectStatus(submit({ tags: ['requeue'] }), 202);
    const [taken] = await first.claim();
    expect(taken!.job_id).toBe(job.id);

    await second.heartbeat();
    await engine.lapse();
    expect(await engine.job(job.id)).toMatchObject({ status: 'queued', agent_id: null, attempt: 1 });

    const [retaken] = await second.claim();
    expect(retaken).toMatchObject({ job_id: job.id, attempt: 2 });
    expect(await first.report(taken!, 'succeeded', 0)).toMatchObject({ outcome: 'impossible' });
    expect(await second.report(retaken!, 'succeeded', 0)).toMatchObject({ outcome: 'applied' });
    expect(await engine.job(job.id)).toMatchObject({ status: 'succeeded', agent_id: second.id });
  });

  it('execution: a pooled job its agent says it does not hold goes back to its pool at once, for any agent of it', async () => {
    const { agentId, agentToken } = await enroll(engine.server, engine.owner);
    await expectStatus(engine.api('PATCH', `/api/v1/agents/${agentId}`, { tags: ['unheld'] }), 200);
    const forgetful = new HttpAgent(engine.server, agentId, agentToken);
    const other = await agentWith(['unheld']);
    const job = await expectStatus(submit({ tags: ['unheld'] }), 202);
    const [taken] = await forgetful.claim();
    expect(taken!.job_id).toBe(job.id);

    // the agent left the pool, and restarted without the job: its next poll says it holds nothing
    await expectStatus(engine.api('PATCH', `/api/v1/agents/${agentId}`, { tags: ['elsewhere'] }), 200);
    const reply = await expectStatus(
      call(engine.server, 'POST', '/api/v1/agent/heartbeat', {
        token: agentToken,
        body: { metrics: METRICS, running_job_ids: [] },
      }),
      200,
    );
    expect(reply.jobs).toEqual([]);
    const [retaken] = await other.claim();
    expect(retaken).toMatchObject({ job_id: job.id, attempt: 2 });
    expect(await engine.job(job.id)).toMatchObject({ status: 'dispatched', agent_id: other.id });
  });

  it('execution: a connected agent of the pool is handed a pooled job without asking', async () => {
    const { agentId, agentToken } = await enroll(engine.server, engine.owner);
    await expectStatus(engine.api('PATCH', `/api/v1/agents/${agentId}`, { tags: ['pushed'] }), 200);
    const agent = new WsAgent(agentId, await SocketAgent.connect(engine.server, agentToken));
    try {
      const job = await expectStatus(submit({ tags: ['pushed'], os_type: 'linux' }), 202);
      const [pushed] = await agent.claim();
      expect(pushed).toMatchObject({ job_id: job.id, interpreter: 'sh', command: 'true' });
      await agent.report(pushed!, 'succeeded', 0);
      expect(await engine.untilStatus(job.id, 'succeeded')).toMatchObject({ agent_id: agentId });
    } finally {
      agent.close();
    }
  });

  it('execution: a pool no agent is in is refused (422); a waiting pooled job is canceled like any', async () => {
    expectError(await submit({ tags: ['nobody-has-this'] }), 422, 'unprocessable');
    // the agents here are Ubuntu with bash, sh and python: none is Windows, none reports pwsh
    expectError(await submit({}, { interpreter: 'cmd' }), 422, 'unprocessable');
    expectError(await submit({ capabilities: ['pwsh'] }), 422, 'unprocessable');
    expectError(await submit({ os_type: 'windows' }), 422, 'unprocessable');
    expectError(await submit({ tags: ['x'], unknown: 1 }), 400, 'validation_failed');

    await agentWith(['cancel']);
    const job = await expectStatus(submit({ tags: ['cancel'] }), 202);
    expect(await expectStatus(engine.api('POST', `/api/v1/jobs/${job.id}/cancel`), 202)).toMatchObject({
      status: 'canceled',
      agent_id: null,
    });
  });
});
