import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll, METRICS } from '../support/agents.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import {
  dialects,
  HAND_DRIVEN,
  LEASE_MS,
  startTestServer,
  TestClock,
  type TestServer,
} from '../support/harness.js';
import { StatementCounter } from '../support/statements.js';

const HOUR = 3_600_000;
describe.each(dialects)('execution: at most once, retries and lease expiry on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  const clock = new TestClock();
  const counter = new StatementCounter();

  beforeAll(async () => {
    // the test clock runs for hours: the owner's access token must outlast it
    const config = { ...HAND_DRIVEN, accessTokenTtlMs: 1_000 * HOUR };
    server = await startTestServer(dialect, { clock, config, plugins: [counter] });
    owner = await signup(server);
  });
  afterAll(async () => {
    await server.close();
  });

  const as = (method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: owner.token, body });
  const jobOf = async (id: string) => expectStatus(as('GET', `/api/v1/jobs/${id}`), 200);

  /** An agent spoken for by hand over the HTTP fallback. */
  async function agent() {
    const { agentId, agentToken } = await enroll(server, owner);
    const heartbeat = async (held: string[] = []) => {
      const reply = await expectStatus(
        call(server, 'POST', '/api/v1/agent/heartbeat', {
          token: agentToken,
          body: { metrics: METRICS, running_job_ids: held },
        }),
        200,
      );
      // written now, so the lease it renews is counted from this moment, not from the sweep's
      await server.app.services.liveness.flush();
      return reply.jobs as { job_id: string; attempt: number }[];
    };
    const ack = (job: { job_id: string; attempt: number }) =>
      expectStatus(
        call(server, 'POST', `/api/v1/agent/jobs/${job.job_id}/events`, {
          token: agentToken,
          body: { events: [{ type: 'ack', ...job }] },
        }),
        200,
      );
    const succeed = (job: { job_id: string; attempt: number }) =>
      expectStatus(
        call(server, 'POST', `/api/v1/agent/jobs/${job.job_id}/events`, {
          token: agentToken,
          body: {
            events: [
              { type: 'ack', ...job },
              { type: 'result', ...job, status: 'succeeded', exit_code: 0, duration_ms: 1 },
            ],
          },
        }),
        200,
      );
    return { id: agentId, heartbeat, ack, succeed };
  }

  const submit = async (agentId: string, extra: Record<string, unknown> = {}) =>
    expectStatus(
      as('POST', `/api/v1/agents/${agentId}/jobs`, {
        interpreter: 'sh',
        command: 'date >> /tmp/x',
        ...extra,
      }),
      202,
    );

  /** The leases lapse: the clock passes them and the sweeper runs. */
  const lapse = async () => {
    clock.advance(LEASE_MS + 1_000);
    await server.app.services.sweeper.sweep();
  };

  it('execution: a started job whose lease lapses ends lost and is never handed out again', async () => {
    const a = await agent();
    const created = await submit(a.id);
    expect(created.max_attempts).toBe(1);
    const [claimed] = await a.heartbeat();
    expect(claimed).toMatchObject({ job_id: created.id, attempt: 1 });
    await a.ack(claimed!);
    expect(await jobOf(created.id)).toMatchObject({ status: 'running' });

    await lapse();
    const lost = await jobOf(created.id);
    expect(lost).toMatchObject({
      status: 'lost',
      attempt: 1,
      lease_expires_at: null,
      error: 'the agent stopped answering while the job was running; not run again (max_attempts 1)',
    });
    expect(lost.finished_at).not.toBeNull();
    // the agent comes back, holding the job or not: nothing to run, the job stays lost
    expect(await a.heartbeat([created.id])).toEqual([]);
    expect(await a.heartbeat()).toEqual([]);
    await lapse();
    expect(await jobOf(created.id)).toMatchObject({ status: 'lost', attempt: 1 });
  });

  it('execution: max_attempts 2 queues a started job again once when its lease lapses, then it is lost', async () => {
    const a = await agent();
    const created = await submit(a.id, { max_attempts: 2 });
    expect(created.max_attempts).toBe(2);
    const [first] = await a.heartbeat();
    await a.ack(first!);
    await lapse();
    expect(await jobOf(created.id)).toMatchObject({ status: 'queued', attempt: 1, lease_expires_at: null });

    const [second] = await a.heartbeat();
    expect(second).toMatchObject({ job_id: created.id, attempt: 2 });
    await a.ack(second!);
    await lapse();
    expect(await jobOf(created.id)).toMatchObject({
      status: 'lost',
      attempt: 2,
      error: 'the agent stopped answering while the job was running, on its last attempt',
    });
    expect(await a.heartbeat()).toEqual([]);
  });

  it('execution: a job dispatched and never acknowledged goes back to the queue when its lease lapses, a bounded number of times', async () => {
    const a = await agent();
    const created = await submit(a.id);
    // max_attempts (1) and five more deliveries that never start it
    for (let delivery = 1; delivery <= 6; delivery += 1) {
      const [claimed] = await a.heartbeat();
      expect(claimed).toMatchObject({ job_id: created.id, attempt: delivery });
      expect(await jobOf(created.id)).toMatchObject({ status: 'dispatched' });
      await lapse();
      if (delivery < 6)
        expect(await jobOf(created.id)).toMatchObject({
          status: 'queued',
          attempt: delivery,
          started_at: null,
        });
    }
    expect(await jobOf(created.id)).toMatchObject({
      status: 'lost',
      attempt: 6,
      error: 'the agent stopped answering before it started the job, too many times',
    });
  });

  it('execution: lease expiry is two statements (requeue, loss), however many leases lapse', async () => {
    const a = await agent();
    const ids: string[] = [];
    for (let i = 0; i < 20; i += 1) ids.push((await submit(a.id)).id);
    const claimed = await a.heartbeat();
    expect(claimed).toHaveLength(20);
    const started = claimed.slice(0, 10);
    for (const job of started) await a.ack(job);
    // a cancel asked of a started job the agent never confirms
    await expectStatus(as('POST', `/api/v1/jobs/${started[0]!.job_id}/cancel`), 202);

    clock.advance(LEASE_MS + 1_000);
    const { result, statements } = await counter.during(() => server.app.services.jobs.sweepLeases());
    expect(result).toBe(20);
    expect(statements).toEqual(['Update jobs', 'Update jobs']);

    const startedIds = new Set(started.map((job) => job.job_id));
    for (const id of ids) {
      const job = await jobOf(id);
      if (id === started[0]!.job_id)
        expect(job).toMatchObject({ status: 'canceled', error: 'canceled; the agent did not confirm' });
      else expect(job.status).toBe(startedIds.has(id) ? 'lost' : 'queued');
    }
  });

  it('execution: a node that starts gives every live lease time for the agents to reconnect', async () => {
    const a = await agent();
    const created = await submit(a.id);
    const [claimed] = await a.heartbeat();
    await a.ack(claimed!);
    const before = Date.parse((await jobOf(created.id)).lease_expires_at);
    // the server restarts: another node of the same database, on the same clock
    const restarted = await startTestServer(dialect, {
      clock,
      config: HAND_DRIVEN,
      shareDatabaseWith: server,
    });
    try {
      // a sweep waits for the extension the start queued before it
      await restarted.app.services.sweeper.sweep();
      const extended = await jobOf(created.id);
      expect(Date.parse(extended.lease_expires_at)).toBe(clock.now().getTime() + 30_000 + LEASE_MS);
      expect(Date.parse(extended.lease_expires_at)).toBeGreaterThan(before);
      await lapse();
      expect(await jobOf(created.id)).toMatchObject({ status: 'running' });
      clock.advance(30_000);
      await server.app.services.sweeper.sweep();
      expect(await jobOf(created.id)).toMatchObject({ status: 'lost' });
    } finally {
      await restarted.close();
    }
  });

  it("execution: a job's max_attempts comes from its request, its script, its task or the jobs settings", async () => {
    const a = await agent();
    const script = await expectStatus(
      as('POST', '/api/v1/scripts', { name: 'idempotent', language: 'sh', content: 'true', max_attempts: 3 }),
      201,
    );
    expect(script.max_attempts).toBe(3);
    const scriptJob = await expectStatus(
      as('POST', `/api/v1/scripts/${script.id}/run`, { agent_id: a.id }),
      202,
    );
    expect(scriptJob.max_attempts).toBe(3);
    const overridden = await expectStatus(
      as('POST', `/api/v1/scripts/${script.id}/run`, { agent_id: a.id, max_attempts: 1 }),
      202,
    );
    expect(overridden.max_attempts).toBe(1);
    // not versioned: how a script runs, not what
    const patched = await expectStatus(
      as('PATCH', `/api/v1/scripts/${script.id}`, { max_attempts: null }),
      200,
    );
    expect(patched).toMatchObject({ max_attempts: null, version: 1 });

    const run = await expectStatus(
      as('POST', '/api/v1/runs', {
        target: { agent_ids: [a.id] },
        job: { interpreter: 'sh', command: 'true', max_attempts: 2 },
      }),
      202,
    );
    const runJobs = await expectStatus(as('GET', `/api/v1/runs/${run.id}/jobs`), 200);
    expect(runJobs.items.map((job: { max_attempts: number }) => job.max_attempts)).toEqual([2]);

    const withScript = await expectStatus(
      as('POST', '/api/v1/scripts', { name: 'retried', language: 'sh', content: 'true', max_attempts: 5 }),
      201,
    );
    const profile = await expectStatus(
      as('POST', '/api/v1/profiles', {
        name: 'retries',
        tasks: [
          { name: 'first', action: 'command', interpreter: 'sh', content: 'true', max_attempts: 4 },
          { name: 'second', action: 'script', script_id: withScript.id },
        ],
      }),
      201,
    );
    expect(profile.tasks.map((task: { max_attempts: number | null }) => task.max_attempts)).toEqual([
      4,
      null,
    ]);
    const applied = await expectStatus(
      as('POST', `/api/v1/profiles/${profile.id}/apply`, { agent_ids: [a.id] }),
      202,
    );
    const tasksOf = async () =>
      (await expectStatus(as('GET', `/api/v1/runs/${applied.id}/jobs`), 200)).items as {
        id: string;
        task_index: number;
        max_attempts: number;
      }[];
    expect((await tasksOf()).map((job) => job.max_attempts)).toEqual([4]);
    // the script task's job, queued once the first task is done, has the script's
    const first = (await tasksOf())[0]!;
    const claimed = await a.heartbeat();
    const job = claimed.find((spec) => spec.job_id === first.id);
    expect(job).toBeDefined();
    await a.succeed(job!);
    expect((await tasksOf()).map((job) => [job.task_index, job.max_attempts]).sort()).toEqual([
      [0, 4],
      [1, 5],
    ]);

    await expectStatus(as('PUT', '/api/v1/settings/jobs', { max_attempts: 6 }), 200);
    expect((await submit(a.id)).max_attempts).toBe(6);
    await expectStatus(as('PUT', '/api/v1/settings/jobs', { max_attempts: 1 }), 200);
  });
});
