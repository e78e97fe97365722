import { processBody, uploadPackage } from '../processes/support.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueSweeper, type QueueTrigger } from '../../src/server/modules/queues/queues.sweeper.js';
import { call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, HAND_DRIVEN, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import { addItem, claim, createQueue, itemAction, stats } from './support.js';

const START = new Date('2030-03-01T08:00:00.000Z');
const MINUTE = 60_000;

describe.each(dialects)('queues: sweep, trigger and statistics on %s', (dialect) => {
  let server: TestServer;
  let clock: TestClock;
  let owner: Session;
  beforeAll(async () => {
    clock = new TestClock(new Date(START));
    server = await startTestServer(dialect, { clock, config: HAND_DRIVEN });
    owner = await signup(server, 'sweeper');
  });
  afterAll(async () => {
    await server.close();
  });

  it('queues: the sweep abandons items in progress past the item timeout, and only those', async () => {
    const queue = await createQueue(server, owner, { item_timeout_seconds: 60 });
    const slow = await addItem(server, owner, queue.id);
    const quick = await addItem(server, owner, queue.id);
    await expectStatus(claim(server, owner, queue.id), 200);
    clock.advance(30_000);
    await expectStatus(claim(server, owner, queue.id), 200);
    clock.advance(30_000);
    // Two nodes sweeping at once: each item is abandoned once, by a conditional update.
    await Promise.all([server.app.services.queueSweeper.sweep(), server.app.services.queueSweeper.sweep()]);
    const read = (id: string) =>
      expectStatus(call(server, 'GET', `/api/v1/queue-items/${id}`, { token: owner.token }), 200);
    expect(await read(slow.id)).toMatchObject({
      status: 'abandoned',
      finished_at: clock.now().toISOString(),
    });
    expect((await read(quick.id)).status).toBe('in_progress');
    expectError(await itemAction(server, owner, slow.id, 'complete', {}), 409, 'conflict');
    await expectStatus(itemAction(server, owner, quick.id, 'complete', {}), 200);
    clock.advance(60_000);
    await server.app.services.queueSweeper.sweep();
    expect((await read(quick.id)).status).toBe('successful');
    // An abandoned item may be deleted.
    await expectStatus(call(server, 'DELETE', `/api/v1/queue-items/${slow.id}`, { token: owner.token }), 204);
  });

  it('queues: the trigger asks for jobs while items wait, up to trigger_max_jobs minus the active ones', async () => {
    const pkg = await uploadPackage(server, owner, 'upkeep-bot', '1.0.0');
    const process = (name: string) =>
      expectStatus(
        call(server, 'POST', '/api/v1/processes', {
          token: owner.token,
          body: processBody(pkg.name, { name }),
        }),
        201,
      ).then((made) => made.id as string);
    const processA = await process('process a');
    const processB = await process('process b');
    const busy = await createQueue(server, owner, { trigger_process_id: processA, trigger_max_jobs: 3 });
    for (let i = 0; i < 5; i += 1) await addItem(server, owner, busy.id);
    const few = await createQueue(server, owner, { trigger_process_id: processB, trigger_max_jobs: 10 });
    await addItem(server, owner, few.id);
    await addItem(server, owner, few.id, {
      defer_until: new Date(clock.now().getTime() + MINUTE).toISOString(),
    });
    const paused = await createQueue(server, owner, { trigger_process_id: processB, active: false });
    const empty = await createQueue(server, owner, { trigger_process_id: processB });
    const manual = await createQueue(server, owner);
    await addItem(server, owner, manual.id);
    await expectStatus(
      call(server, 'PATCH', `/api/v1/queues/${paused.id}`, { token: owner.token, body: { active: true } }),
      200,
    );
    await addItem(server, owner, paused.id);
    await expectStatus(
      call(server, 'PATCH', `/api/v1/queues/${paused.id}`, { token: owner.token, body: { active: false } }),
      200,
    );

    const active = new Map<string, number>([[busy.id, 1]]);
    const started: [string, string, string, number][] = [];
    const trigger: QueueTrigger = {
      activeJobs: (_orgId, queueId) => Promise.resolve(active.get(queueId) ?? 0),
      startProcessJobs: (orgId, queueId, processId, wanted) => {
        started.push([orgId, queueId, processId, wanted]);
        return Promise.resolve();
      },
    };
    const logs: unknown[] = [];
    const sweeper = new QueueSweeper({
      db: server.database.db,
      clock,
      trigger,
      intervalMs: 3_600_000,
      logger: {
        info: () => undefined,
        warn: () => undefined,
        error: (obj) => void logs.push(obj),
      },
    });
    await sweeper.sweep();
    expect(logs).toEqual([]);
    const ours = started.filter(([orgId]) => orgId === owner.orgId);
    expect(ours.sort((a, b) => a[1].localeCompare(b[1]))).toEqual(
      [
        [owner.orgId, busy.id, processA, 2],
        [owner.orgId, few.id, processB, 1],
      ].sort((a, b) => String(a[1]).localeCompare(String(b[1]))),
    );
    expect(started.map(([, queueId]) => queueId)).not.toContain(empty.id);

    // At its maximum, a queue asks for nothing more.
    active.set(busy.id, 3);
    started.length = 0;
    await sweeper.sweep();
    expect(started.map(([, queueId]) => queueId)).not.toContain(busy.id);
  });

  it('queues: stats count items by status, average processing time, SLA and deadline breaches, oldest wait', async () => {
    const queue = await createQueue(server, owner, { sla_minutes: 10 });
    const empty = await stats(server, owner, queue.id);
    expect(empty).toEqual({
      counts: { new: 0, in_progress: 0, successful: 0, failed: 0, abandoned: 0, retried: 0, deleted: 0 },
      average_processing_ms: null,
      sla_breaches: 0,
      deadline_breaches: 0,
      oldest_waiting_age_ms: null,
    });

    const a = await addItem(server, owner, queue.id, {
      deadline: new Date(clock.now().getTime() + 5 * MINUTE).toISOString(),
    });
    const b = await addItem(server, owner, queue.id);
    await expectStatus(claim(server, owner, queue.id), 200);
    clock.advance(2000);
    await expectStatus(itemAction(server, owner, a.id, 'complete', {}), 200);
    await expectStatus(claim(server, owner, queue.id), 200);
    clock.advance(4000);
    await expectStatus(itemAction(server, owner, b.id, 'complete', {}), 200);
    const waiting = await addItem(server, owner, queue.id);
    await addItem(server, owner, queue.id, {
      deadline: new Date(clock.now().getTime() + MINUTE).toISOString(),
    });
    const gone = await addItem(server, owner, queue.id);
    await expectStatus(call(server, 'DELETE', `/api/v1/queue-items/${gone.id}`, { token: owner.token }), 204);
    clock.advance(3 * MINUTE);

    const now = await stats(server, owner, queue.id);
    expect(now).toEqual({
      counts: { new: 2, in_progress: 0, successful: 2, failed: 0, abandoned: 0, retried: 0, deleted: 1 },
      average_processing_ms: 3000,
      sla_breaches: 0,
      // The one added with a minute's deadline is past it; `a` finished before its own.
      deadline_breaches: 1,
      oldest_waiting_age_ms: 3 * MINUTE,
    });
    clock.advance(8 * MINUTE);
    // Eleven minutes on, the two waiting ones breach the ten-minute SLA; the finished ones did not.
    expect((await stats(server, owner, queue.id)).sla_breaches).toBe(2);
    await expectStatus(claim(server, owner, queue.id), 200);
    await expectStatus(itemAction(server, owner, waiting.id, 'complete', {}), 200);
    // Finished late, it still counts as a breach.
    expect((await stats(server, owner, queue.id)).sla_breaches).toBe(2);
    const stranger = await signup(server, 'statless');
    expectError(
      await call(server, 'GET', `/api/v1/queues/${queue.id}/stats`, { token: stranger.token }),
      404,
      'not_found',
    );
  });
});
