import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetEvent } from '../../src/server/realtime/events.js';
import { eventually, IN_MEMORY } from '../support/eventually.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

const EVENTS = 3000;

const state = (i: number): FleetEvent => ({
  type: 'job.state',
  org_id: 'org-of-the-bus-test',
  job_id: `job-${i}`,
  agent_id: `agent-${i}`,
  run_id: null,
  status: 'queued',
  attempt: 0,
  exit_code: null,
});

/**
 * Events published together leave together (PostgreSQL: packed into a few NOTIFY payloads, one
 * statement), and every node hears each of them once, in the order published. On SQLite events
 * stay in the one node's process: it hears itself.
 */
describe.each(dialects)('events: the bus between the nodes of a %s deployment', (dialect) => {
  let first: TestServer;
  let second: TestServer | undefined;
  beforeAll(async () => {
    first = await startTestServer(dialect);
    if (dialect === 'postgres') second = await startTestServer(dialect, { shareDatabaseWith: first });
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  it('events: thousands published in one turn reach every node whole, once each and in order', async () => {
    const heard: FleetEvent[] = [];
    const unsubscribe = (second ?? first).app.services.bus.subscribe((event) => {
      if (event.org_id === 'org-of-the-bus-test') heard.push(event);
    });
    const bus = first.app.services.bus;
    for (let i = 0; i < EVENTS; i += 1) bus.publish(state(i));
    const data = 'x'.repeat(20_000);
    bus.publish({
      type: 'job.output',
      org_id: 'org-of-the-bus-test',
      job_id: 'job-0',
      attempt: 1,
      seq: 0,
      stream: 'stdout',
      data,
    });
    await bus.flush();
    await eventually(() => heard.length > EVENTS || undefined, { ...IN_MEMORY, what: 'every event' });
    unsubscribe();
    expect(heard.slice(0, EVENTS)).toEqual(Array.from({ length: EVENTS }, (_, i) => state(i)));
    const output = heard[EVENTS] as Extract<FleetEvent, { type: 'job.output' }>;
    // between nodes, live output too long for one payload is cut to fit (stored output is whole)
    if (second) expect(output.data).toMatch(/^x{1750}…\[cut for live view\]$/);
    else expect(output.data).toBe(data);
    expect(heard).toHaveLength(EVENTS + 1);
  });
});
