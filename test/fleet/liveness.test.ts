import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AgentMetrics } from '../../src/protocol/agent.js';
import { newId } from '../../src/server/lib/ids.js';
import { OutageHold } from '../../src/server/lib/sweep-timer.js';
import type { AgentsTable } from '../../src/server/db/schema.js';
import { Liveness } from '../../src/server/modules/agents/liveness.js';
import type { FleetEvent } from '../../src/server/realtime/events.js';
import { enroll, enrollmentToken } from '../support/agents.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, HAND_DRIVEN, startTestServer, TestClock, type TestServer } from '../support/harness.js';

function metrics(n: number): AgentMetrics {
  return { cpu_percent: n, memory_percent: n + 1, disk_percent: n + 2, uptime_seconds: 1000 + n };
}

const silentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe.each(dialects)('fleet: liveness on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  const clock = new TestClock();
  const events: FleetEvent[] = [];
  let unsubscribe: () => void;

  beforeAll(async () => {
    server = await startTestServer(dialect, { clock, config: HAND_DRIVEN });
    unsubscribe = server.app.services.bus.subscribe((event) => events.push(event));
    owner = await signup(server);
  });
  afterAll(async () => {
    unsubscribe();
    await server.close();
  });

  const liveness = () => server.app.services.liveness;
  const getAgent = async (id: string) =>
    expectStatus(call(server, 'GET', `/api/v1/agents/${id}`, { token: owner.token }), 200);
  const statusEvents = (agentId: string) =>
    events.filter((e) => e.type === 'agent.status' && e.agent_id === agentId);

  async function enrollThree(): Promise<string[]> {
    const { secret } = await enrollmentToken(server, owner);
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await enroll(server, owner, { secret })).agentId);
    return ids;
  }

  it('fleet: heartbeats are buffered, then written at the flush with their metrics', async () => {
    const ids = await enrollThree();
    const registeredAt = (await getAgent(ids[0]!)).last_seen_at;
    clock.advance(5_000);
    const heardAt = clock.now().toISOString();
    ids.forEach((id, i) => liveness().record(id, metrics(i)));
    // Nothing is written before the flush.
    expect((await getAgent(ids[0]!)).last_seen_at).toBe(registeredAt);
    await liveness().flush();
    for (const [i, id] of ids.entries()) {
      expect(await getAgent(id)).toMatchObject({
        status: 'online',
        last_seen_at: heardAt,
        metrics: metrics(i),
        updated_at: heardAt,
      });
    }
  });

  it('fleet: the latest heartbeat wins, and one without metrics keeps the last ones', async () => {
    const [id] = await enrollThree();
    liveness().record(id!, metrics(10));
    liveness().record(id!, metrics(20));
    await liveness().flush();
    expect((await getAgent(id!)).metrics).toEqual(metrics(20));
    clock.advance(1_000);
    liveness().record(id!, null);
    await liveness().flush();
    expect(await getAgent(id!)).toMatchObject({
      metrics: metrics(20),
      last_seen_at: clock.now().toISOString(),
    });
  });

  it('fleet: a silent agent goes offline at the sweep and agent.status is published', async () => {
    const ids = await enrollThree();
    const [alive, silent1, silent2] = ids as [string, string, string];
    clock.advance(HAND_DRIVEN.fleet.offlineAfterMs + 1_000);
    liveness().record(alive, metrics(1));
    const swept = await liveness().sweep();
    expect(swept.map((a) => a.id)).toEqual(expect.arrayContaining([silent1, silent2]));
    expect(swept.map((a) => a.id)).not.toContain(alive);
    expect(await getAgent(alive)).toMatchObject({ status: 'online' });
    for (const id of [silent1, silent2]) {
      expect(await getAgent(id)).toMatchObject({ status: 'offline', connected: false });
      await vi.waitFor(() =>
        expect(statusEvents(id)).toContainEqual({
          type: 'agent.status',
          org_id: owner.orgId,
          agent_id: id,
          status: 'offline',
          connected: false,
        }),
      );
    }
    // An agent goes offline once: the next sweep finds nothing new.
    expect((await liveness().sweep()).map((a) => a.id)).not.toContain(silent1);
  });

  it('fleet: a heartbeat brings an offline agent back online and publishes it', async () => {
    const [id] = (await enrollThree()) as [string];
    clock.advance(HAND_DRIVEN.fleet.offlineAfterMs + 1_000);
    await liveness().sweep();
    expect((await getAgent(id)).status).toBe('offline');
    await vi.waitFor(() => expect(statusEvents(id).at(-1)).toMatchObject({ status: 'offline' }));
    liveness().record(id, metrics(5));
    await liveness().flush();
    expect(await getAgent(id)).toMatchObject({ status: 'online', metrics: metrics(5) });
    await vi.waitFor(() =>
      expect(statusEvents(id).at(-1)).toEqual({
        type: 'agent.status',
        org_id: owner.orgId,
        agent_id: id,
        status: 'online',
        connected: false,
      }),
    );
    // A heartbeat from an agent that was online already publishes nothing more.
    const before = statusEvents(id).length;
    liveness().record(id, metrics(6));
    await liveness().flush();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(statusEvents(id)).toHaveLength(before);
  });

  it("fleet: a deleted agent's heartbeat does not bring it back", async () => {
    const [id] = (await enrollThree()) as [string];
    await expectStatus(call(server, 'DELETE', `/api/v1/agents/${id}`, { token: owner.token }), 204);
    clock.advance(1_000);
    liveness().record(id, metrics(1));
    await liveness().flush();
    const row = await server.database.db
      .selectFrom('agents')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(row.deleted_at).not.toBeNull();
    expect(row.metrics).toBeNull();
  });

  it('fleet: a flush writes 600 heartbeats in chunks of 500, reports them, and stop() flushes', async () => {
    const db = server.database.db;
    const now = clock.now().toISOString();
    const rows: AgentsTable[] = Array.from({ length: 600 }, (_, i) => ({
      id: newId(),
      org_id: owner.orgId,
      name: `bulk-${i}`,
      hostname: `bulk-${i}`,
      fingerprint: null,
      os_type: 'linux',
      os_version: '',
      arch: '',
      ip: null,
      agent_version: null,
      interpreters: '[]',
      tags: '[]',
      group_id: null,
      notes: '',
      status: 'pending',
      connected: 0,
      last_seen_at: null,
      metrics: null,
      system_info: null,
      token_hash: null,
      machine_key_hash: null,
      enrolled_via: null,
      created_at: now,
      updated_at: now,
      deleted_at: null,
      delete_reason: null,
      profile_id: null,
      facts_requested_at: null,
    }));
    for (let i = 0; i < rows.length; i += 200)
      await db
        .insertInto('agents')
        .values(rows.slice(i, i + 200))
        .execute();

    const seen: string[][] = [];
    const own = new Liveness({
      db,
      clock,
      bus: server.app.services.bus,
      fleet: HAND_DRIVEN.fleet,
      hold: new OutageHold({ graceMs: 0, probe: async () => true }),
      logger: silentLogger,
      onSeen: async (agentIds) => {
        seen.push(agentIds);
      },
    });
    clock.advance(1_000);
    const heardAt = clock.now().toISOString();
    rows.forEach((row, i) => own.record(row.id, metrics(i % 100)));
    own.record(newId(), metrics(1)); // an unknown agent is ignored
    await own.flush();
    expect(seen.map((batch) => batch.length)).toEqual([500, 100]);
    expect(new Set(seen.flat())).toEqual(new Set(rows.map((r) => r.id)));
    const written = await db
      .selectFrom('agents')
      .select(['id', 'status', 'last_seen_at', 'metrics'])
      .where('name', 'like', 'bulk-%')
      .where('org_id', '=', owner.orgId)
      .execute();
    expect(written).toHaveLength(600);
    for (const row of written) {
      expect(row).toMatchObject({ status: 'online', last_seen_at: heardAt });
      expect(JSON.parse(row.metrics!)).toHaveProperty('cpu_percent');
    }

    own.start();
    clock.advance(1_000);
    own.record(rows[0]!.id, metrics(99));
    await own.stop();
    const first = await db
      .selectFrom('agents')
      .select(['metrics', 'last_seen_at'])
      .where('id', '=', rows[0]!.id)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(first.metrics!)).toEqual(metrics(99));
    expect(first.last_seen_at).toBe(clock.now().toISOString());
  });
});
