import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditOf, call, expectStatus, signup, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import type { JobStatus } from '../../src/protocol/jobs.js';
import type { FleetEvent } from '../../src/server/realtime/events.js';
import { WebhookReceiver } from './receiver.js';

const FAST = { intervalMs: 20, timeoutMs: 5000 } as const;

/** A job's state as the execution engine publishes it; final by default. */
function finishedJob(orgId: string, jobId: string, status: JobStatus = 'succeeded'): FleetEvent {
  return {
    type: 'job.state',
    org_id: orgId,
    job_id: jobId,
    agent_id: null,
    run_id: null,
    status,
    attempt: 1,
    exit_code: 0,
  };
}

describe.each(dialects)('webhooks: deliveries on %s', (dialect) => {
  const clock = new TestClock();
  let server: TestServer;
  /** The server started again on the same database, by the last test. */
  let restarted: TestServer | undefined;
  /** Another node on the same database, beside the restarted one. */
  let other: TestServer | undefined;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    receiver = await new WebhookReceiver(clock).start();
    server = await startTestServer(dialect, { clock, config: { outboundAllow: ['loopback'] } });
  });
  afterAll(async () => {
    await other?.close();
    await restarted?.close();
    await server?.close();
    await receiver.close();
  });

  const as = (session: Session, method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: session.token, ...(body === undefined ? {} : { body }) });
  const publish = (...events: FleetEvent[]) => {
    for (const event of events) server.app.services.bus.publish(event);
  };
  /** Enqueues what was published, then sends what is due by the test clock. */
  const deliverDue = async () => {
    await server.app.services.webhookEnqueuer.flush();
    return server.app.services.webhookSender.sendDue();
  };
  /** A subscription of a new organisation to a receiver path that fails `failures` times first. */
  const subscribe = async (path: string, events: string[], failures = 0) => {
    const owner = await signup(server, path.slice(1));
    const created = await expectStatus(
      as(owner, 'POST', '/api/v1/webhooks', { url: `${receiver.url}${path}`, events }),
      201,
    );
    receiver.endpoint(path, created.secret, failures);
    return { owner, id: created.webhook.id as string, secret: created.secret as string };
  };
  const deliveries = async (owner: Session, id: string, query = '') =>
    (await expectStatus(as(owner, 'GET', `/api/v1/webhooks/${id}/deliveries?limit=200${query}`), 200)).items;
  /**
   * The deliveries once the newest has been tried `attempts` times and that try is settled and
   * logged (by this test's call or by the sender's own poll): a try under way is not yet.
   */
  const attemptsReach = (hook: { owner: Session; id: string }, attempts: number) =>
    eventually(async () => {
      const items = await deliveries(hook.owner, hook.id);
      const newest = items[0];
      if (!newest || newest.attempts !== attempts) return undefined;
      const detail = await expectStatus(
        as(hook.owner, 'GET', `/api/v1/webhooks/${hook.id}/deliveries/${newest.id}`),
        200,
      );
      return detail.attempts_log.length === attempts ? items : undefined;
    }, FAST);

  it('webhooks: each event is delivered once, signed, to the subscriptions whose filter takes it; bursts are batched', async () => {
    const jobs = await subscribe('/jobs', ['job.*']);
    const all = await subscribe('/all', ['*']);
    // an organisation's events never reach another's subscriptions
    publish(finishedJob(all.owner.orgId, 'a0000000-0000-7000-8000-000000000000'));
    const runId = '0190a000-0000-7000-8000-000000000001';
    const burst: FleetEvent[] = Array.from({ length: 40 }, (_, i) =>
      finishedJob(jobs.owner.orgId, `0190a000-0000-7000-8000-${String(i).padStart(12, '0')}`),
    );
    publish(
      ...burst,
      finishedJob(jobs.owner.orgId, '0190a000-0000-7000-8000-999999999999', 'running'),
      // a run settled twice is one run.finished; the `jobs` filter does not take it
      {
        type: 'run.progress',
        org_id: jobs.owner.orgId,
        run_id: runId,
        status: 'succeeded',
        counts: { succeeded: 1 },
      },
      {
        type: 'run.progress',
        org_id: jobs.owner.orgId,
        run_id: runId,
        status: 'succeeded',
        counts: { succeeded: 1 },
      },
    );
    const inserts = server.app.services.webhookEnqueuer;
    await inserts.flush();
    await eventually(
      async () => (await deliveries(jobs.owner, jobs.id, '&status=delivered')).length === 40 || undefined,
      {
        ...FAST,
        what: '40 job deliveries',
      },
    );
    const received = receiver.requests.filter((r) => r.path === '/jobs');
    expect(received).toHaveLength(40);
    expect(received.every((r) => r.status === 200 && r.headers['fleetplane-event'] === 'job.finished')).toBe(
      true,
    );
    const listed = await deliveries(jobs.owner, jobs.id);
    expect(new Set(received.map((r) => r.headers['fleetplane-delivery']))).toEqual(
      new Set(listed.map((d: any) => d.id)),
    );
    const body = JSON.parse(received[0]!.body);
    expect(body).toEqual({
      id: expect.any(String),
      type: 'job.finished',
      created_at: expect.any(String),
      data: expect.objectContaining({ job_id: expect.any(String), status: 'succeeded', exit_code: 0 }),
    });

    // the /all organisation: its one job, nothing of the other organisation's
    await eventually(() => receiver.requests.some((r) => r.path === '/all') || undefined, FAST);

    // nothing is sent twice, however often the sender looks and however late it is
    clock.advance(10 * 60_000);
    expect(await deliverDue()).toBe(0);
    expect(receiver.requests.filter((r) => r.path === '/jobs')).toHaveLength(40);
    expect(receiver.requests.filter((r) => r.path === '/all')).toHaveLength(1);
    const detail = await expectStatus(
      as(jobs.owner, 'GET', `/api/v1/webhooks/${jobs.id}/deliveries/${listed[0].id}`),
      200,
    );
    expect(detail).toMatchObject({ status: 'delivered', attempts: 1, next_attempt_at: null });
    expect(detail.attempts_log).toEqual([
      {
        attempt: 1,
        status_code: 200,
        response_excerpt: 'ok',
        duration_ms: expect.any(Number),
        error: null,
        created_at: expect.any(String),
      },
    ]);
  });

  it('webhooks: agent status changes, not repeats, become agent.online and agent.offline', async () => {
    const hook = await subscribe('/agents', ['agent.*']);
    const agent = { org_id: hook.owner.orgId, agent_id: '0190b000-0000-7000-8000-000000000001' };
    publish(
      { type: 'agent.status', ...agent, status: 'online', connected: false },
      { type: 'agent.status', ...agent, status: 'online', connected: true },
      { type: 'agent.status', ...agent, status: 'offline', connected: false },
      { type: 'agent.status', ...agent, status: 'online', connected: true },
    );
    await deliverDue();
    await eventually(
      () => receiver.requests.filter((r) => r.path === '/agents').length === 3 || undefined,
      FAST,
    );
    // enqueued in the order of the changes (deliveries are sent concurrently: receivers order by body)
    const listed = await deliveries(hook.owner, hook.id);
    expect(listed.map((d: any) => d.event).reverse()).toEqual([
      'agent.online',
      'agent.offline',
      'agent.online',
    ]);
    expect(
      new Set(
        receiver.requests.filter((r) => r.path === '/agents').map((r) => r.headers['fleetplane-delivery']),
      ),
    ).toEqual(new Set(listed.map((d: any) => d.id)));
  });

  it('webhooks: a failed delivery is retried with backoff under the same delivery id; the receiver refuses replays', async () => {
    const hook = await subscribe('/flaky', ['job.finished'], 2);
    publish(finishedJob(hook.owner.orgId, '0190c000-0000-7000-8000-000000000001'));
    await deliverDue();
    const [first] = await eventually(async () => {
      const items = await deliveries(hook.owner, hook.id);
      return items[0]?.attempts === 1 && items[0]?.last_status_code === 500 ? items : undefined;
    }, FAST);
    expect(first).toMatchObject({ status: 'pending', last_error: 'the receiver answered 500' });
    // not due yet: nothing is sent
    expect(await deliverDue()).toBe(0);
    const waitMs = Date.parse(first.next_attempt_at) - clock.now().getTime();
    expect(waitMs).toBeGreaterThanOrEqual(5_000);
    expect(waitMs).toBeLessThanOrEqual(10_000);
    clock.advance(waitMs);
    await deliverDue();
    const [second] = await attemptsReach(hook, 2);
    // the wait doubles (with jitter)
    const secondWait = Date.parse(second.next_attempt_at) - clock.now().getTime();
    expect(secondWait).toBeGreaterThanOrEqual(10_000);
    expect(secondWait).toBeLessThanOrEqual(20_000);
    clock.advance(secondWait);
    await deliverDue();
    await attemptsReach(hook, 3);
    const detail = await expectStatus(
      as(hook.owner, 'GET', `/api/v1/webhooks/${hook.id}/deliveries/${first.id}`),
      200,
    );
    expect(detail).toMatchObject({
      status: 'delivered',
      attempts: 3,
      last_status_code: 200,
      last_error: null,
    });
    expect(detail.attempts_log.map((a: any) => [a.attempt, a.status_code])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    const tries = receiver.requests.filter((r) => r.path === '/flaky');
    expect(new Set(tries.map((r) => r.headers['fleetplane-delivery']))).toEqual(new Set([first.id]));
    expect(new Set(tries.map((r) => r.headers['fleetplane-signature'])).size).toBe(3);

    // replays of the accepted request: as captured, with the timestamp moved, or too late
    const accepted = tries.at(-1)!;
    expect(await receiver.replay(accepted)).toBe(409);
    const [, mac] = String(accepted.headers['fleetplane-signature']).split(',v1=');
    const now = Math.floor(clock.now().getTime() / 1000);
    expect(await receiver.replay(accepted, { 'fleetplane-signature': `t=${now + 1},v1=${mac}` })).toBe(401);
    clock.advance(6 * 60_000);
    const refusedLate = receiver.requests.length;
    expect(await receiver.replay(tries[0]!)).toBe(401);
    expect(receiver.requests[refusedLate]?.refused).toBe('stale timestamp');

    // a redelivery is a new delivery of the same body
    const again = await expectStatus(
      as(hook.owner, 'POST', `/api/v1/webhooks/${hook.id}/deliveries/${first.id}/redeliver`),
      202,
    );
    expect(again).toMatchObject({ event: 'job.finished', status: 'pending', redelivery_of: first.id });
    await eventually(async () => {
      const d = await expectStatus(
        as(hook.owner, 'GET', `/api/v1/webhooks/${hook.id}/deliveries/${again.id}`),
        200,
      );
      return d.status === 'delivered' || undefined;
    }, FAST);
    expect(receiver.requests.filter((r) => r.path === '/flaky').at(-1)?.body).toBe(accepted.body);
  });

  it('webhooks: a subscription is paused after repeated failures, gets nothing meanwhile, and catches up once resumed', async () => {
    const hook = await subscribe('/down', ['job.finished'], Infinity);
    await expectStatus(
      as(hook.owner, 'PUT', '/api/v1/settings/webhooks', { pause_after_failures: 3, max_attempts: 5 }),
      200,
    );
    publish(
      finishedJob(hook.owner.orgId, '0190d000-0000-7000-8000-000000000001'),
      finishedJob(hook.owner.orgId, '0190d000-0000-7000-8000-000000000002'),
      finishedJob(hook.owner.orgId, '0190d000-0000-7000-8000-000000000003'),
    );
    await deliverDue();
    const paused = await eventually(async () => {
      const w = await expectStatus(as(hook.owner, 'GET', `/api/v1/webhooks/${hook.id}`), 200);
      return w.status === 'paused' ? w : undefined;
    }, FAST);
    expect(paused).toMatchObject({
      consecutive_failures: 3,
      paused_reason: 'paused after 3 failed attempts in a row',
    });
    const audit = await auditOf(server, hook.owner, 'webhook', hook.id);
    expect(audit.at(-1)).toMatchObject({ action: 'status_changed', actor_type: 'system' });

    // paused: no new deliveries, and the waiting ones are not sent even when due
    publish(finishedJob(hook.owner.orgId, '0190d000-0000-7000-8000-000000000004'));
    clock.advance(10 * 60_000);
    expect(await deliverDue()).toBe(0);
    expect(await deliveries(hook.owner, hook.id)).toHaveLength(3);

    receiver.setFailures('/down', 0);
    await expectStatus(as(hook.owner, 'POST', `/api/v1/webhooks/${hook.id}/resume`), 200);
    await eventually(
      async () => (await deliveries(hook.owner, hook.id, '&status=delivered')).length === 3 || undefined,
      FAST,
    );
    expect(await expectStatus(as(hook.owner, 'GET', `/api/v1/webhooks/${hook.id}`), 200)).toMatchObject({
      status: 'active',
      consecutive_failures: 0,
    });
  });

  it('webhooks: a delivery fails for good after max_attempts; the test action pings whatever the filter', async () => {
    const hook = await subscribe('/gone', ['deployment.finished'], Infinity);
    await expectStatus(as(hook.owner, 'PUT', '/api/v1/settings/webhooks', { max_attempts: 2 }), 200);
    const ping = await expectStatus(as(hook.owner, 'POST', `/api/v1/webhooks/${hook.id}/test`), 202);
    await attemptsReach(hook, 1);
    clock.advance(60_000);
    await deliverDue();
    await attemptsReach(hook, 2);
    const detail = await expectStatus(
      as(hook.owner, 'GET', `/api/v1/webhooks/${hook.id}/deliveries/${ping.id}`),
      200,
    );
    expect(detail).toMatchObject({
      event: 'webhook.ping',
      status: 'failed',
      attempts: 2,
      next_attempt_at: null,
    });
    expect(JSON.parse(detail.body)).toMatchObject({ type: 'webhook.ping', data: { webhook_id: hook.id } });
    expect((await deliveries(hook.owner, hook.id, '&status=failed')).map((d: any) => d.id)).toEqual([
      ping.id,
    ]);
    clock.advance(24 * 3_600_000);
    expect(await deliverDue()).toBe(0);
  });

  // Last two: the first stops this file's server, the second runs on the one started again.
  it('webhooks: a delivery waiting for its retry survives a server restart and arrives from the new server', async () => {
    const hook = await subscribe('/restart', ['run.finished'], 1);
    publish({
      type: 'run.progress',
      org_id: hook.owner.orgId,
      run_id: '0190e000-0000-7000-8000-000000000001',
      status: 'failed',
      counts: { failed: 1 },
    });
    await deliverDue();
    await attemptsReach(hook, 1);
    // stopped while the delivery waits for its second try: only the database knows of it
    await server.app.close();
    clock.advance(60_000);
    restarted = await startTestServer(dialect, {
      clock,
      config: { outboundAllow: ['loopback'] },
      shareDatabaseWith: server,
    });
    await eventually(
      () => receiver.requests.filter((r) => r.path === '/restart').length === 2 || undefined,
      FAST,
    );
    const [failed, delivered] = receiver.requests.filter((r) => r.path === '/restart');
    expect([failed!.status, delivered!.status]).toEqual([500, 200]);
    const deliveryId = String(delivered!.headers['fleetplane-delivery']);
    expect(failed!.headers['fleetplane-delivery']).toBe(deliveryId);
    const detail = await expectStatus(
      call(restarted, 'GET', `/api/v1/webhooks/${hook.id}/deliveries/${deliveryId}`, {
        token: hook.owner.token,
      }),
      200,
    );
    expect(detail).toMatchObject({ event: 'run.finished', status: 'delivered', attempts: 2 });
  });

  it('webhooks: two nodes sending at once send each delivery once; each event is enqueued by the node that published it', async () => {
    const node = restarted!;
    other = await startTestServer(dialect, {
      clock,
      config: { outboundAllow: ['loopback'] },
      shareDatabaseWith: server,
    });
    const owner = await signup(node, 'nodes');
    const created = await expectStatus(
      call(node, 'POST', '/api/v1/webhooks', {
        token: owner.token,
        body: { url: `${receiver.url}/nodes`, events: ['job.finished'] },
      }),
      201,
    );
    receiver.endpoint('/nodes', created.secret);
    for (let i = 0; i < 30; i += 1)
      node.app.services.bus.publish(
        finishedJob(owner.orgId, `0190f000-0000-7000-8000-${String(i).padStart(12, '0')}`),
      );
    // on PostgreSQL the other node hears these events too (LISTEN), and must not enqueue them again
    await Promise.all([node.app.services.bus.flush(), node.app.services.webhookEnqueuer.flush()]);
    await Promise.all([
      node.app.services.webhookSender.sendDue(),
      other.app.services.webhookSender.sendDue(),
      other.app.services.webhookSender.sendDue(),
    ]);
    await eventually(
      () => receiver.requests.filter((r) => r.path === '/nodes').length >= 30 || undefined,
      FAST,
    );
    await other.app.services.webhookEnqueuer.flush();
    clock.advance(10 * 60_000);
    await Promise.all([
      node.app.services.webhookSender.sendDue(),
      other.app.services.webhookSender.sendDue(),
    ]);
    const ids = receiver.requests
      .filter((r) => r.path === '/nodes')
      .map((r) => r.headers['fleetplane-delivery']);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
  });
});
