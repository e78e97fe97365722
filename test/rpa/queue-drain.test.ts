import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

const ITEMS = 200;
/** Items whose first attempt fails with an application error (retried), and those failing as business errors (never). */
const flaky = (n: number) => n % 7 === 0;
const refused = (n: number) => n % 11 === 0;

/**
 * Three runner robots drain a queue of 200 items over the runner API, each with its own token, in
 * parallel: every item is taken by exactly one robot; application errors are retried as new items
 * (up to the queue's max), business errors are not; the statistics add up; a robot of another
 * organisation cannot touch the queue.
 */
describe.each(dialects)('work queue drained by three runner robots on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let queue: any;
  const tokens: string[] = [];

  async function runnerToken(session: Session, name: string): Promise<string> {
    const created = await expectStatus(
      call(server, 'POST', '/api/v1/robots', {
        token: session.token,
        body: { name, kind: 'runner', pools: ['drain'] },
      }),
      201,
    );
    const registered = await expectStatus(
      call(server, 'POST', '/api/v1/runner/register', { body: { name, machine_key: created.machine_key } }),
      200,
    );
    return registered.robot_token as string;
  }

  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'drain');
    queue = await expectStatus(
      call(server, 'POST', '/api/v1/queues', {
        token: owner.token,
        body: { name: 'invoices', max_retries: 2 },
      }),
      201,
    );
    const items = Array.from({ length: ITEMS }, (_, n) => ({ content: { n }, reference: `invoice-${n}` }));
    await expectStatus(
      call(server, 'POST', `/api/v1/queues/${queue.id}/items/bulk`, { token: owner.token, body: { items } }),
      201,
    );
    for (const name of ['robot-a', 'robot-b', 'robot-c']) tokens.push(await runnerToken(owner, name));
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('each item is processed exactly once per attempt, retried as the queue says', async () => {
    const taken: { robot: number; id: string; n: number; retry: number }[] = [];
    const drain = async (robot: number) => {
      const as = { headers: { 'x-robot-token': tokens[robot]! } };
      for (;;) {
        const claim = await call(server, 'POST', `/api/v1/runner/queues/${queue.id}/items/claim`, as);
        if (claim.status === 204) return;
        expect(claim.status).toBe(200);
        const item = claim.body;
        const n = item.content.n as number;
        taken.push({ robot, id: item.id, n, retry: item.retry_number });
        const route = `/api/v1/runner/queue-items/${item.id}`;
        if (refused(n))
          await expectStatus(
            call(server, 'POST', `${route}/fail`, {
              ...as,
              body: { error: { type: 'business', reason: 'no PO' } },
            }),
            200,
          );
        else if (flaky(n) && item.retry_number === 0)
          await expectStatus(
            call(server, 'POST', `${route}/fail`, {
              ...as,
              body: { error: { type: 'application', reason: 'timeout' } },
            }),
            200,
          );
        else
          await expectStatus(
            call(server, 'POST', `${route}/complete`, { ...as, body: { output: { n } } }),
            200,
          );
      }
    };
    await Promise.all([0, 1, 2].map(drain));

    const ids = taken.map((t) => t.id);
    expect(new Set(ids).size).toBe(ids.length);
    const retried = [...Array(ITEMS).keys()].filter((n) => flaky(n) && !refused(n));
    expect(taken.length).toBe(ITEMS + retried.length);
    // every original item once, every retried one once more, as retry 1
    for (let n = 0; n < ITEMS; n += 1) {
      const attempts = taken
        .filter((t) => t.n === n)
        .map((t) => t.retry)
        .sort();
      expect(attempts).toEqual(flaky(n) && !refused(n) ? [0, 1] : [0]);
    }
    // all three robots took part
    expect(new Set(taken.map((t) => t.robot)).size).toBe(3);

    const stats = await expectStatus(
      call(server, 'GET', `/api/v1/queues/${queue.id}/stats`, { token: owner.token }),
      200,
    );
    const businessFailures = [...Array(ITEMS).keys()].filter(refused).length;
    expect(stats.counts).toMatchObject({
      new: 0,
      in_progress: 0,
      successful: ITEMS - businessFailures,
      failed: businessFailures,
      retried: retried.length,
    });
    const items = await expectStatus(
      call(server, 'GET', `/api/v1/queues/${queue.id}/items?status=successful&limit=1`, {
        token: owner.token,
      }),
      200,
    );
    expect(items.items[0].robot_id).toEqual(expect.any(String));
  });

  it('a robot cannot complete, fail or report on an item another robot took', async () => {
    await expectStatus(
      call(server, 'POST', `/api/v1/queues/${queue.id}/items`, {
        token: owner.token,
        body: { content: { n: -2 } },
      }),
      201,
    );
    const item = await expectStatus(
      call(server, 'POST', `/api/v1/runner/queues/${queue.id}/items/claim`, {
        headers: { 'x-robot-token': tokens[0]! },
      }),
      200,
    );
    const other = { headers: { 'x-robot-token': tokens[1]! } };
    const route = `/api/v1/runner/queue-items/${item.id}`;
    expectError(
      await call(server, 'POST', `${route}/complete`, { ...other, body: { output: {} } }),
      403,
      'forbidden',
    );
    expectError(
      await call(server, 'POST', `${route}/fail`, {
        ...other,
        body: { error: { type: 'business', reason: 'x' } },
      }),
      403,
      'forbidden',
    );
    expectError(
      await call(server, 'POST', `${route}/progress`, { ...other, body: { progress: 'x' } }),
      403,
      'forbidden',
    );
    await expectStatus(
      call(server, 'POST', `${route}/complete`, {
        headers: { 'x-robot-token': tokens[0]! },
        body: { output: {} },
      }),
      200,
    );
  });

  it("a robot of another organisation cannot claim from this organisation's queue", async () => {
    await expectStatus(
      call(server, 'POST', `/api/v1/queues/${queue.id}/items`, {
        token: owner.token,
        body: { content: { n: -1 } },
      }),
      201,
    );
    const other = await signup(server, 'drain-other');
    const foreign = await runnerToken(other, 'foreign');
    const claim = await call(server, 'POST', `/api/v1/runner/queues/${queue.id}/items/claim`, {
      headers: { 'x-robot-token': foreign },
    });
    expectError(claim, 404, 'not_found');
    const waiting = await expectStatus(
      call(server, 'GET', `/api/v1/queues/${queue.id}/stats`, { token: owner.token }),
      200,
    );
    expect(waiting.counts.new).toBe(1);
  });
});
