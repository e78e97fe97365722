import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSpec } from '../../src/protocol/agent.js';
import { expectStatus } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects } from '../support/harness.js';
import { untilHandedOut, type HttpAgent } from './drivers.js';
import { Engine } from './support.js';

const POOL = 6;

/** One turn of the property: which held job ends next (an index into them), how, and how many of the next ones end at the same time. */
const completion = fc.record({
  pick: fc.nat(),
  status: fc.constantFrom('succeeded', 'failed', 'timed_out'),
  together: fc.integer({ min: 1, max: 3 }),
});

/**
 * A run never has more jobs out at once than its concurrency, however its jobs end: in any order,
 * two at once, failing or not, through a plan of one step or of two (the step sequencer queues
 * each agent's next step itself, and must take a slot like admission does).
 */
describe.each(dialects)('execution: run concurrency on %s', (dialect) => {
  let engine: Engine;
  let agents: HttpAgent[];
  let profileId: string;
  beforeAll(async () => {
    engine = await Engine.start(dialect, 'concurrency');
    agents = [];
    for (let i = 0; i < POOL; i += 1) agents.push(await engine.httpAgent());
    const step = (name: string) => ({
      name,
      action: 'command',
      interpreter: 'sh',
      content: 'true',
      continue_on_error: true,
    });
    const profile = await expectStatus(
      engine.api('POST', '/api/v1/profiles', { name: 'two steps', tasks: [step('one'), step('two')] }),
      201,
    );
    profileId = profile.id;
  });
  afterAll(async () => {
    await engine.close();
  });

  async function start(targets: HttpAgent[], concurrency: number, twoSteps: boolean): Promise<string> {
    const agentIds = targets.map((a) => a.id);
    const run = twoSteps
      ? await expectStatus(
          engine.api('POST', `/api/v1/profiles/${profileId}/apply`, { agent_ids: agentIds, concurrency }),
          202,
        )
      : await engine.launch(agentIds, { concurrency });
    return run.id;
  }

  it('execution: a run never has more jobs out than its concurrency, whatever the order its jobs end in', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: POOL }),
        fc.integer({ min: 1, max: 4 }),
        fc.boolean(),
        fc.array(completion, { maxLength: 2 * POOL }),
        async (size, concurrency, twoSteps, completions) => {
          const targets = agents.slice(0, size);
          const runId = await start(targets, concurrency, twoSteps);
          const out = new Map<string, { agent: HttpAgent; job: JobSpec }>();
          /** Every agent takes what it is handed; the jobs out are then counted, by the agents and by the run. */
          const pollAll = async () => {
            const handed = await Promise.all(
              targets.map(async (agent) => (await agent.poll()).map((job) => ({ agent, job }))),
            );
            for (const one of handed.flat()) out.set(one.job.job_id, one);
            expect(out.size, 'jobs held by agents').toBeLessThanOrEqual(concurrency);
            const { counts } = await engine.run(runId);
            expect(
              counts.dispatched + counts.running,
              'jobs out, as the run counts them',
            ).toBeLessThanOrEqual(concurrency);
          };
          const finished = async () => (await engine.run(runId)).finished_at !== null;

          for (let turn = 0; ; turn += 1) {
            // admission follows a result by a settle pass of its own: wait for work, or for the end
            await eventually(
              async () => {
                await pollAll();
                return out.size > 0 || (await finished());
              },
              { what: `run ${runId} to hand out work or finish` },
            );
            if (out.size === 0) break;
            const next = completions[turn] ?? { pick: 0, status: 'succeeded', together: 1 };
            const held = [...out.values()].sort((a, b) => a.job.job_id.localeCompare(b.job.job_id));
            const ending = held
              .slice(next.pick % held.length)
              .concat(held)
              .slice(0, Math.min(next.together, held.length));
            await Promise.all(
              ending.map(({ agent, job }) =>
                agent.report(job, next.status, next.status === 'succeeded' ? 0 : 1),
              ),
            );
            for (const { job } of ending) out.delete(job.job_id);
          }
          const run = await engine.run(runId);
          expect(run.counts.total).toBe(size * (twoSteps ? 2 : 1));
          expect(run.counts.queued + run.counts.dispatched + run.counts.running).toBe(0);
        },
      ),
      // Each case is a real run over real HTTP: a first counterexample is reported as found, not
      // shrunk (shrinking would replay dozens of runs on a shared two-core machine).
      { numRuns: 20, endOnFailure: true },
    );
  }, 180_000);

  it("execution: an agent's next step waits for a slot when its own went to another agent meanwhile", async () => {
    const pair = agents.slice(0, 2);
    const runId = await start(pair, 1, true);
    const handed = await untilHandedOut(pair, 1);
    expect(handed).toHaveLength(1);
    const holder = handed[0]!.agent;
    const first = handed[0]!.job;
    const other = pair.find((agent) => agent !== holder);
    // The race, made to happen: the step ends, and before its follow-up queues the next one, a
    // settle pass gives the freed slot to the other agent.
    const hold = engine.holdFollowUps();
    try {
      const finishing = holder.report(first, 'succeeded', 0);
      await engine.untilStatus(first.job_id, 'succeeded');
      await engine.services.runs.settle(runId);
      const [taken] = await other!.claim();
      hold.release();
      await finishing;
      expect(await holder.poll()).toEqual([]);
      expect((await engine.run(runId)).counts).toMatchObject({ dispatched: 1, queued: 1, succeeded: 1 });
      await other!.report(taken!, 'succeeded', 0);
    } finally {
      hold.restore();
    }
    // One at a time to the end, to whichever agent the slot goes: the other agent's next step, or
    // the holder's, admitted by a settle pass that came between the other's result and its follow-up.
    for (let left = 2; left > 0; left -= 1) {
      const next = await untilHandedOut(pair, 1);
      expect(next).toHaveLength(1);
      const idle = pair.find((agent) => agent !== next[0]!.agent)!;
      expect(await idle.poll()).toEqual([]);
      await next[0]!.agent.report(next[0]!.job, 'succeeded', 0);
    }
    expect(await engine.finishedRun(runId)).toMatchObject({
      status: 'succeeded',
      counts: { total: 4, succeeded: 4 },
    });
  });
});
