import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../support/agents.js';
import {
  addMember,
  call,
  expectError,
  expectStatus,
  signup,
  uniqueName,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import { createSchedule, createScript, getSchedule, movedClockConfig, scheduleBody } from './support.js';

const START = new Date('2025-01-15T10:00:00.000Z');

describe.each(dialects)('schedules: CRUD and validation on %s', (dialect) => {
  let server: TestServer;
  let clock: TestClock;
  let owner: Session;
  let script: any;
  let agentId: string;
  beforeAll(async () => {
    clock = new TestClock(new Date(START));
    server = await startTestServer(dialect, { clock, config: movedClockConfig });
    owner = await signup(server, 'planner');
    script = await createScript(server, owner);
    agentId = await createAgent(server, owner);
  });
  afterAll(async () => {
    await server.close();
  });

  const post = (body: unknown, session = owner) =>
    call(server, 'POST', '/api/v1/schedules', { token: session.token, body });
  const patch = (id: string, body: unknown) =>
    call(server, 'PATCH', `/api/v1/schedules/${id}`, { token: owner.token, body });

  it('schedules: create, read, list, change and delete, each audited', async () => {
    const body = scheduleBody(script.id, [agentId], { description: 'every five minutes', concurrency: 5 });
    const created = await createSchedule(server, owner, body);
    expect(created).toMatchObject({
      name: body.name,
      description: 'every five minutes',
      enabled: true,
      action: { kind: 'script', script_id: script.id, parameters: { path: '/var' } },
      target: { agent_ids: [agentId] },
      concurrency: 5,
      failure_threshold: null,
      cron: null,
      timezone: null,
      interval_seconds: 300,
      next_fire_at: new Date(START.getTime() + 300_000).toISOString(),
      last_fired_at: null,
      last_run_id: null,
      last_error: null,
      created_by: owner.userId,
    });
    expect(await getSchedule(server, owner, created.id)).toEqual(created);

    const listed = await expectStatus(
      call(server, 'GET', '/api/v1/schedules?enabled=true&kind=script', { token: owner.token }),
      200,
    );
    expect(listed.items.map((s: any) => s.id)).toContain(created.id);
    const none = await expectStatus(
      call(server, 'GET', '/api/v1/schedules?kind=profile', { token: owner.token }),
      200,
    );
    expect(none.items).toEqual([]);

    const changed = await expectStatus(
      patch(created.id, { name: `${body.name}-x`, failure_threshold: 2 }),
      200,
    );
    expect(changed).toMatchObject({ name: `${body.name}-x`, failure_threshold: 2, concurrency: 5 });
    // Only the timing moves the next fire.
    expect(changed.next_fire_at).toBe(created.next_fire_at);

    await expectStatus(
      call(server, 'DELETE', `/api/v1/schedules/${created.id}`, { token: owner.token }),
      204,
    );
    expectError(
      await call(server, 'GET', `/api/v1/schedules/${created.id}`, { token: owner.token }),
      404,
      'not_found',
    );

    const audit = await expectStatus(
      call(server, 'GET', `/api/v1/audit?entity_type=schedule&entity_id=${created.id}`, {
        token: owner.token,
      }),
      200,
    );
    expect(audit.items.map((e: any) => e.action).sort()).toEqual(['created', 'deleted', 'modified']);
  });

  it('schedules: names are unique in an organisation (409), on create and on rename', async () => {
    const first = await createSchedule(server, owner, scheduleBody(script.id, [agentId]));
    const second = await createSchedule(server, owner, scheduleBody(script.id, [agentId]));
    expectError(await post(scheduleBody(script.id, [agentId], { name: first.name })), 409, 'conflict');
    expectError(await patch(second.id, { name: first.name }), 409, 'conflict');
    // Another organisation may use the name.
    const other = await signup(server, 'other');
    const otherScript = await createScript(server, other);
    await createSchedule(server, other, scheduleBody(otherScript.id, [], { name: first.name }));
  });

  it('schedules: a bad timing is refused with a detail naming the field', async () => {
    const cases: [Record<string, unknown>, number, string][] = [
      [{ interval_seconds: 59 }, 400, 'body.interval_seconds'],
      [{ interval_seconds: undefined, cron: 'not a cron' }, 422, 'cron'],
      [{ interval_seconds: undefined, cron: '61 * * * *' }, 422, 'cron'],
      // Seconds would fire faster than the one-minute floor of intervals.
      [{ interval_seconds: undefined, cron: '* * * * * *' }, 422, 'cron'],
      [{ interval_seconds: undefined, cron: '0 0 30 2 *' }, 422, 'cron'],
      [{ interval_seconds: undefined, cron: '0 9 * * *', timezone: 'Mars/Olympus' }, 422, 'timezone'],
      [{ cron: '0 9 * * *' }, 422, 'cron'],
      [{ interval_seconds: undefined }, 422, 'cron'],
      [{ timezone: 'Europe/Paris' }, 422, 'timezone'],
    ];
    for (const [overrides, status, field] of cases) {
      const reply = await post(scheduleBody(script.id, [agentId], overrides));
      expectError(reply, status, status === 400 ? 'validation_failed' : 'unprocessable');
      expect(
        reply.body.error.details.map((d: any) => d.field),
        JSON.stringify(overrides),
      ).toContain(field);
    }
    const cron = await post(
      scheduleBody(script.id, [agentId], { interval_seconds: undefined, cron: '61 * * * *' }),
    );
    expect(cron.body.error.details[0].message).toMatch(/minute/);
  });

  it('schedules: what to run is checked when saved (422), and scheduling it takes the permission to run it', async () => {
    const missing = await post(
      scheduleBody(script.id, [agentId], { action: { kind: 'script', script_id: crypto.randomUUID() } }),
    );
    expectError(missing, 422, 'unprocessable');
    expect(missing.body.error.details).toEqual([{ field: 'action.script_id', message: expect.any(String) }]);

    const wrongKind = await post(
      scheduleBody(script.id, [agentId], { action: { kind: 'command', script_id: script.id } }),
    );
    expectError(wrongKind, 422, 'unprocessable');

    const badParameters = await post(
      scheduleBody(script.id, [agentId], {
        action: { kind: 'script', script_id: script.id, parameters: { nope: 1 } },
      }),
    );
    expectError(badParameters, 422, 'unprocessable');
    expect(badParameters.body.error.details.map((d: any) => d.field).sort()).toEqual([
      'action.parameters.nope',
      'action.parameters.path',
    ]);

    const noProfile = await post(
      scheduleBody(script.id, [agentId], { action: { kind: 'profile', profile_id: crypto.randomUUID() } }),
    );
    expectError(noProfile, 422, 'unprocessable');
    expect(noProfile.body.error.details[0].field).toBe('action.profile_id');

    expectError(
      await post({ ...scheduleBody(script.id, [agentId]), action: { kind: 'script' } }),
      400,
      'validation_failed',
    );

    // An operator runs scripts but cannot create schedules; a role that creates schedules but
    // cannot run scripts cannot schedule one either.
    const operator = await addMember(server, owner, 'operator');
    expectError(await post(scheduleBody(script.id, [agentId]), operator), 403, 'forbidden');
    const role = await expectStatus(
      call(server, 'POST', '/api/v1/access/roles', {
        token: owner.token,
        body: { name: 'planners', permissions: ['schedules:create', 'schedules:read', 'scripts:read'] },
      }),
      201,
    );
    const planner = await addMember(server, owner, role.name);
    const refused = await post(scheduleBody(script.id, [agentId]), planner);
    expectError(refused, 403, 'forbidden');
    expect(refused.body.error.message).toContain('scripts:execute');
  });

  it('schedules: a change of timing counts the next fire from now; cron and interval replace each other', async () => {
    const created = await createSchedule(server, owner, scheduleBody(script.id, [agentId]));
    clock.advance(90_000);
    const cron = await expectStatus(patch(created.id, { cron: '0 9 * * *', timezone: 'Europe/Paris' }), 200);
    expect(cron).toMatchObject({ cron: '0 9 * * *', timezone: 'Europe/Paris', interval_seconds: null });
    expect(cron.next_fire_at).toBe('2025-01-16T08:00:00.000Z');
    const zone = await expectStatus(patch(created.id, { timezone: 'America/New_York' }), 200);
    expect(zone.next_fire_at).toBe('2025-01-15T14:00:00.000Z');
    const interval = await expectStatus(patch(created.id, { interval_seconds: 600 }), 200);
    expect(interval).toMatchObject({ cron: null, timezone: null, interval_seconds: 600 });
    expect(interval.next_fire_at).toBe(new Date(clock.now().getTime() + 600_000).toISOString());
    expectError(await patch(created.id, { timezone: 'UTC' }), 422, 'unprocessable');
    expectError(await patch(created.id, { cron: '0 * * * *', interval_seconds: 600 }), 422, 'unprocessable');
  });

  it('schedules: disable clears the next fire, enable counts it from now, and asking twice changes nothing', async () => {
    const created = await createSchedule(
      server,
      owner,
      scheduleBody(script.id, [agentId], { interval_seconds: 120 }),
    );
    const toggle = (verb: string) =>
      expectStatus(
        call(server, 'POST', `/api/v1/schedules/${created.id}/${verb}`, { token: owner.token }),
        200,
      );
    const disabled = await toggle('disable');
    expect(disabled).toMatchObject({ enabled: false, next_fire_at: null });
    expect(await toggle('disable')).toEqual(disabled);
    clock.advance(3_600_000);
    const enabled = await toggle('enable');
    expect(enabled).toMatchObject({
      enabled: true,
      next_fire_at: new Date(clock.now().getTime() + 120_000).toISOString(),
    });
    const audit = await expectStatus(
      call(
        server,
        'GET',
        `/api/v1/audit?entity_type=schedule&entity_id=${created.id}&action=status_changed`,
        {
          token: owner.token,
        },
      ),
      200,
    );
    expect(audit.items.map((e: any) => e.after.enabled)).toEqual([true, false]);

    const off = await createSchedule(server, owner, scheduleBody(script.id, [agentId], { enabled: false }));
    expect(off).toMatchObject({ enabled: false, next_fire_at: null });
  });

  it('schedules: secret parameter values are masked in answers and in the audit log', async () => {
    const created = await createSchedule(
      server,
      owner,
      scheduleBody(script.id, [agentId], {
        action: { kind: 'script', script_id: script.id, parameters: { path: '/srv', api_key: 'S3CRET-42' } },
      }),
    );
    expect(created.action.parameters).toEqual({ path: '/srv', api_key: '********' });
    // The mask itself is asserted: a stored value is sealed, so an answer that forgot to mask it
    // would not hold the clear value either.
    const masked = { path: '/srv', api_key: '********' };
    const audit = await call(server, 'GET', `/api/v1/audit?entity_id=${created.id}`, { token: owner.token });
    expect(audit.body.items.map((e: any) => e.after.action.parameters)).toEqual([masked]);
    expect((await getSchedule(server, owner, created.id)).action.parameters).toEqual(masked);
    const listed = await call(server, 'GET', '/api/v1/schedules?limit=200', { token: owner.token });
    expect(listed.body.items.find((i: { id: string }) => i.id === created.id).action.parameters).toEqual(
      masked,
    );
    expect(JSON.stringify([audit.body, listed.body])).not.toContain('S3CRET-42');
    const stored = await server.database.db
      .selectFrom('schedules')
      .select('parameters')
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(stored.parameters).not.toContain('S3CRET-42');
    // An edit that leaves the action alone keeps the value sealed as it was, not sealed twice.
    await expectStatus(
      call(server, 'PATCH', `/api/v1/schedules/${created.id}`, {
        token: owner.token,
        body: { name: uniqueName('renamed') },
      }),
      200,
    );
    const after = await server.database.db
      .selectFrom('schedules')
      .select('parameters')
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(after.parameters).toBe(stored.parameters);
    // Sending back the action as read (secret masked) keeps the secret, and the new path is taken.
    const echoed = await expectStatus(
      call(server, 'PATCH', `/api/v1/schedules/${created.id}`, {
        token: owner.token,
        body: { action: { ...created.action, parameters: { ...created.action.parameters, path: '/data' } } },
      }),
      200,
    );
    expect(echoed.action.parameters).toEqual({ path: '/data', api_key: '********' });
    const edited = await server.database.db
      .selectFrom('schedules')
      .select('parameters')
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(JSON.parse(edited.parameters)).toEqual({
      path: '/data',
      api_key: JSON.parse(stored.parameters).api_key,
    });
  });

  it('schedules: a script a schedule runs cannot be deleted (409 naming the schedule) until the schedule goes', async () => {
    const used = await createScript(server, owner, { name: uniqueName('used') });
    const schedule = await createSchedule(server, owner, scheduleBody(used.id, [agentId]));
    const refused = await call(server, 'DELETE', `/api/v1/scripts/${used.id}`, { token: owner.token });
    expectError(refused, 409, 'conflict');
    expect(refused.body.error.details).toEqual([
      { field: 'schedule', message: 'uses this script', id: schedule.id, name: schedule.name },
    ]);
    await expectStatus(
      call(server, 'DELETE', `/api/v1/schedules/${schedule.id}`, { token: owner.token }),
      204,
    );
    await expectStatus(call(server, 'DELETE', `/api/v1/scripts/${used.id}`, { token: owner.token }), 204);
  });

  it('schedules: a profile a schedule runs cannot be deleted (409 naming the schedule) until the schedule goes', async () => {
    const profile = await expectStatus(
      call(server, 'POST', '/api/v1/profiles', {
        token: owner.token,
        body: {
          name: uniqueName('patch'),
          tasks: [{ name: 'update', action: 'command', interpreter: 'sh', content: 'echo update' }],
        },
      }),
      201,
    );
    const schedule = await createSchedule(
      server,
      owner,
      scheduleBody(script.id, [agentId], { action: { kind: 'profile', profile_id: profile.id } }),
    );
    const refused = await call(server, 'DELETE', `/api/v1/profiles/${profile.id}`, { token: owner.token });
    expectError(refused, 409, 'conflict');
    expect(refused.body.error.details).toEqual([
      { field: 'schedule', message: 'uses this profile', id: schedule.id, name: schedule.name },
    ]);
    // Nothing went: the profile keeps its tasks.
    const kept = await expectStatus(
      call(server, 'GET', `/api/v1/profiles/${profile.id}`, { token: owner.token }),
      200,
    );
    expect(kept.tasks).toHaveLength(1);
    await expectStatus(
      call(server, 'DELETE', `/api/v1/schedules/${schedule.id}`, { token: owner.token }),
      204,
    );
    await expectStatus(call(server, 'DELETE', `/api/v1/profiles/${profile.id}`, { token: owner.token }), 204);
  });
});
