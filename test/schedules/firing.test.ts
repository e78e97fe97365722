import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAgent, ScriptedAgent } from '../support/agents.js';
import { addMember, call, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import {
  createSchedule,
  createScript,
  getSchedule,
  MINUTE,
  movedClockConfig,
  runsOf,
  scheduleBody,
} from './support.js';

/** A winter morning: Paris is UTC+1. */
const START = new Date('2025-01-15T10:00:00.000Z');

describe.each(dialects)('schedules: firing on %s', (dialect) => {
  let server: TestServer;
  let clock: TestClock;
  /** Each test works in an organisation of its own, so the runs it counts are its own. */
  let owner: Session;
  let script: any;
  let agentId: string;
  beforeAll(async () => {
    clock = new TestClock(new Date(START));
    server = await startTestServer(dialect, { clock, config: movedClockConfig });
  });
  beforeEach(async () => {
    owner = await signup(server, 'ops');
    script = await createScript(server, owner);
    agentId = await createAgent(server, owner);
  });
  afterAll(async () => {
    await server.close();
  });

  const tick = () => server.app.services.scheduler.tick();
  const at = (ms: number) => new Date(ms).toISOString();
  const moveTo = (iso: string) => clock.advance(Date.parse(iso) - clock.now().getTime());
  /** A cron schedule of the script on the agent, read in `timezone`. */
  const cronSchedule = (cron: string, timezone: string) =>
    createSchedule(
      server,
      owner,
      scheduleBody(script.id, [agentId], { interval_seconds: undefined, cron, timezone }),
    );

  it('schedules: an interval schedule fires once its time has come, and once only', async () => {
    const schedule = await createSchedule(
      server,
      owner,
      scheduleBody(script.id, [agentId], { interval_seconds: 300 }),
    );
    const due = Date.parse(schedule.next_fire_at);
    await tick();
    expect(await runsOf(server, owner)).toEqual([]);

    clock.advance(due - clock.now().getTime() + 1000);
    await tick();
    const runs = await runsOf(server, owner);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      name: schedule.name,
      source: 'script',
      created_by: owner.userId,
      target: { agent_ids: [agentId] },
      spec: { script_id: script.id, env: { FP_PARAM_PATH: '/var' } },
    });
    const fired = await getSchedule(server, owner, schedule.id);
    expect(fired).toMatchObject({
      last_fired_at: clock.now().toISOString(),
      last_run_id: runs[0].id,
      last_error: null,
      next_fire_at: at(due + 300_000),
      enabled: true,
    });

    await tick();
    await tick();
    expect(await runsOf(server, owner)).toHaveLength(1);

    // The run is audited as created by the schedule, acting for its creator.
    const audit = await expectStatus(
      call(server, 'GET', `/api/v1/audit?entity_type=run&entity_id=${runs[0].id}`, { token: owner.token }),
      200,
    );
    expect(audit.items).toMatchObject([
      {
        action: 'created',
        actor_type: 'system',
        actor_id: schedule.id,
        actor_label: `schedule:${schedule.name}`,
      },
    ]);
  });

  it('schedules: a fired secret parameter stays sealed in the run and its job, and opens for the agent', async () => {
    const agent = await ScriptedAgent.enroll(server, owner);
    const schedule = await createSchedule(
      server,
      owner,
      scheduleBody(script.id, [agent.id], {
        action: { kind: 'script', script_id: script.id, parameters: { path: '/var', api_key: 'K3Y-fired' } },
      }),
    );
    clock.advance(Date.parse(schedule.next_fire_at) - clock.now().getTime() + 1000);
    await tick();
    const [run] = await runsOf(server, owner);
    expect(run).toMatchObject({ spec: { env: { FP_PARAM_PATH: '/var', FP_SECRET_API_KEY: '********' } } });
    const db = server.database.db;
    const stored = [
      await db.selectFrom('runs').select('spec').where('id', '=', run.id).executeTakeFirstOrThrow(),
      await db.selectFrom('jobs').select('env').where('run_id', '=', run.id).executeTakeFirstOrThrow(),
    ];
    expect(JSON.stringify(stored)).not.toContain('K3Y-fired');
    const spec = await agent.next();
    expect(spec.env).toEqual({ FP_PARAM_PATH: '/var', FP_SECRET_API_KEY: 'K3Y-fired' });
  });

  it('schedules: a saved command fires as a run whose source is command', async () => {
    const command = await createScript(server, owner, { kind: 'command', content: 'uptime', parameters: [] });
    const schedule = await createSchedule(
      server,
      owner,
      scheduleBody(command.id, [agentId], {
        action: { kind: 'command', script_id: command.id },
        interval_seconds: 60,
      }),
    );
    clock.advance(61_000);
    await tick();
    const runs = await runsOf(server, owner);
    expect(runs.map((r) => [r.name, r.source, r.spec.command])).toEqual([
      [schedule.name, 'command', 'uptime'],
    ]);
  });

  it('schedules: missed fires run once, not once per missed time, and the next fire is after now', async () => {
    const schedule = await createSchedule(
      server,
      owner,
      scheduleBody(script.id, [agentId], { interval_seconds: 60 }),
    );
    const due = Date.parse(schedule.next_fire_at);
    // The server was "down" for ten intervals and a half.
    clock.advance(10 * MINUTE + 30_000);
    await tick();
    expect(await runsOf(server, owner)).toHaveLength(1);
    const after = await getSchedule(server, owner, schedule.id);
    // Still on the original cadence: the first due time plus whole intervals, after now.
    expect(after.next_fire_at).toBe(at(due + 10 * MINUTE));
    expect(Date.parse(after.next_fire_at)).toBeGreaterThan(clock.now().getTime());
    await tick();
    expect(await runsOf(server, owner)).toHaveLength(1);
  });

  it('schedules: a cron expression is read in its time zone (09:00 in Paris is 08:00Z in winter)', async () => {
    moveTo('2025-02-03T12:00:00.000Z');
    const paris = await cronSchedule('0 9 * * *', 'Europe/Paris');
    expect(paris.next_fire_at).toBe('2025-02-04T08:00:00.000Z');
    const kolkata = await cronSchedule('30 2 * * 1', 'Asia/Kolkata');
    // Monday 02:30 in India (UTC+05:30) is Sunday 21:00Z.
    expect(kolkata.next_fire_at).toBe('2025-02-09T21:00:00.000Z');

    moveTo('2025-02-04T08:00:00.000Z');
    await tick();
    expect((await runsOf(server, owner)).map((r) => r.name)).toEqual([paris.name]);
    expect((await getSchedule(server, owner, paris.id)).next_fire_at).toBe('2025-02-05T08:00:00.000Z');
  });

  it('schedules: a cron schedule missed for days fires once, and its next fire is the first time after now', async () => {
    moveTo('2025-03-27T12:00:00.000Z');
    // Weeks later than the sign-up of beforeEach: a session of today.
    owner = await signup(server, 'ops');
    script = await createScript(server, owner);
    agentId = await createAgent(server, owner);
    const schedule = await cronSchedule('0 9 * * *', 'Europe/Paris');
    expect(schedule.next_fire_at).toBe('2025-03-28T08:00:00.000Z');
    // No node ran from before the first fire until five mornings later, across the change to
    // summer time (30 March): 09:00 in Paris was 08:00Z, then 07:00Z.
    moveTo('2025-04-01T12:00:00.000Z');
    await tick();
    const runs = await runsOf(server, owner);
    expect(runs.map((r) => r.name)).toEqual([schedule.name]);
    expect(await getSchedule(server, owner, schedule.id)).toMatchObject({
      last_fired_at: '2025-04-01T12:00:00.000Z',
      last_run_id: runs[0].id,
      next_fire_at: '2025-04-02T07:00:00.000Z',
    });
    // Caught up one fire at a time, each tick would start the next missed morning.
    await tick();
    await tick();
    expect(await runsOf(server, owner)).toHaveLength(1);
  });

  it('schedules: a failed launch is recorded in last_error and the schedule keeps firing', async () => {
    const schedule = await createSchedule(
      server,
      owner,
      scheduleBody(script.id, [], { target: { tags: ['nobody'] }, interval_seconds: 60 }),
    );
    clock.advance(61_000);
    await tick();
    const failed = await getSchedule(server, owner, schedule.id);
    expect(failed).toMatchObject({
      enabled: true,
      last_run_id: null,
      last_fired_at: clock.now().toISOString(),
    });
    expect(failed.last_error).toContain('the target selects no agents');
    expect(Date.parse(failed.next_fire_at)).toBeGreaterThan(clock.now().getTime());

    await expectStatus(
      call(server, 'PATCH', `/api/v1/schedules/${schedule.id}`, {
        token: owner.token,
        body: { target: { agent_ids: [agentId] } },
      }),
      200,
    );
    clock.advance(61_000);
    await tick();
    const recovered = await getSchedule(server, owner, schedule.id);
    expect(recovered.last_error).toBeNull();
    expect((await runsOf(server, owner)).map((r) => r.id)).toEqual([recovered.last_run_id]);
  });

  it('schedules: a schedule whose creator left the organisation starts nothing and says so', async () => {
    const admin = await addMember(server, owner, 'admin');
    const schedule = await createSchedule(
      server,
      admin,
      scheduleBody(script.id, [agentId], { interval_seconds: 60 }),
    );
    expect(schedule.created_by).toBe(admin.userId);
    await expectStatus(
      call(server, 'DELETE', `/api/v1/access/users/${admin.userId}`, { token: owner.token }),
      204,
    );
    clock.advance(61_000);
    await tick();
    expect(await getSchedule(server, owner, schedule.id)).toMatchObject({
      last_error: 'creator is no longer a member',
      last_run_id: null,
      enabled: true,
    });
    expect(await runsOf(server, owner)).toEqual([]);
  });

  it('schedules: a disabled schedule does not fire; enabled again, it fires at the next time after now', async () => {
    const schedule = await createSchedule(
      server,
      owner,
      scheduleBody(script.id, [agentId], { interval_seconds: 60 }),
    );
    await expectStatus(
      call(server, 'POST', `/api/v1/schedules/${schedule.id}/disable`, { token: owner.token }),
      200,
    );
    clock.advance(10 * MINUTE);
    await tick();
    expect(await runsOf(server, owner)).toEqual([]);
    await expectStatus(
      call(server, 'POST', `/api/v1/schedules/${schedule.id}/enable`, { token: owner.token }),
      200,
    );
    await tick();
    expect(await runsOf(server, owner)).toEqual([]);
    clock.advance(60_000);
    await tick();
    expect(await runsOf(server, owner)).toHaveLength(1);
  });

  it('schedules: a profile schedule applies the profile as a run whose source is profile', async () => {
    const profile = await expectStatus(
      call(server, 'POST', '/api/v1/profiles', {
        token: owner.token,
        body: {
          name: 'patch night',
          tasks: [{ name: 'update', action: 'command', interpreter: 'sh', content: 'echo update' }],
        },
      }),
      201,
    );
    const schedule = await createSchedule(
      server,
      owner,
      scheduleBody(script.id, [agentId], {
        action: { kind: 'profile', profile_id: profile.id },
        interval_seconds: 60,
      }),
    );
    expect(schedule.action).toEqual({ kind: 'profile', profile_id: profile.id });
    clock.advance(61_000);
    await tick();
    const runs = await runsOf(server, owner);
    expect(runs.map((r) => [r.name, r.source, r.created_by])).toEqual([
      [schedule.name, 'profile', owner.userId],
    ]);
    expect((await getSchedule(server, owner, schedule.id)).last_run_id).toBe(runs[0].id);
  });
});
