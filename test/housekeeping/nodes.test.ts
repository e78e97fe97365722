import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import { at, DAY, rows, SECOND } from './support.js';

const START = new Date('2026-03-01T12:00:00.000Z');
const HOUR = 3600 * SECOND;
const ROUNDS = 4;
const QUICK = { intervalMs: 20, timeoutMs: 5000 };

/**
 * Two server nodes on one PostgreSQL database, as behind a load balancer (several nodes need
 * PostgreSQL; see test/schedules/nodes.test.ts for why two SQLite connections in one process
 * cannot stand in).
 */
describe.each(dialects.filter((d) => d === 'postgres'))(
  'housekeeping: two server nodes on one %s database',
  (dialect) => {
    let first: TestServer;
    let second: TestServer;
    const clocks = [new TestClock(new Date(START)), new TestClock(new Date(START))];
    let owner: Session;
    const config = { accessTokenTtlMs: 30 * DAY, refreshTokenTtlMs: 60 * DAY };

    beforeAll(async () => {
      first = await startTestServer(dialect, { clock: clocks[0], config });
      second = await startTestServer(dialect, { clock: clocks[1], config, shareDatabaseWith: first });
      owner = await signup(first, 'fleet');
    });
    afterAll(async () => {
      await second?.close();
      await first?.close();
    });

    it('housekeeping: with two nodes checking together, each due turn runs once, on one node', async () => {
      for (let round = 1; round <= ROUNDS; round += 1) {
        for (const clock of clocks) clock.advance(HOUR);
        // expired by this round's time: one of them deletes it, the other finds nothing to do
        await rows(first).passwordReset(owner, at(clocks[0]!.now(), -SECOND));
        const results = await Promise.all(
          [first, second, first, second].map((node) => node.app.services.housekeeper.tick()),
        );
        const ran = results.filter((run) => run !== null);
        expect(ran, `round ${round}`).toHaveLength(1);
        expect(ran[0]!.counts.password_resets).toBe(1);
      }
      const runs = await expectStatus(
        call(second, 'GET', '/api/v1/system/housekeeping?limit=50', { token: owner.token }),
        200,
      );
      expect(runs.items).toHaveLength(ROUNDS);
      expect(runs.items.every((run: { status: string }) => run.status === 'succeeded')).toBe(true);
      // the lease is given back after each run
      expect(
        await first.database.db
          .selectFrom('node_leases')
          .selectAll()
          .where('name', '=', 'housekeeping')
          .execute(),
      ).toEqual([]);
    });

    it('housekeeping: logging.level saved on one node applies on the other, and on a node started later', async () => {
      const logsRequests = async (node: TestServer) => {
        const from = node.logs.length;
        await expectStatus(call(node, 'GET', '/api/v1/auth/me', { token: owner.token }), 200);
        return node.logs.slice(from).some((line) => line.msg === 'request completed' && line.level === 30);
      };
      expect(await logsRequests(second)).toBe(true);
      await expectStatus(
        call(first, 'PUT', '/api/v1/settings/logging', { token: owner.token, body: { level: 'error' } }),
        200,
      );
      await eventually(async () => !(await logsRequests(second)), {
        ...QUICK,
        what: 'the second node to go quiet',
      });
      // LOG_LEVEL says info; the saved setting wins when a node starts
      const third = await startTestServer(dialect, { clock: clocks[1], config, shareDatabaseWith: first });
      try {
        await eventually(async () => !(await logsRequests(third)), {
          ...QUICK,
          what: 'the new node to start quiet',
        });
      } finally {
        await third.close();
      }
      await expectStatus(
        call(second, 'PUT', '/api/v1/settings/logging', { token: owner.token, body: { level: 'info' } }),
        200,
      );
      await eventually(() => logsRequests(first), { ...QUICK, what: 'the first node to log again' });
    });
  },
);
