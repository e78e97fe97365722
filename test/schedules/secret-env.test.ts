import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedAgent } from '../support/agents.js';
import { auditOf, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { createSchedule, createScript, getSchedule, scheduleBody } from './support.js';

const MASK = '********';
const SECRET = 'sched-S3CRET-$(id)-1';

/** A schedule's `secret_env`: sealed in its row, masked when shown, kept when sent back masked. */
describe.each(dialects)('schedules: secret_env on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'schedule-secrets');
  });
  afterAll(async () => {
    await server.close();
  });

  const api = (method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: owner.token, ...(body === undefined ? {} : { body }) });
  const storedSchedule = (id: string) =>
    server.database.db.selectFrom('schedules').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  /** Fires the schedule now and returns the environment its job reaches the agent with. */
  const firedEnv = async (scheduleId: string, agent: ScriptedAgent) => {
    await server.database.db
      .updateTable('schedules')
      .set({ next_fire_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', scheduleId)
      .execute();
    await server.app.services.scheduler.tick();
    expect((await getSchedule(server, owner, scheduleId)).last_error).toBeNull();
    const job = await agent.next();
    await agent.finish(job, 'succeeded', 0);
    return job.env;
  };

  it('schedules: secret_env is sealed in the row, masked in the schedule, list and audit, and kept when sent back masked', async () => {
    const script = await createScript(server, owner);
    const agent = await ScriptedAgent.enroll(server, owner);
    const body = scheduleBody(script.id, [agent.id]);
    const action = { ...body.action, secret_env: { DB_PASS: SECRET, SECOND: 'second-secret-2' } };
    const schedule = await createSchedule(server, owner, { ...body, action });
    expect(schedule.action.secret_env).toEqual({ DB_PASS: MASK, SECOND: MASK });
    const list = await expectStatus(api('GET', '/api/v1/schedules'), 200);
    expect(list.items[0].action.secret_env).toEqual({ DB_PASS: MASK, SECOND: MASK });
    const row = await storedSchedule(schedule.id);
    expect(row.secret_env).not.toContain(SECRET);
    expect(JSON.parse(row.secret_env).DB_PASS).toMatch(/^v1:/);
    expect(await firedEnv(schedule.id, agent)).toEqual({
      FP_PARAM_PATH: '/var',
      DB_PASS: SECRET,
      SECOND: 'second-secret-2',
    });

    // The action sent back as read, one secret added: the masked ones keep their values.
    const read = await getSchedule(server, owner, schedule.id);
    const edited = await expectStatus(
      api('PATCH', `/api/v1/schedules/${schedule.id}`, {
        action: { ...read.action, secret_env: { ...read.action.secret_env, ADDED_TOKEN: 'added-3' } },
      }),
      200,
    );
    expect(edited.action.secret_env).toEqual({ DB_PASS: MASK, SECOND: MASK, ADDED_TOKEN: MASK });
    expect(await firedEnv(schedule.id, agent)).toEqual({
      FP_PARAM_PATH: '/var',
      DB_PASS: SECRET,
      SECOND: 'second-secret-2',
      ADDED_TOKEN: 'added-3',
    });

    // A change of something else leaves the sealed values exactly as they were.
    const sealed = (await storedSchedule(schedule.id)).secret_env;
    await expectStatus(api('PATCH', `/api/v1/schedules/${schedule.id}`, { description: 'nightly' }), 200);
    expect((await storedSchedule(schedule.id)).secret_env).toBe(sealed);

    const events = await auditOf(server, owner, 'schedule', schedule.id);
    expect(events[0].after.action.secret_env).toEqual({ DB_PASS: MASK, SECOND: MASK });
    expect(events[1].before.action.secret_env).toEqual({ DB_PASS: MASK, SECOND: MASK });
    expect(events[1].after.action.secret_env).toEqual({ DB_PASS: MASK, SECOND: MASK, ADDED_TOKEN: MASK });
    const runs = await expectStatus(api('GET', '/api/v1/runs?limit=200'), 200);
    expect(runs.items[0].spec.secret_env).toEqual({ DB_PASS: MASK, SECOND: MASK, ADDED_TOKEN: MASK });
    const stored = await Promise.all(
      ['audit_events', 'runs', 'jobs', 'schedules'].map((table) =>
        server.database.db
          .selectFrom(table as 'runs')
          .selectAll()
          .execute(),
      ),
    );
    const text = JSON.stringify(stored);
    for (const value of [SECRET, 'second-secret-2', 'added-3']) expect(text).not.toContain(value);
  });

  it('schedules: a reserved, doubled or malformed secret_env name is refused when the schedule is saved', async () => {
    const script = await createScript(server, owner);
    const before = (await expectStatus(api('GET', '/api/v1/schedules'), 200)).items;
    const body = scheduleBody(script.id, []);
    const withSecrets = (secretEnv: Record<string, string>) => ({
      ...body,
      target: { all: true },
      action: { ...body.action, secret_env: secretEnv },
    });
    const reserved = await api('POST', '/api/v1/schedules', withSecrets({ FP_SECRET_API_KEY: 'x' }));
    expectError(reserved, 422, 'unprocessable');
    expect(reserved.body.error.details).toContainEqual(
      expect.objectContaining({ field: 'action.secret_env.FP_SECRET_API_KEY' }),
    );
    const doubled = await api('POST', '/api/v1/schedules', withSecrets({ Token: 'a', TOKEN: 'b' }));
    expectError(doubled, 422, 'unprocessable');
    expect(doubled.body.error.details).toContainEqual(
      expect.objectContaining({ field: 'action.secret_env.TOKEN' }),
    );
    for (const name of ['A=B;id', '', 'lower-case']) {
      expectError(
        await api('POST', '/api/v1/schedules', withSecrets({ [name]: 'x' })),
        400,
        'validation_failed',
      );
    }
    expect((await expectStatus(api('GET', '/api/v1/schedules'), 200)).items).toEqual(before);
  });
});
