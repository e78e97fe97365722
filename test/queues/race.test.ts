import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueueConsumer } from '../../src/server/modules/queues/consumers.service.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, HAND_DRIVEN, startTestServer, type TestServer } from '../support/harness.js';
import { claim, createQueue, itemAction, stats } from './support.js';

const ITEMS = 1000;
const SERVICE_CONSUMERS = 20;
const HTTP_CONSUMERS = 4;

function robotConsumer(orgId: string, n: number): QueueConsumer {
  const robotId = `0190a4e0-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
  return {
    scope: {
      orgId,
      actor: { type: 'agent', id: robotId, label: `robot ${n}` },
      meta: { ip: null, userAgent: null, requestId: null },
    },
    robotId,
  };
}

describe.each(dialects)('queues: racing consumers on %s', (dialect) => {
  let server: TestServer;
  /** On PostgreSQL, a second node of the same deployment: its consumers race the first's. */
  let second: TestServer | undefined;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect, { config: HAND_DRIVEN });
    if (dialect === 'postgres')
      second = await startTestServer(dialect, { config: HAND_DRIVEN, shareDatabaseWith: server });
    owner = await signup(server, 'racer');
  });
  afterAll(async () => {
    await second?.close();
    await server.close();
  });

  it(`queues: ${ITEMS} items, ${SERVICE_CONSUMERS} service consumers and ${HTTP_CONSUMERS} over HTTP: each item taken exactly once`, async () => {
    const queue = await createQueue(server, owner);
    const items = Array.from({ length: ITEMS }, (_, i) => ({
      content: { i },
      priority: (['high', 'normal', 'low'] as const)[i % 3],
    }));
    await expectStatus(
      call(server, 'POST', `/api/v1/queues/${queue.id}/items/bulk`, { token: owner.token, body: { items } }),
      201,
    );

    const taken: { by: string; id: string }[] = [];
    const nodes = second ? [server, second] : [server];
    const viaService = async (n: number) => {
      const node = nodes[n % nodes.length]!;
      const consumer = robotConsumer(owner.orgId, n);
      const consumers = node.app.services.queueConsumers;
      for (;;) {
        const item = await consumers.claimNext(consumer, queue.id);
        if (!item) return;
        expect(item.robot_id).toBe(consumer.robotId);
        taken.push({ by: consumer.robotId!, id: item.id });
        await consumers.complete(consumer, item.id, { by: n });
      }
    };
    const viaHttp = async (n: number) => {
      const node = nodes[n % nodes.length]!;
      for (;;) {
        const reply = await claim(node, owner, queue.id);
        if (reply.status === 204) return;
        expect(reply.status).toBe(200);
        taken.push({ by: `http-${n}`, id: reply.body.id });
        await expectStatus(
          itemAction(node, owner, reply.body.id, 'complete', { output: { by: `http-${n}` } }),
          200,
        );
      }
    };
    await Promise.all([
      ...Array.from({ length: SERVICE_CONSUMERS }, (_, n) => viaService(n)),
      ...Array.from({ length: HTTP_CONSUMERS }, (_, n) => viaHttp(n)),
    ]);

    expect(taken.length).toBe(ITEMS);
    expect(new Set(taken.map((t) => t.id)).size).toBe(ITEMS);
    const counts = (await stats(server, owner, queue.id)).counts;
    expect(counts).toMatchObject({ new: 0, in_progress: 0, successful: ITEMS });
    // Many consumers took part, on every node.
    expect(new Set(taken.map((t) => t.by)).size).toBeGreaterThan(SERVICE_CONSUMERS / 2);
    // Each item's output names the consumer that claimed it: no completion landed on another's item.
    const byId = new Map(taken.map((t) => [t.id, t.by]));
    let cursor: string | null = null;
    let checked = 0;
    do {
      const page: any = await expectStatus(
        call(
          server,
          'GET',
          `/api/v1/queues/${queue.id}/items?limit=200${cursor ? `&cursor=${cursor}` : ''}`,
          {
            token: owner.token,
          },
        ),
        200,
      );
      for (const item of page.items) {
        const by = byId.get(item.id);
        if (by?.startsWith('http-')) expect(item).toMatchObject({ robot_id: null, output: { by } });
        else expect(item.robot_id).toBe(by);
        checked += 1;
      }
      cursor = page.next_cursor;
    } while (cursor);
    expect(checked).toBe(ITEMS);
  });
});
