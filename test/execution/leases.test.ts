import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/harness.js';
import { LEASE_MS } from '../support/harness.js';
import { Engine } from './support.js';

/**
 * Leases as the state machine sees them (at-most-once.test.ts has when a lapse requeues or loses):
 * heartbeats keep a lease, a lapse ends a started job `lost`, and a job a lapse sent back to the
 * queue is never run twice by the agent that still has it: its result is taken, or it is leased
 * back to that agent with the same attempt.
 */
describe.each(dialects)('execution: leases on %s', (dialect) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.start(dialect, 'leases');
  });
  afterAll(async () => {
    await engine.close();
  });

  it('execution: heartbeats renew a lease; once they stop it lapses and the started job ends lost', async () => {
    const agent = await engine.httpAgent();
    const created = await engine.submit(agent.id);
    const [job] = await agent.claim();
    await agent.ack(job!);
    for (let beat = 0; beat < 3; beat += 1) {
      // three lease lengths in all, each step under one, each heard
      await engine.advance(LEASE_MS - 1_000);
      await agent.heartbeat();
      await engine.services.sweeper.sweep();
      expect(await engine.job(created.id)).toMatchObject({ status: 'running', attempt: 1 });
    }
    await engine.lapse();
    const lost = await engine.job(created.id);
    expect(lost).toMatchObject({ status: 'lost', attempt: 1, lease_expires_at: null });
    expect(lost.finished_at).not.toBeNull();
    expect(await agent.poll()).toEqual([]);
  });

  it('execution: a job queued again by a lapse takes the result of the agent that had it, and is not handed out again', async () => {
    const agent = await engine.httpAgent();
    const created = await engine.submit(agent.id);
    const [job] = await agent.claim();
    await engine.lapse();
    expect(await engine.job(created.id)).toMatchObject({ status: 'queued', attempt: 1 });

    // the work was done all the same: the result of attempt 1 ends the job
    expect(await agent.report(job!, 'succeeded', 0)).toMatchObject({ outcome: 'applied' });
    expect(await engine.job(created.id)).toMatchObject({ status: 'succeeded', attempt: 1, exit_code: 0 });
    expect(await agent.poll()).toEqual([]);
    await engine.lapse();
    expect(await engine.job(created.id)).toMatchObject({ status: 'succeeded', attempt: 1 });
  });

  it('execution: a started job queued again for a retry is leased back, same attempt, to the agent still running it', async () => {
    const agent = await engine.httpAgent();
    const created = await engine.submit(agent.id, { max_attempts: 2 });
    const [job] = await agent.claim();
    await agent.ack(job!);
    await engine.lapse();
    expect(await engine.job(created.id)).toMatchObject({ status: 'queued', attempt: 1 });

    // its next heartbeat says it still holds the job: running again, not delivered again
    expect(await agent.poll()).toEqual([]);
    const back = await engine.job(created.id);
    expect(back).toMatchObject({ status: 'running', attempt: 1 });
    expect(back.lease_expires_at).not.toBeNull();
    expect(await agent.report(job!, 'succeeded', 0)).toMatchObject({ outcome: 'applied' });
    expect(await engine.job(created.id)).toMatchObject({ status: 'succeeded', attempt: 1 });
  });
});
