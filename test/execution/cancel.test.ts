import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectStatus } from '../support/client.js';
import { dialects } from '../support/harness.js';
import { untilHandedOut, type DrivenAgent } from './drivers.js';
import { Engine, transports } from './support.js';

/**
 * Cancel in each state: a queued job ends at once; a leased one (dispatched or running) is asked
 * to stop, over either transport, and ends when its agent says so, or as canceled when its lease
 * lapses unconfirmed; a final job refuses (409). A run canceled ends its held jobs, asks its
 * leased ones, and stays canceled whatever they end with.
 */
describe.each(dialects)('execution: cancel on %s', (dialect) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.start(dialect, 'cancel');
  });
  afterAll(async () => {
    await engine.close();
  });

  const cancel = (id: string) => engine.api('POST', `/api/v1/jobs/${id}/cancel`);

  it('execution: a queued job canceled ends at once and is never handed out', async () => {
    const agent = await engine.httpAgent();
    const created = await engine.submit(agent.id);
    const canceled = await expectStatus(cancel(created.id), 202);
    expect(canceled).toMatchObject({
      status: 'canceled',
      attempt: 0,
      error: 'canceled before it started',
      cancel_requested_at: null,
    });
    expect(canceled.finished_at).not.toBeNull();
    expect(await agent.poll()).toEqual([]);
    expect(await engine.job(created.id)).toEqual(canceled);
  });

  it('execution: a final job cannot be canceled (409) and is left as it ended', async () => {
    const agent = await engine.httpAgent();
    const created = await engine.submit(agent.id);
    const [job] = await agent.claim();
    await agent.report(job!, 'failed', 2);
    const ended = await engine.job(created.id);
    const reply = await cancel(created.id);
    expectError(reply, 409, 'conflict');
    expect(reply.body.error.message).toBe('job is already failed');
    expect(await engine.job(created.id)).toEqual(ended);
  });

  describe.each(transports)('over %s', (transport) => {
    /** A job leased to a new agent: dispatched, or running once acknowledged. */
    async function leased(state: 'dispatched' | 'running') {
      const agent = await engine.agent(transport);
      const created = await engine.submit(agent.id);
      const [job] = await agent.claim();
      if (state === 'running') await agent.ack(job!);
      await engine.untilStatus(created.id, state);
      return { agent, job: job!, id: created.id as string };
    }

    async function askedToStop(agent: DrivenAgent, id: string, state: string) {
      const asked = await expectStatus(cancel(id), 202);
      expect(asked).toMatchObject({ status: state, finished_at: null });
      expect(asked.cancel_requested_at).not.toBeNull();
      expect(await agent.cancels()).toEqual([id]);
    }

    for (const state of ['dispatched', 'running'] as const) {
      it(`execution: a ${state} job canceled is asked to stop and ends canceled when its agent says so`, async () => {
        const { agent, job, id } = await leased(state);
        await askedToStop(agent, id, state);
        // asked twice: still the one request, and the job still waits for its agent
        await expectStatus(cancel(id), 202);
        expect(await agent.report(job, 'canceled', null)).toMatchObject({ outcome: 'applied' });
        expect(await engine.job(id)).toMatchObject({ status: 'canceled' });
        expectError(await cancel(id), 409, 'conflict');
        agent.close();
      });

      it(`execution: a ${state} job canceled whose agent never confirms ends canceled when its lease lapses`, async () => {
        const { agent, id } = await leased(state);
        await askedToStop(agent, id, state);
        await engine.lapse();
        expect(await engine.job(id)).toMatchObject({
          status: 'canceled',
          error: 'canceled; the agent did not confirm',
          lease_expires_at: null,
        });
        agent.close();
      });
    }

    it('execution: a running job that finishes before it sees its cancel keeps its result', async () => {
      const { agent, job, id } = await leased('running');
      await expectStatus(cancel(id), 202);
      expect(await agent.report(job, 'succeeded', 0)).toMatchObject({ outcome: 'applied' });
      expect(await engine.job(id)).toMatchObject({ status: 'succeeded', exit_code: 0 });
      agent.close();
    });
  });

  it('execution: a run canceled ends its held jobs, asks its leased one, and stays canceled', async () => {
    const agents = [await engine.httpAgent(), await engine.httpAgent(), await engine.httpAgent()];
    const run = await engine.launch(
      agents.map((a) => a.id),
      { concurrency: 1 },
    );
    const handed = await untilHandedOut(agents, 1);
    expect(handed).toHaveLength(1);
    const { agent: holder, job } = handed[0]!;

    const canceled = await expectStatus(engine.api('POST', `/api/v1/runs/${run.id}/cancel`), 202);
    expect(canceled).toMatchObject({
      status: 'canceled',
      finished_at: null,
      counts: { canceled: 2, dispatched: 1 },
    });
    expectError(await engine.api('POST', `/api/v1/runs/${run.id}/cancel`), 409, 'conflict');
    for (const held of (await engine.runJobs(run.id)).filter((j) => j.agent_id !== holder.id))
      expect(held).toMatchObject({ status: 'canceled', attempt: 0, error: 'run canceled' });
    expect(await holder.cancels()).toEqual([job.job_id]);
    for (const agent of agents) expect(await agent.poll()).toEqual([]);

    // it had finished before it heard: the job keeps its result, the run stays canceled
    await holder.report(job, 'succeeded', 0);
    expect(await engine.finishedRun(run.id)).toMatchObject({
      status: 'canceled',
      counts: { total: 3, canceled: 2, succeeded: 1 },
    });
    expectError(await engine.api('POST', `/api/v1/runs/${run.id}/cancel`), 409, 'conflict');
  });
});
