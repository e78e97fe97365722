import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeLeases } from '../../src/server/db/node-leases.js';
import { authPurges } from '../../src/server/modules/auth/auth.purges.js';
import { Housekeeper } from '../../src/server/modules/housekeeping/housekeeping.service.js';
import { createAgent } from '../support/agents.js';
import { eventually } from '../support/eventually.js';
import { createScript, scheduleBody } from '../schedules/support.js';
import {
  addMember,
  call,
  expectError,
  expectStatus,
  roleId,
  signup,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import { at, DAY, remaining, rows, SECOND, withOutput } from './support.js';

const START = new Date('2026-03-01T12:00:00.000Z');
const HOUR = 3600 * SECOND;
const QUICK = { intervalMs: 20, timeoutMs: 5000 };

describe.each(dialects)('housekeeping and the settings that act, on %s', (dialect) => {
  let server: TestServer;
  const clock = new TestClock(new Date(START));
  /** Owner of the primary organisation: the instance's. */
  let owner: Session;
  /** Owner of another organisation, which keeps its audit log for the default 365 days. */
  let other: Session;
  let viewer: Session;
  let admin: Session;

  beforeAll(async () => {
    // access tokens outlive the hours the clock is moved on
    server = await startTestServer(dialect, {
      clock,
      config: { accessTokenTtlMs: 30 * DAY, refreshTokenTtlMs: 60 * DAY },
    });
    owner = await signup(server, 'primary');
    other = await signup(server, 'other');
    viewer = await addMember(server, owner, 'viewer');
    admin = await addMember(server, owner, 'admin');
  });
  afterAll(async () => {
    await server.close();
  });

  const runNow = (who: Session) =>
    call(server, 'POST', '/api/v1/system/housekeeping/run', { token: who.token });
  const overview = (who: Session, query = '') =>
    call(server, 'GET', `/api/v1/system/housekeeping${query}`, { token: who.token });

  it('housekeeping: a run deletes exactly what has expired or outlived its retention, and nothing else', async () => {
    await expectStatus(
      call(server, 'PUT', '/api/v1/settings/logging', {
        token: owner.token,
        body: { audit_retention_days: 30 },
      }),
      200,
    );
    await expectStatus(
      call(server, 'PUT', '/api/v1/settings/jobs', {
        token: owner.token,
        body: { output_retention_days: 7 },
      }),
      200,
    );
    const now = clock.now();
    const gone = (ms: number) => at(now, -ms);
    const later = (ms: number) => at(now, ms);
    const row = rows(server);
    const expired = {
      sessions: [await row.session(owner, gone(SECOND), 2), await row.session(other, gone(DAY), 1)],
      resets: [
        await row.passwordReset(owner, gone(SECOND)),
        await row.passwordReset(owner, gone(SECOND), true),
      ],
      invites: [await row.invite(owner, await roleId(server, owner.token, 'viewer'), gone(SECOND))],
      enrollment: [
        await row.enrollmentToken(owner, { expires_at: gone(SECOND), max_uses: null, uses: 0 }),
        await row.enrollmentToken(owner, { expires_at: later(DAY), max_uses: 3, uses: 3 }),
      ],
      devices: [await row.sdkDevice(gone(SECOND))],
      audit: [
        await row.auditEvent(owner.orgId, gone(30 * DAY + SECOND)),
        await row.auditEvent(other.orgId, gone(365 * DAY + SECOND)),
        // an event of no organisation is kept as long as the primary organisation says
        await row.auditEvent(null, gone(30 * DAY + SECOND)),
      ],
    };
    const kept = {
      sessions: [await row.session(owner, later(SECOND), 2)],
      resets: [await row.passwordReset(owner, later(SECOND))],
      invites: [
        await row.invite(owner, await roleId(server, owner.token, 'viewer'), later(SECOND)),
        // accepted: the record of who joined through whom
        await row.invite(owner, await roleId(server, owner.token, 'viewer'), gone(DAY), true),
      ],
      enrollment: [
        await row.enrollmentToken(owner, { expires_at: later(SECOND), max_uses: 3, uses: 2 }),
        await row.enrollmentToken(owner, { expires_at: null, max_uses: null, uses: 50 }),
      ],
      devices: [await row.sdkDevice(later(SECOND))],
      audit: [
        await row.auditEvent(owner.orgId, gone(30 * DAY - SECOND)),
        await row.auditEvent(other.orgId, gone(300 * DAY)),
        await row.auditEvent(null, gone(30 * DAY - SECOND)),
      ],
    };
    const template = (
      await expectStatus(
        call(server, 'POST', `/api/v1/agents/${await createAgent(server, owner)}/jobs`, {
          token: owner.token,
          body: { interpreter: 'sh', command: 'echo hi' },
        }),
        202,
      )
    ).id as string;
    const otherTemplate = (
      await expectStatus(
        call(server, 'POST', `/api/v1/agents/${await createAgent(server, other)}/jobs`, {
          token: other.token,
          body: { interpreter: 'sh', command: 'echo hi' },
        }),
        202,
      )
    ).id as string;
    const oldOutput = await row.jobWithOutput(
      template,
      gone(7 * DAY + SECOND),
      gone(7 * DAY + 2 * SECOND),
      3,
    );
    const keptOutput = [
      await row.jobWithOutput(template, gone(7 * DAY - SECOND), gone(8 * DAY)),
      // still running: its old first lines stay with the rest
      await row.jobWithOutput(template, null, gone(10 * DAY)),
      // the other organisation keeps output (0: forever)
      await row.jobWithOutput(otherTemplate, gone(400 * DAY), gone(400 * DAY)),
    ];

    const run = await expectStatus(runNow(admin), 200);
    expect(run).toMatchObject({
      trigger: 'manual',
      status: 'succeeded',
      requested_by: admin.userId,
      error: null,
    });
    expect(run.counts).toEqual({
      refresh_tokens: 3,
      sessions: 2,
      password_resets: 2,
      sdk_devices: 1,
      invites: 1,
      enrollment_tokens: 2,
      audit_events: 3,
      job_output: 3,
      housekeeping_runs: 0,
    });
    expect(
      await remaining(
        server,
        'sessions',
        expired.sessions.map((s) => s.id),
      ),
    ).toEqual([]);
    expect(
      await remaining(
        server,
        'refresh_tokens',
        expired.sessions.flatMap((s) => s.tokens),
      ),
    ).toEqual([]);
    expect(await remaining(server, 'password_resets', expired.resets)).toEqual([]);
    expect(await remaining(server, 'invites', expired.invites)).toEqual([]);
    expect(await remaining(server, 'enrollment_tokens', expired.enrollment)).toEqual([]);
    expect(await remaining(server, 'sdk_devices', expired.devices)).toEqual([]);
    expect(await remaining(server, 'audit_events', expired.audit)).toEqual([]);
    expect(await withOutput(server, [oldOutput])).toEqual([]);

    expect(
      await remaining(
        server,
        'sessions',
        kept.sessions.map((s) => s.id),
      ),
    ).toHaveLength(1);
    expect(
      await remaining(
        server,
        'refresh_tokens',
        kept.sessions.flatMap((s) => s.tokens),
      ),
    ).toHaveLength(2);
    expect(await remaining(server, 'password_resets', kept.resets)).toEqual(kept.resets);
    expect(await remaining(server, 'invites', kept.invites)).toEqual(kept.invites);
    expect(await remaining(server, 'enrollment_tokens', kept.enrollment)).toEqual(kept.enrollment);
    expect(await remaining(server, 'sdk_devices', kept.devices)).toEqual(kept.devices);
    expect(await remaining(server, 'audit_events', kept.audit)).toEqual(kept.audit);
    expect(await withOutput(server, keptOutput)).toEqual(keptOutput);
    // the job whose output went stays in the history
    expect(
      await expectStatus(call(server, 'GET', `/api/v1/jobs/${oldOutput}`, { token: owner.token }), 200),
    ).toMatchObject({ id: oldOutput, status: 'succeeded' });
    // the owner's own live session still works
    await expectStatus(call(server, 'GET', '/api/v1/auth/me', { token: owner.token }), 200);

    // the manual run is audited
    const audit = await expectStatus(
      call(server, 'GET', `/api/v1/audit?entity_type=housekeeping_run&entity_id=${run.id}`, {
        token: owner.token,
      }),
      200,
    );
    expect(audit.items).toHaveLength(1);
    expect(audit.items[0]).toMatchObject({
      actor_id: admin.userId,
      action: 'created',
      after: { counts: run.counts },
    });

    // a second run finds nothing more
    const again = await expectStatus(runNow(owner), 200);
    expect(Object.values(again.counts).every((n) => n === 0)).toBe(true);
  });

  it('housekeeping: deletes in batches of the size given, until a batch comes back short', async () => {
    const now = clock.now();
    const row = rows(server);
    for (let i = 0; i < 7; i += 1) await row.passwordReset(owner, at(now, -SECOND));
    const batches: number[] = [];
    const resets = authPurges.find((p) => p.kind === 'password_resets')!;
    const housekeeper = new Housekeeper({
      db: server.database.db,
      clock,
      leases: new NodeLeases({ db: server.database.db, clock }),
      audit: server.app.services.audit,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
      intervalMs: HOUR,
      batch: 3,
      expiries: [
        {
          kind: resets.kind,
          deleteExpired: async (db, at, limit) => {
            const deleted = await resets.deleteExpired(db, at, limit);
            batches.push(deleted);
            return deleted;
          },
        },
      ],
      retentions: [],
      orgIds: async () => [],
      instanceOrgId: async () => owner.orgId,
    });
    // due: the last run (the test above) started an interval ago
    clock.advance(HOUR);
    const run = await housekeeper.tick();
    // the seven, and the one the first test kept, which has expired since
    expect(run).toMatchObject({ trigger: 'schedule', status: 'succeeded', counts: { password_resets: 8 } });
    expect(batches).toEqual([3, 3, 2]);
  });

  it('housekeeping: the overview lists runs newest first, pages them and says when the next is due', async () => {
    // a run left running by a node that died is marked failed by the next run
    const crashed = '01900000-0000-7000-8000-000000000001';
    await server.database.db
      .insertInto('housekeeping_runs')
      .values({
        id: crashed,
        trigger: 'schedule',
        requested_by: null,
        node: 'gone',
        status: 'running',
        counts: '{}',
        error: null,
        started_at: at(clock.now(), -2 * HOUR),
        finished_at: null,
      })
      .execute();
    expect(await server.app.services.housekeeper.tick()).toBeNull(); // not due: the last run began now
    clock.advance(HOUR);
    const scheduled = await server.app.services.housekeeper.tick();
    expect(scheduled).toMatchObject({ trigger: 'schedule', status: 'succeeded', requested_by: null });

    const first = await expectStatus(overview(viewer, '?limit=2'), 200);
    expect(first.items.map((r: { id: string }) => r.id)[0]).toBe(scheduled!.id);
    expect(first.items).toHaveLength(2);
    expect(first.next_cursor).toEqual(expect.any(String));
    expect(first).toMatchObject({
      interval_seconds: 3600,
      running: false,
      next_due_at: at(new Date(scheduled!.started_at), HOUR),
    });
    const all = [...first.items];
    let cursor = first.next_cursor;
    while (cursor) {
      const page = await expectStatus(overview(viewer, `?limit=2&cursor=${cursor}`), 200);
      all.push(...page.items);
      cursor = page.next_cursor;
    }
    expect(all.map((r) => r.trigger)).toEqual(['schedule', 'schedule', 'manual', 'manual', 'schedule']);
    expect(all.at(-1)).toMatchObject({
      id: crashed,
      status: 'failed',
      error: expect.stringContaining('interrupted'),
      finished_at: expect.any(String),
    });
  });

  it('housekeeping: a run is refused (409) while another node holds the lease', async () => {
    const elsewhere = new NodeLeases({ db: server.database.db, clock });
    expect(await elsewhere.hold('housekeeping', 2 * HOUR)).toBe(true);
    try {
      expectError(await runNow(owner), 409, 'conflict');
      clock.advance(HOUR);
      expect(await server.app.services.housekeeper.tick()).toBeNull();
    } finally {
      await elsewhere.release('housekeeping');
    }
    await expectStatus(runNow(owner), 200);
  });

  it('housekeeping: a viewer may read but not run it (403); another organisation sees when it runs, not what it deleted', async () => {
    expectError(await runNow(viewer), 403, 'forbidden');
    const seen = await expectStatus(overview(viewer), 200);
    expect(seen.instance).toBe(true);
    expect(seen.items[0].counts).toEqual(expect.objectContaining({ sessions: expect.any(Number) }));
    expectError(await runNow(other), 403, 'forbidden');
    const tenant = await expectStatus(overview(other), 200);
    expect(tenant).toMatchObject({ instance: false, next_due_at: seen.next_due_at });
    expect(tenant.items.map((r: { id: string }) => r.id)).toEqual(
      seen.items.map((r: { id: string }) => r.id),
    );
    expect(tenant.items.every((r: any) => r.counts === null && r.requested_by === null)).toBe(true);
  });

  // Settings that act on the running server, on the same server: after the purges, which count rows.
  const put = (who: Session, group: string, body: object) =>
    expectStatus(call(server, 'PUT', `/api/v1/settings/${group}`, { token: who.token, body }), 200);
  /** Whether a request now writes its info-level "request completed" line. */
  const logsRequests = async () => {
    const from = server.logs.length;
    await expectStatus(call(server, 'GET', '/api/v1/auth/me', { token: owner.token }), 200);
    return server.logs.slice(from).some((line) => line.msg === 'request completed' && line.level === 30);
  };

  it('settings: logging.level takes effect without a restart, and only the primary organisation sets it', async () => {
    expect(await logsRequests()).toBe(true);
    await put(owner, 'logging', { level: 'warn' });
    await eventually(async () => !(await logsRequests()), { ...QUICK, what: 'info lines to stop' });
    // the server says so, at the level it had, before it goes quiet
    expect(server.logs.some((line) => line.msg === 'log level changed by the logging.level setting')).toBe(
      true,
    );
    // another organisation's logging settings are its own page's, not the process's
    await put(other, 'logging', { level: 'debug' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await logsRequests()).toBe(false);
    await put(owner, 'logging', { level: 'info' });
    await eventually(logsRequests, { ...QUICK, what: 'info lines to come back' });
  });

  it('settings: general.instance_name names the console (system info) and the mail the server sends', async () => {
    await put(owner, 'general', { instance_name: 'Acme Fleet' });
    const info = await expectStatus(call(server, 'GET', '/api/v1/system/info', { token: other.token }), 200);
    expect(info.instance_name).toBe('Acme Fleet');
    const from = server.logs.length;
    await expectStatus(
      call(server, 'POST', '/api/v1/auth/password-reset', { body: { email: other.email } }),
      202,
    );
    const mail = await eventually(
      () =>
        server.logs
          .slice(from)
          .map((line) => line.mail as any)
          .find((m) => m?.to === other.email),
      { ...QUICK, what: 'the reset mail' },
    );
    expect(mail).toMatchObject({
      subject: '[Acme Fleet] Reset your password',
      from: expect.stringMatching(/^Acme Fleet </),
    });
  });

  it('settings: general.timezone is the zone of a cron schedule that names none, and must be an IANA zone', async () => {
    expectError(
      await call(server, 'PUT', '/api/v1/settings/general', {
        token: other.token,
        body: { timezone: 'Mars/Olympus' },
      }),
      422,
      'unprocessable',
    );
    await put(other, 'general', { timezone: 'Asia/Tokyo' });
    const script = await createScript(server, other);
    const agent = await createAgent(server, other);
    const cron = (body: object) =>
      expectStatus(
        call(server, 'POST', '/api/v1/schedules', {
          token: other.token,
          body: scheduleBody(script.id, [agent], { interval_seconds: undefined, cron: '0 9 * * *', ...body }),
        }),
        201,
      );
    const tokyo = await cron({});
    expect(tokyo.timezone).toBe('Asia/Tokyo');
    // 09:00 in Tokyo is 00:00 UTC
    expect(new Date(tokyo.next_fire_at).getUTCHours()).toBe(0);
    expect((await cron({ timezone: 'Europe/Paris' })).timezone).toBe('Europe/Paris');
    // each organisation its own: the primary one kept UTC
    const script2 = await createScript(server, owner);
    const agent2 = await createAgent(server, owner);
    const utc = await expectStatus(
      call(server, 'POST', '/api/v1/schedules', {
        token: owner.token,
        body: scheduleBody(script2.id, [agent2], { interval_seconds: undefined, cron: '0 9 * * *' }),
      }),
      201,
    );
    expect(utc.timezone).toBe('UTC');
  });
});
