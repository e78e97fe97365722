import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobOutput, ServerWithAgents } from '../support/agents.js';
import { call, expectStatus, type Session } from '../support/client.js';
import { dialects, type TestServer } from '../support/harness.js';
import { apply, createProfile, finishedRun, tasksOf } from '../profiles/support.js';

const MASK = '********';
/** Found in no stored row or reply: the secret's plain part (JSON escapes the rest). */
const MARKER = 'qX7marker';
/** Quotes, a command substitution, a newline and non-ASCII: the agent must get it byte for byte. */
const SECRET = `p'"; $(id) \`id\`\n${MARKER} é`;
const hex = (text: string) => Buffer.from(text).toString('hex');
/** Prints the variable's bytes in hex: proof the agent got the value exactly, without echoing it. */
const printHex = (name: string) => `printf '%s' "$${name}" | od -An -tx1 | tr -d ' \\n'`;

/** `secret_env` through a real agent process: a job, a run, a profile task and a schedule's run. */
describe.each(dialects)('jobs: secret_env reaches a real agent exactly on %s', (dialect) => {
  let fixture: ServerWithAgents;
  let server: TestServer;
  let owner: Session;
  let agentId: string;

  beforeAll(async () => {
    fixture = await ServerWithAgents.start(dialect, 'secret-env');
    ({ server, owner } = fixture);
    agentId = fixture.agent.id;
  });
  afterAll(() => fixture?.close());

  const outputOf = (jobId: string) => jobOutput(server, owner, jobId);
  const storedJob = (id: string) =>
    server.database.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  it('jobs: a job gets its secret_env value byte for byte, beside its env, and shows it masked', async () => {
    const job = await expectStatus(
      call(server, 'POST', `/api/v1/agents/${agentId}/jobs?wait=30`, {
        token: owner.token,
        body: {
          interpreter: 'sh',
          command: `${printHex('DEPLOY_TOKEN')}; printf ' %s' "$REGION"`,
          env: { REGION: 'eu' },
          secret_env: { DEPLOY_TOKEN: SECRET },
        },
      }),
      200,
    );
    expect(job).toMatchObject({
      status: 'succeeded',
      env: { REGION: 'eu' },
      secret_env: { DEPLOY_TOKEN: MASK },
    });
    expect(job.output).toBe(`${hex(SECRET)} eu`);
    const row = await storedJob(job.id);
    expect(JSON.stringify(row)).not.toContain(MARKER);
    expect(JSON.parse(row.secret_env).DEPLOY_TOKEN).toMatch(/^v1:/);
  });

  it('runs: each job of a run gets the secret_env value', async () => {
    const run = await expectStatus(
      call(server, 'POST', '/api/v1/runs', {
        token: owner.token,
        body: {
          target: { agent_ids: [agentId] },
          job: { interpreter: 'sh', command: printHex('DB_PASS'), secret_env: { DB_PASS: SECRET } },
        },
      }),
      202,
    );
    expect(run.spec.secret_env).toEqual({ DB_PASS: MASK });
    expect(await finishedRun(server, owner, run.id)).toMatchObject({ status: 'succeeded' });
    const [job] = await tasksOf(server, owner, run.id, agentId);
    expect(await outputOf(job.id)).toBe(hex(SECRET));
  });

  it('profiles: a command task and a script task get their secret_env values on the agent', async () => {
    const script = await expectStatus(
      call(server, 'POST', '/api/v1/scripts', {
        token: owner.token,
        body: { name: 'print key', language: 'sh', content: printHex('SIGNING_KEY'), parameters: [] },
      }),
      201,
    );
    const profile = await createProfile(server, owner, {
      tasks: [
        {
          name: 'command',
          action: 'command',
          interpreter: 'sh',
          content: printHex('API_SECRET'),
          secret_env: { API_SECRET: SECRET },
        },
        { name: 'script', action: 'script', script_id: script.id, secret_env: { SIGNING_KEY: `${SECRET}2` } },
      ],
    });
    expect(profile.tasks.map((t: any) => t.secret_env)).toEqual([
      { API_SECRET: MASK },
      { SIGNING_KEY: MASK },
    ]);
    const run = await apply(server, owner, profile.id, { agent_ids: [agentId] });
    expect(await finishedRun(server, owner, run.id)).toMatchObject({ status: 'succeeded' });
    const [first, second] = await tasksOf(server, owner, run.id, agentId);
    expect(await outputOf(first.id)).toBe(hex(SECRET));
    expect(await outputOf(second.id)).toBe(hex(`${SECRET}2`));
    const spec = await server.database.db
      .selectFrom('runs')
      .select('spec')
      .where('id', '=', run.id)
      .executeTakeFirstOrThrow();
    expect(spec.spec).not.toContain(MARKER);
    const tasks = await server.database.db
      .selectFrom('profile_tasks')
      .select('secret_env')
      .where('profile_id', '=', profile.id)
      .execute();
    expect(tasks).toHaveLength(2);
    for (const task of tasks) expect(task.secret_env).not.toContain(MARKER);
  });

  it('schedules: a fired schedule runs the script with its secret_env value', async () => {
    const script = await expectStatus(
      call(server, 'POST', '/api/v1/scripts', {
        token: owner.token,
        body: { name: 'print cookie', language: 'sh', content: printHex('SESSION_COOKIE'), parameters: [] },
      }),
      201,
    );
    const schedule = await expectStatus(
      call(server, 'POST', '/api/v1/schedules', {
        token: owner.token,
        body: {
          name: 'secret schedule',
          action: { kind: 'script', script_id: script.id, secret_env: { SESSION_COOKIE: SECRET } },
          target: { agent_ids: [agentId] },
          interval_seconds: 3600,
        },
      }),
      201,
    );
    expect(schedule.action.secret_env).toEqual({ SESSION_COOKIE: MASK });
    // Due now, rather than in an hour: the scheduler fires it on its next look.
    await server.database.db
      .updateTable('schedules')
      .set({ next_fire_at: new Date(Date.now() - 1000).toISOString() })
      .where('id', '=', schedule.id)
      .execute();
    await server.app.services.scheduler.tick();
    const fired = await expectStatus(
      call(server, 'GET', `/api/v1/schedules/${schedule.id}`, { token: owner.token }),
      200,
    );
    expect(fired.last_error).toBeNull();
    expect(await finishedRun(server, owner, fired.last_run_id)).toMatchObject({ status: 'succeeded' });
    const [job] = await tasksOf(server, owner, fired.last_run_id, agentId);
    expect(await outputOf(job.id)).toBe(hex(SECRET));
  });
});
