import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobOutput, ServerWithAgents } from '../support/agents.js';
import { call, expectStatus, uniqueName, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, type TestServer } from '../support/harness.js';
import { apply, commandTask, createProfile, finishedRun, tasksOf } from './support.js';

/**
 * Profiles on a real agent process: the tasks run one after another on the machine, a failing
 * task stops the rest or not as configured, files land where a file_copy says, and an agent
 * enrolling into a group with an auto profile gets it applied.
 */
describe.each(dialects)('profiles: a real agent works through a profile on %s', (dialect) => {
  let fixture: ServerWithAgents;
  let server: TestServer;
  let owner: Session;
  let dir: string;

  const outputOf = (jobId: string) => jobOutput(server, owner, jobId);
  const states = (jobs: any[]) => jobs.map((j) => [j.task_name, j.status, j.exit_code]);

  let agentId: string;
  beforeAll(async () => {
    fixture = await ServerWithAgents.start(dialect, 'profiles-agent');
    ({ server, owner, dir } = fixture);
    agentId = fixture.agent.id;
  });
  afterAll(() => fixture?.close());

  const tasks = (continueOnError: boolean) => [
    commandTask('echo one', 'echo one'),
    commandTask('exit 3', 'exit 3', { continue_on_error: continueOnError }),
    commandTask('echo three', 'echo three'),
  ];

  it('profiles: a failing task stops the agent there; the task after it is skipped and the run fails', async () => {
    const profile = await createProfile(server, owner, { target_os_type: 'linux', tasks: tasks(false) });
    const run = await apply(server, owner, profile.id, { agent_ids: [agentId] });
    const finished = await finishedRun(server, owner, run.id);
    expect(finished).toMatchObject({
      status: 'failed',
      counts: { total: 3, succeeded: 1, failed: 1, canceled: 1 },
    });
    const jobs = await tasksOf(server, owner, run.id, agentId);
    expect(states(jobs)).toEqual([
      ['echo one', 'succeeded', 0],
      ['exit 3', 'failed', 3],
      ['echo three', 'canceled', null],
    ]);
    expect(jobs[2].error).toBe('skipped: task "exit 3" failed');
    expect(await outputOf(jobs[0].id)).toBe('one\n');
  });

  it('profiles: with continue_on_error the task after the failure runs, and the run shows each task', async () => {
    const profile = await createProfile(server, owner, { tasks: tasks(true) });
    const run = await apply(server, owner, profile.id, { agent_ids: [agentId] });
    const finished = await finishedRun(server, owner, run.id);
    expect(finished).toMatchObject({ status: 'failed', counts: { total: 3, succeeded: 2, failed: 1 } });
    const jobs = await tasksOf(server, owner, run.id, agentId);
    expect(states(jobs)).toEqual([
      ['echo one', 'succeeded', 0],
      ['exit 3', 'failed', 3],
      ['echo three', 'succeeded', 0],
    ]);
    expect(await outputOf(jobs[2].id)).toBe('three\n');
  });

  it('profiles: script and file_copy tasks run on the machine; file content and path are data, not code', async () => {
    const made = path.join(dir, 'made');
    const content = `line one\nhello $(touch ${made}) \`touch ${made}\` '"; touch ${made}\n`;
    const destination = path.join(dir, 'out', 'nested dir', 'file.txt');
    const script = await expectStatus(
      call(server, 'POST', '/api/v1/scripts', {
        token: owner.token,
        body: {
          name: 'greet',
          language: 'sh',
          content: `printf 'hi %s\\n' "$FP_PARAM_WHO"`,
          parameters: [{ name: 'who', type: 'string', required: true }],
        },
      }),
      201,
    );
    const profile = await createProfile(server, owner, {
      tasks: [
        { name: 'greet', action: 'script', script_id: script.id, parameters: { who: `$(touch ${made})` } },
        { name: 'write', action: 'file_copy', destination, content },
        commandTask('show', `cat "${destination}"`),
      ],
    });
    const run = await apply(server, owner, profile.id, { agent_ids: [agentId] });
    expect((await finishedRun(server, owner, run.id)).status).toBe('succeeded');
    const jobs = await tasksOf(server, owner, run.id, agentId);
    expect(await outputOf(jobs[0].id)).toBe(`hi $(touch ${made})\n`);
    expect(readFileSync(destination, 'utf8')).toBe(content);
    expect(await outputOf(jobs[2].id)).toBe(content);
    expect(existsSync(made)).toBe(false);
  });

  it('profiles: a secret parameter is sealed in the task, the run and its jobs, and reaches the machine exact', async () => {
    const secret = `pa55 '"; $(whoami)`;
    const script = await expectStatus(
      call(server, 'POST', '/api/v1/scripts', {
        token: owner.token,
        body: {
          name: uniqueName('secret-hex'),
          language: 'sh',
          content: `printf '%s' "$FP_SECRET_PASSWORD" | od -An -tx1 | tr -d ' \\n'`,
          parameters: [{ name: 'password', type: 'secret', required: true }],
        },
      }),
      201,
    );
    const task = { action: 'script', script_id: script.id, parameters: { password: secret } };
    // Two tasks: the second job is queued by the sequencer from the run's stored plan.
    const profile = await createProfile(server, owner, {
      tasks: [
        { name: 'first', ...task },
        { name: 'second', ...task },
      ],
    });
    const run = await apply(server, owner, profile.id, { agent_ids: [agentId] });
    expect((await finishedRun(server, owner, run.id)).status).toBe('succeeded');
    const jobs = await tasksOf(server, owner, run.id, agentId);
    const hex = Buffer.from(secret).toString('hex');
    expect([await outputOf(jobs[0].id), await outputOf(jobs[1].id)]).toEqual([hex, hex]);

    const db = server.database.db;
    const stored = [
      ...(await db
        .selectFrom('profile_tasks')
        .select('parameters')
        .where('profile_id', '=', profile.id)
        .execute()),
      await db.selectFrom('runs').select('spec').where('id', '=', run.id).executeTakeFirstOrThrow(),
      ...(await db.selectFrom('jobs').select('env').where('run_id', '=', run.id).execute()),
    ];
    expect(stored).toHaveLength(5);
    expect(JSON.stringify(stored)).not.toContain(secret.slice(0, 4));
    expect(JSON.stringify(stored)).not.toContain(hex);
  });

  it('profiles: an agent enrolling into a group with an auto profile gets the profile applied', async () => {
    const marker = path.join(dir, 'auto', 'enrolled.txt');
    const profile = await createProfile(server, owner, {
      tasks: [
        { name: 'mark', action: 'file_copy', destination: marker, content: 'enrolled' },
        commandTask('done', 'echo done'),
      ],
    });
    const group = await expectStatus(
      call(server, 'POST', '/api/v1/agent-groups', {
        token: owner.token,
        body: { name: 'auto-provisioned', auto_profile_id: profile.id },
      }),
      201,
    );
    const newAgent = (await fixture.enroll('second', { group_id: group.id })).id;
    const run = await eventually(
      async () => {
        const runs = await expectStatus(
          call(server, 'GET', '/api/v1/runs?limit=50', { token: owner.token }),
          200,
        );
        return runs.items.find(
          (r: any) =>
            r.source === 'profile' &&
            r.spec.profile_id === profile.id &&
            r.target.agent_ids?.[0] === newAgent,
        );
      },
      { what: 'the auto profile run', timeoutMs: 30_000 },
    );
    const finished = await finishedRun(server, owner, run.id);
    expect(finished).toMatchObject({ status: 'succeeded', counts: { total: 2, succeeded: 2 } });
    expect(states(await tasksOf(server, owner, run.id, newAgent))).toEqual([
      ['mark', 'succeeded', 0],
      ['done', 'succeeded', 0],
    ]);
    expect(readFileSync(marker, 'utf8')).toBe('enrolled');
    const agent = await expectStatus(
      call(server, 'GET', `/api/v1/agents/${newAgent}`, { token: owner.token }),
      200,
    );
    expect(agent).toMatchObject({ group_id: group.id, profile_id: profile.id });
    // The first agent, enrolled without the group, got nothing applied.
    const runs = await expectStatus(
      call(server, 'GET', '/api/v1/runs?limit=50', { token: owner.token }),
      200,
    );
    expect(runs.items.filter((r: any) => r.spec?.profile_id === profile.id)).toHaveLength(1);
  });
});
