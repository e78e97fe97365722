import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialects } from '../support/harness.js';
import { Engine, transports } from './support.js';

/**
 * The engine's answer to a result is the same over the WebSocket and the HTTP fallback: applied
 * once, a repeat answered `duplicate`, a contradiction refused (`conflict`) with the first result
 * kept, an impossible one refused (`impossible`). Whatever the answer, the agent is told, so it
 * can drop the result from its spool instead of resending it forever.
 */
describe.each(dialects)('execution: results on %s', (dialect) => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.start(dialect, 'results');
  });
  afterAll(async () => {
    await engine.close();
  });

  describe.each(transports)('over %s', (transport) => {
    it('execution: a result delivered twice is applied once', async () => {
      const agent = await engine.agent(transport);
      const created = await engine.submit(agent.id);
      const [job] = await agent.claim();
      await agent.ack(job!);
      await engine.untilStatus(created.id, 'running');
      expect(await agent.report(job!, 'succeeded', 0)).toMatchObject({ outcome: 'applied' });
      const first = await engine.job(created.id);
      // a second application would write the time it happened
      engine.clock.advance(60_000);
      expect(await agent.report(job!, 'succeeded', 0)).toEqual({
        job_id: created.id,
        attempt: 1,
        event: 'result',
        outcome: 'duplicate',
      });
      expect(await engine.job(created.id)).toEqual(first);
      expect(first).toMatchObject({ status: 'succeeded', exit_code: 0, attempt: 1 });
      agent.close();
    });

    it('execution: a result contradicting the stored one is refused, the first kept, and the agent told', async () => {
      const agent = await engine.agent(transport);
      const created = await engine.submit(agent.id);
      const [job] = await agent.claim();
      await agent.ack(job!);
      expect(await agent.report(job!, 'succeeded', 0)).toMatchObject({ outcome: 'applied' });
      const first = await engine.job(created.id);
      for (const [status, exitCode] of [
        ['failed', 1],
        ['succeeded', 3],
        ['canceled', null],
      ] as const) {
        expect(await agent.report(job!, status, exitCode)).toEqual({
          job_id: created.id,
          attempt: 1,
          event: 'result',
          outcome: 'conflict',
          message: 'job is already succeeded (exit 0)',
        });
      }
      expect(await engine.job(created.id)).toEqual(first);
      agent.close();
    });

    it('execution: a result for a job never dispatched is impossible; the job stays queued and is still handed out', async () => {
      const agent = await engine.agent(transport);
      // silent past offlineAfterMs: offline, so its run holds the job back (admission waits for it)
      await engine.advance(61_000);
      await engine.services.liveness.sweep();
      const run = await engine.launch([agent.id]);
      const [held] = await engine.runJobs(run.id);
      expect(held).toMatchObject({ agent_id: agent.id, status: 'queued', attempt: 0 });
      expect(await agent.report({ job_id: held.id, attempt: 1 }, 'succeeded', 0)).toEqual({
        job_id: held.id,
        attempt: 1,
        event: 'result',
        outcome: 'impossible',
        message: expect.stringContaining('never dispatched'),
      });
      expect(await engine.job(held.id)).toMatchObject({ status: 'queued', attempt: 0, finished_at: null });

      // back online, the agent is handed the job, and its result is taken
      await agent.heartbeat();
      await engine.untilOnline(agent.id);
      const [job] = await agent.claim();
      expect(job).toMatchObject({ job_id: held.id, attempt: 1 });
      expect(await agent.report(job!, 'succeeded', 0)).toMatchObject({ outcome: 'applied' });
      expect(await engine.finishedRun(run.id)).toMatchObject({
        status: 'succeeded',
        counts: { total: 1, succeeded: 1 },
      });
      agent.close();
    });
  });
});
