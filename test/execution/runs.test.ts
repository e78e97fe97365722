import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../support/agents.js';
import { expectError, expectStatus } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects } from '../support/harness.js';
import { handedOut, untilHandedOut } from './drivers.js';
import { Engine } from './support.js';

/** A run's own limits: its failure threshold stops admission, its deadline ends what never started. */
describe.each(dialects)('execution: run limits on %s', (dialect) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.start(dialect, 'runs');
  });
  afterAll(async () => {
    await engine.close();
  });

  it('execution: a run stops admitting at its failure threshold; the jobs held back end canceled, never handed out', async () => {
    const agents = await Promise.all([1, 2, 3, 4, 5].map(() => engine.httpAgent()));
    const run = await engine.launch(
      agents.map((a) => a.id),
      { concurrency: 2, failure_threshold: 2 },
    );
    const first = await untilHandedOut(agents, 2);
    expect(first, 'jobs handed out at first').toHaveLength(2);
    const waiting = agents.filter((a) => !first.some((f) => f.agent === a));

    // one failure, under the threshold: its slot goes to a job held back
    await first[0]!.agent.report(first[0]!.job, 'failed', 1);
    const [refill] = await untilHandedOut(waiting, 1);
    expect(await handedOut(waiting)).toEqual([]);

    // the second failure reaches it: the run fails, and what it held back is canceled
    await first[1]!.agent.report(first[1]!.job, 'timed_out', null);
    const stopped = await eventually(
      async () => {
        const now = await engine.run(run.id);
        return now.status === 'failed' ? now : undefined;
      },
      { what: 'the run to stop' },
    );
    expect(stopped.finished_at).toBeNull();
    const held = (await engine.runJobs(run.id)).filter((j) => j.status === 'canceled');
    expect(held, 'jobs held back, canceled').toHaveLength(2);
    for (const job of held)
      expect(job).toMatchObject({ attempt: 0, error: 'run stopped: 2 failures reached the threshold' });
    expect(await handedOut(agents)).toEqual([]);

    // the job under way was not stopped: it ends as it ends, and the run finishes failed
    await refill!.agent.report(refill!.job, 'succeeded', 0);
    expect(await engine.finishedRun(run.id)).toMatchObject({
      status: 'failed',
      counts: { total: 5, failed: 1, timed_out: 1, succeeded: 1, canceled: 2 },
    });
  });

  it("execution: a run's jobs filter by status, and each names its agent", async () => {
    const [good, bad] = await Promise.all([engine.httpAgent(), engine.httpAgent()]);
    const run = await engine.launch([good.id, bad.id]);
    const [goodJob] = await good.claim();
    const [badJob] = await bad.claim();
    await good.report(goodJob!, 'succeeded', 0);
    await bad.report(badJob!, 'failed', 3);
    await engine.finishedRun(run.id);
    const nameOf = async (id: string) =>
      (await expectStatus(engine.api('GET', `/api/v1/agents/${id}`), 200)).name;

    const failed = await expectStatus(engine.api('GET', `/api/v1/runs/${run.id}/jobs?status=failed`), 200);
    expect(failed.items).toEqual([
      expect.objectContaining({ agent_id: bad.id, agent_name: await nameOf(bad.id), exit_code: 3 }),
    ]);
    const all = await engine.runJobs(run.id);
    expect(all.map((job) => job.agent_name).sort()).toEqual(
      [await nameOf(good.id), await nameOf(bad.id)].sort(),
    );
    expect(await engine.job(goodJob!.job_id)).toMatchObject({ agent_name: await nameOf(good.id) });
    expectError(
      await engine.api('GET', `/api/v1/runs/${run.id}/jobs?status=sleeping`),
      400,
      'validation_failed',
    );
  });

  it("execution: a run's deadline ends the jobs of agents not online by then; one back in time runs", async () => {
    // made first, so their jobs come first in the order admission takes them
    const never = await engine.httpAgent();
    const machine = await createAgent(engine.server, engine.owner);
    const online = await engine.httpAgent();
    const late = await engine.httpAgent();
    // silent past offlineAfterMs: offline, so the run holds their jobs back without taking a slot
    await engine.advance(61_000);
    await engine.services.liveness.sweep();
    await online.heartbeat();
    await engine.untilOnline(online.id);
    const run = await engine.launch([never.id, machine, online.id, late.id], {
      concurrency: 1,
      deadline_seconds: 120,
    });
    const [job] = await online.claim();
    await online.report(job!, 'succeeded', 0);

    engine.clock.advance(60_000);
    await late.heartbeat();
    await engine.untilOnline(late.id);
    const [lateJob] = await late.claim();
    await engine.services.sweeper.sweep();
    expect(await engine.run(run.id)).toMatchObject({
      status: 'running',
      counts: { succeeded: 1, dispatched: 1, queued: 2 },
    });

    engine.clock.advance(61_000);
    await engine.services.sweeper.sweep();
    const ended = (await engine.runJobs(run.id)).filter((j) => j.status === 'canceled');
    expect(ended.map((j) => j.agent_id).sort()).toEqual([never.id, machine].sort());
    for (const j of ended)
      expect(j).toMatchObject({ attempt: 0, error: 'the agent was not online before the run deadline' });
    expect(await never.poll()).toEqual([]);

    await late.report(lateJob!, 'succeeded', 0);
    expect(await engine.finishedRun(run.id)).toMatchObject({
      status: 'failed',
      counts: { total: 4, succeeded: 2, canceled: 2 },
    });
  });
});
