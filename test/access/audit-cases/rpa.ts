import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { uniqueName, type Session } from '../../support/client.js';
import { processBody, uploadPackage } from '../../processes/support.js';
import { created, modified } from './builders.js';
import type { AuditCase, AuditCases, AuditFixture, Prepared } from './fixture.js';

/** A pool of its own for each case: a robot of it finds no job an earlier case left waiting. */
const freshPool = () => `audit-${randomBytes(4).toString('hex')}`;

/** A process of a new package, pooled on the pool, which no robot is in yet: its jobs wait. */
async function process(f: AuditFixture, pool = 'audit'): Promise<{ id: string }> {
  const pkg = await uploadPackage(f.server, f.owner, uniqueName('rpa-pkg'), '1.0.0');
  const body = processBody(pkg.name, { name: uniqueName('process'), robot_pool: pool });
  return f.as('POST', '/api/v1/processes', body);
}

/** A waiting process job of the pool. */
async function waitingJob(f: AuditFixture, pool = 'audit'): Promise<string> {
  const { id } = await process(f, pool);
  return (await f.as('POST', '/api/v1/process-jobs', { process_id: id })).id as string;
}

/** A runner robot of the pool that registered: its id, and its token as a caller. */
async function runner(f: AuditFixture, pool = freshPool()): Promise<{ id: string; caller: Session }> {
  const name = uniqueName('runner');
  const made = await f.as('POST', '/api/v1/robots', { name, kind: 'runner', pools: [pool] });
  const registered = await f.as(
    'POST',
    '/api/v1/runner/register',
    { name, machine_key: made.machine_key },
    200,
  );
  // a robot token is sent as a bearer token, as a session's is
  const caller = { token: registered.robot_token, userId: null } as unknown as Session;
  return { id: made.robot.id, caller };
}

/** A move of a process job: the event shows its status before and after. */
function jobMoved(from: string, to: string, prepare: (f: AuditFixture) => Promise<Prepared>): AuditCase {
  return {
    action: 'status_changed',
    entityType: 'process_job',
    before: true,
    after: true,
    async prepare(f) {
      const prepared = await prepare(f);
      return {
        ...prepared,
        check: (e, reply) => {
          expect(e.before.status).toBe(from);
          expect(e.after.status).toBe(to);
          prepared.check?.(e, reply);
        },
      };
    },
  };
}

/** A robot's move, read by the owner, the robot named as the actor. */
function byRobot(f: AuditFixture, robot: { id: string }): Pick<Prepared, 'outcome'> {
  return { outcome: () => ({ reader: f.owner.token, actorType: 'robot', actorId: robot.id }) };
}

/** An item of a new queue, taken by the robot when asked. */
async function queueItem(
  f: AuditFixture,
  robot: { caller: Session },
  taken: boolean,
): Promise<{ id: string; queueId: string }> {
  const queue = await f.as('POST', '/api/v1/queues', { name: uniqueName('queue'), max_retries: 1 });
  const item = await f.as('POST', `/api/v1/queues/${queue.id}/items`, { content: { audited: true } });
  if (taken)
    await f.as('POST', `/api/v1/runner/queues/${queue.id}/items/claim`, undefined, 200, robot.caller);
  return { id: item.id, queueId: queue.id };
}

/** A robot's move of a queue item over the runner API: the event shows its status before and after. */
function itemMovedByRobot(
  from: string,
  to: string,
  call: (item: { id: string; queueId: string }) => Pick<Prepared, 'params' | 'body' | 'entityId'>,
): AuditCase {
  return {
    action: 'status_changed',
    entityType: 'queue_item',
    before: true,
    after: true,
    async prepare(f) {
      const robot = await runner(f);
      const item = await queueItem(f, robot, from === 'in_progress');
      return {
        caller: robot.caller,
        ...call(item),
        ...byRobot(f, robot),
        check: (e) => {
          expect(e.before.status).toBe(from);
          expect(e.after.status).toBe(to);
        },
      };
    },
  };
}

/** Process jobs, as operators start and steer them and runner robots carry them out. */
export const rpaCases: AuditCases = {
  'POST /api/v1/process-jobs': created('process_job', async (f) => ({
    body: { process_id: (await process(f)).id },
    check: (e) => expect(e.after).toMatchObject({ kind: 'process', pool: { robot_pool: 'audit' } }),
  })),
  'POST /api/v1/process-jobs/{id}/cancel': jobMoved('queued', 'canceled', async (f) => ({
    params: { id: await waitingJob(f) },
  })),
  'POST /api/v1/process-jobs/{id}/status': jobMoved('queued', 'failed', async (f) => ({
    params: { id: await waitingJob(f) },
    body: { status: 'failed', reason: 'audited by hand' },
  })),
  'POST /api/v1/process-jobs/{id}/reassign': modified('process_job', async (f) => ({
    params: { id: await waitingJob(f) },
    body: { robot_pool: 'elsewhere' },
    check: (e) => {
      expect(e.before.pool).toEqual({ robot_pool: 'audit' });
      expect(e.after.pool).toEqual({ robot_pool: 'elsewhere' });
    },
  })),
  'POST /api/v1/runner/jobs/claim': jobMoved('queued', 'dispatched', async (f) => {
    const pool = freshPool();
    const id = await waitingJob(f, pool);
    const robot = await runner(f, pool);
    return { caller: robot.caller, entityId: id, ...byRobot(f, robot) };
  }),
  'POST /api/v1/runner/jobs/{id}/events': jobMoved('dispatched', 'running', async (f) => {
    const pool = freshPool();
    const id = await waitingJob(f, pool);
    const robot = await runner(f, pool);
    const { job } = await f.as('POST', '/api/v1/runner/jobs/claim', undefined, 200, robot.caller);
    return {
      caller: robot.caller,
      params: { id },
      body: { events: [{ type: 'ack', job_id: id, attempt: job.attempt }] },
      ...byRobot(f, robot),
    };
  }),
  'POST /api/v1/runner/queues/{id}/items/claim': itemMovedByRobot('new', 'in_progress', (item) => ({
    params: { id: item.queueId },
    entityId: item.id,
  })),
  'POST /api/v1/runner/queue-items/{id}/complete': itemMovedByRobot('in_progress', 'successful', (item) => ({
    params: { id: item.id },
    body: { output: { done: true } },
  })),
  'POST /api/v1/runner/queue-items/{id}/fail': itemMovedByRobot('in_progress', 'failed', (item) => ({
    params: { id: item.id },
    body: { error: { type: 'business', reason: 'audited' } },
  })),
  'POST /api/v1/runner/queue-items/{id}/progress': {
    action: 'modified',
    entityType: 'queue_item',
    before: true,
    after: true,
    async prepare(f) {
      const robot = await runner(f);
      const item = await queueItem(f, robot, true);
      return {
        caller: robot.caller,
        params: { id: item.id },
        body: { progress: 'half way' },
        ...byRobot(f, robot),
        check: (e) => expect(e.after.progress).toBe('half way'),
      };
    },
  },
};
