import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processBody, uploadPackage } from '../processes/support.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import {
  dialects,
  HAND_DRIVEN,
  LEASE_MS,
  startTestServer,
  TestClock,
  type TestServer,
} from '../support/harness.js';

/**
 * A runner robot's heartbeat keeps the lease of the job it holds, as an agent's does; a runner
 * that falls silent loses it, and the job goes back to the queue (never started) or ends lost
 * (started), and the robot is free again.
 */
describe.each(dialects)('runner leases on %s', (dialect) => {
  let server: TestServer;
  let clock: TestClock;
  let owner: Session;
  let processId: string;
  let robot: { id: string; token: string };
  const api = (method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: owner.token, body });
  const asRunner = (method: string, route: string, body?: unknown) =>
    call(server, method, route, { body, headers: { 'x-robot-token': robot.token } });

  beforeAll(async () => {
    clock = new TestClock();
    server = await startTestServer(dialect, { clock, config: HAND_DRIVEN });
    owner = await signup(server, 'leases');
    const pkg = await uploadPackage(server, owner, 'lease-bot', '1.0.0');
    processId = (await expectStatus(api('POST', '/api/v1/processes', processBody(pkg.name)), 201)).id;
    const made = await expectStatus(api('POST', '/api/v1/robots', { name: 'runner', kind: 'runner' }), 201);
    const registered = await expectStatus(
      call(server, 'POST', '/api/v1/runner/register', {
        body: { name: 'runner', machine_key: made.machine_key },
      }),
      200,
    );
    robot = { id: made.robot.id, token: registered.robot_token };
  });
  afterAll(async () => {
    await server?.close();
  });

  async function startedJob(): Promise<string> {
    const job = await expectStatus(
      api('POST', '/api/v1/process-jobs', { process_id: processId, robot_id: robot.id }),
      201,
    );
    const { job: spec } = await expectStatus(asRunner('POST', '/api/v1/runner/jobs/claim'), 200);
    expect(spec.job_id).toBe(job.id);
    await expectStatus(
      asRunner('POST', `/api/v1/runner/jobs/${job.id}/events`, {
        events: [{ type: 'ack', job_id: job.id, attempt: spec.attempt }],
      }),
      200,
    );
    return job.id as string;
  }
  const statusOf = async (id: string) =>
    (await expectStatus(api('GET', `/api/v1/process-jobs/${id}`), 200)).status;

  it('heartbeats keep a running job; silence past the lease ends it lost and frees the robot', async () => {
    const id = await startedJob();
    expect((await expectStatus(api('GET', `/api/v1/robots/${robot.id}`), 200)).current_job_id).toBe(id);
    for (let i = 0; i < 3; i += 1) {
      clock.advance(LEASE_MS / 2);
      await expectStatus(asRunner('POST', '/api/v1/runner/heartbeat', {}), 200);
      await server.app.services.jobs.sweepLeases();
      expect(await statusOf(id)).toBe('running');
    }
    clock.advance(LEASE_MS + 1000);
    await server.app.services.jobs.sweepLeases();
    expect(await statusOf(id)).toBe('lost');
    expect((await expectStatus(api('GET', `/api/v1/robots/${robot.id}`), 200)).current_job_id).toBeNull();
  });
});
