import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signup, type Session } from '../support/client.js';
import { dialects, HAND_DRIVEN, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import { api, Receiver } from './support.js';

/**
 * Two server nodes on one PostgreSQL database, both ticking the evaluator at once, again and
 * again: one holds the lease and evaluates, the rule's alert opens once and its channel is told
 * once. PostgreSQL only: several nodes need it (see test/schedules/nodes.test.ts for why SQLite
 * cannot host two nodes in one process).
 */
describe.each(dialects.filter((d) => d === 'postgres'))(
  'alerts: two server nodes on one %s database',
  (dialect) => {
    let first: TestServer;
    let second: TestServer;
    let owner: Session;
    const receiver = new Receiver();

    beforeAll(async () => {
      await receiver.start();
      const config = { ...HAND_DRIVEN, outboundAllow: ['loopback' as const] };
      first = await startTestServer(dialect, { clock: new TestClock(), config });
      second = await startTestServer(dialect, { clock: new TestClock(), config, shareDatabaseWith: first });
      owner = await signup(first, 'nodes');
    });
    afterAll(async () => {
      await second?.close();
      await first?.close();
      await receiver.close();
    });

    it('alerts: with two nodes ticking together, a rule is evaluated by one and its alert told once', async () => {
      const as = api(first, owner);
      const queue = await as('POST', '/api/v1/queues', { name: 'shared' }, 201);
      await as('POST', `/api/v1/queues/${queue.id}/items`, { content: {} }, 201);
      const channel = await as(
        'POST',
        '/api/v1/notification-channels',
        { name: 'hook', kind: 'webhook', config: { url: `${receiver.url}/nodes` } },
        201,
      );
      await as(
        'POST',
        '/api/v1/alert-rules',
        {
          name: 'backlog',
          kind: 'queue_backlog',
          params: { queue_id: queue.id, items: 0 },
          channel_ids: [channel.id],
        },
        201,
      );
      const evaluated: boolean[][] = [];
      for (let round = 0; round < 3; round += 1)
        evaluated.push(
          await Promise.all([first, second].map((node) => node.app.services.alerting.evaluator.tick())),
        );
      // The same node every round: the lease holder renews it, the other never takes it.
      const holder = evaluated[0]?.indexOf(true);
      expect(evaluated.map((round) => round.indexOf(true))).toEqual([holder, holder, holder]);
      expect(evaluated.flat().filter(Boolean)).toHaveLength(3);
      const alerts = await as('GET', '/api/v1/alerts', undefined, 200);
      expect(alerts.items).toHaveLength(1);
      expect(receiver.at('/nodes')).toHaveLength(1);
    });
  },
);
