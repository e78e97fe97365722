import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, ScriptedAgent } from '../support/agents.js';
import { call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { createScript } from '../scripts/library.js';
import { apply, commandTask, createProfile, finishedRun, getRun, tasksOf } from './support.js';

/** Three tasks; the second fails unless told otherwise. */
function threeTasks(continueOnError = false) {
  return [
    commandTask('one', 'echo one'),
    commandTask('two', 'exit 3', { continue_on_error: continueOnError }),
    commandTask('three', 'echo three'),
  ];
}

describe.each(dialects)('profiles: applying a profile on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'apply');
  });
  afterAll(async () => {
    await server.close();
  });

  const api = (method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: owner.token, ...(body === undefined ? {} : { body }) });
  const statuses = (jobs: any[]) => jobs.map((j) => [j.task_index, j.task_name, j.status]);

  it('profiles: an agent runs the tasks one at a time and stops at the first failure; the rest show skipped', async () => {
    const agent = await ScriptedAgent.enroll(server, owner);
    const profile = await createProfile(server, owner, { tasks: threeTasks() });
    const run = await apply(server, owner, profile.id, { agent_ids: [agent.id] });
    expect(run).toMatchObject({
      source: 'profile',
      name: profile.name,
      status: 'running',
      counts: { total: 1 },
    });
    expect(run.spec).toMatchObject({
      profile_id: profile.id,
      tasks: [
        { index: 0, name: 'one' },
        { index: 1, name: 'two' },
        { index: 2, name: 'three' },
      ],
    });

    const first = await agent.next();
    expect(first).toMatchObject({ interpreter: 'sh', command: 'echo one' });
    // One task at a time: nothing else is queued for the agent meanwhile.
    expect(await agent.poll()).toEqual([]);
    await agent.finish(first, 'succeeded', 0);
    const second = await agent.next();
    expect(second.command).toBe('exit 3');
    await agent.finish(second, 'failed', 3);

    const finished = await finishedRun(server, owner, run.id);
    expect(finished).toMatchObject({
      status: 'failed',
      counts: { total: 3, succeeded: 1, failed: 1, canceled: 1 },
    });
    const jobs = await tasksOf(server, owner, run.id, agent.id);
    expect(statuses(jobs)).toEqual([
      [0, 'one', 'succeeded'],
      [1, 'two', 'failed'],
      [2, 'three', 'canceled'],
    ]);
    expect(jobs[1].exit_code).toBe(3);
    expect(jobs[2]).toMatchObject({ error: 'skipped: task "two" failed', command: 'echo three', attempt: 0 });
    expect(await agent.poll()).toEqual([]);
  });

  it('profiles: a failing task with continue_on_error lets the next run, and the run shows every task', async () => {
    const agent = await ScriptedAgent.enroll(server, owner);
    const profile = await createProfile(server, owner, { tasks: threeTasks(true) });
    const run = await apply(server, owner, profile.id, { target: { agent_ids: [agent.id] } });
    await agent.finish(await agent.next(), 'succeeded', 0);
    await agent.finish(await agent.next(), 'failed', 3);
    const third = await agent.next();
    expect(third.command).toBe('echo three');
    await agent.finish(third, 'succeeded', 0);
    const finished = await finishedRun(server, owner, run.id);
    // The failure stays visible: the run counts it, as any run counts a failed job.
    expect(finished).toMatchObject({ status: 'failed', counts: { total: 3, succeeded: 2, failed: 1 } });
    expect(statuses(await tasksOf(server, owner, run.id, agent.id))).toEqual([
      [0, 'one', 'succeeded'],
      [1, 'two', 'failed'],
      [2, 'three', 'succeeded'],
    ]);
  });

  it('profiles: every task succeeding on two agents succeeds the run; concurrency 1 keeps the slot through the tasks', async () => {
    const a = await ScriptedAgent.enroll(server, owner);
    const b = await ScriptedAgent.enroll(server, owner);
    const profile = await createProfile(server, owner, {
      tasks: [commandTask('one', 'echo 1'), commandTask('two', 'echo 2')],
    });
    const run = await apply(server, owner, profile.id, { agent_ids: [a.id, b.id], concurrency: 1 });
    // The first agent admitted keeps its slot until its last task ends; the other waits.
    const fromA = await a.poll();
    const fromB = await b.poll();
    expect(fromA.length + fromB.length).toBe(1);
    const [holder, waiter, claimed] = fromA.length === 1 ? [a, b, fromA] : [b, a, fromB];
    await holder.finish(claimed[0], 'succeeded', 0);
    const next = await holder.next();
    expect(next.command).toBe('echo 2');
    expect(await waiter.poll()).toEqual([]);
    await holder.finish(next, 'succeeded', 0);
    await waiter.finish(await waiter.next(), 'succeeded', 0);
    await waiter.finish(await waiter.next(), 'succeeded', 0);
    const finished = await finishedRun(server, owner, run.id);
    expect(finished).toMatchObject({ status: 'succeeded', counts: { total: 4, succeeded: 4 } });
    for (const agent of [a, b])
      expect(statuses(await tasksOf(server, owner, run.id, agent.id))).toEqual([
        [0, 'one', 'succeeded'],
        [1, 'two', 'succeeded'],
      ]);
  });

  it('profiles: a run settled as finished while an agent is between two tasks is reopened and goes on', async () => {
    const agent = await ScriptedAgent.enroll(server, owner);
    const profile = await createProfile(server, owner, {
      tasks: [commandTask('one', 'echo 1'), commandTask('two', 'echo 2')],
    });
    const run = await apply(server, owner, profile.id, { agent_ids: [agent.id] });
    const first = await agent.next();
    // The race, made to happen: the job ends, and a settle pass (another job's result, say)
    // closes the run before the follow-up of this job has queued the next task. The follow-up is
    // held back until that pass is over; everything else goes through the engine.
    const sequencer = server.app.services.profileSequencer;
    const followUp = sequencer.followUp.bind(sequencer);
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    sequencer.followUp = async (job) => {
      await released;
      return followUp(job);
    };
    try {
      const finishing = agent.finish(first, 'succeeded', 0);
      await eventually(
        async () =>
          (await expectStatus(api('GET', `/api/v1/jobs/${first.job_id}`), 200)).status === 'succeeded',
        { what: 'the first task to succeed' },
      );
      await server.app.services.runs.settle(run.id);
      expect(await finishedRun(server, owner, run.id)).toMatchObject({ status: 'succeeded' });
      release();
      await finishing;
    } finally {
      sequencer.followUp = followUp;
    }
    expect(await getRun(server, owner, run.id)).toMatchObject({ status: 'running', finished_at: null });
    const second = await agent.next();
    expect(second.command).toBe('echo 2');
    await agent.finish(second, 'succeeded', 0);
    expect(await finishedRun(server, owner, run.id)).toMatchObject({
      status: 'succeeded',
      counts: { total: 2, succeeded: 2 },
    });
  });

  it('profiles: canceling the run mid-way ends the task under way and records the rest as skipped', async () => {
    const agent = await ScriptedAgent.enroll(server, owner);
    const profile = await createProfile(server, owner, { tasks: threeTasks() });
    const run = await apply(server, owner, profile.id, { agent_ids: [agent.id] });
    const first = await agent.next();
    await expectStatus(api('POST', `/api/v1/runs/${run.id}/cancel`), 202);
    await agent.finish(first, 'canceled', null);
    const finished = await finishedRun(server, owner, run.id);
    expect(finished.status).toBe('canceled');
    const jobs = await tasksOf(server, owner, run.id, agent.id);
    expect(statuses(jobs)).toEqual([
      [0, 'one', 'canceled'],
      [1, 'two', 'canceled'],
      [2, 'three', 'canceled'],
    ]);
    expect(jobs[1].error).toBe('skipped: the run is canceled');
    expect(await agent.poll()).toEqual([]);
  });

  it('profiles: script tasks run the script as it is at apply time, with its parameters as env', async () => {
    const agent = await ScriptedAgent.enroll(server, owner);
    const script = await createScript(server, owner, {
      content: 'echo "$FP_PARAM_VERSION"',
      timeout_seconds: 77,
    });
    const profile = await createProfile(server, owner, {
      tasks: [{ name: 'deploy', action: 'script', script_id: script.id, parameters: { version: '9.9' } }],
    });
    const run = await apply(server, owner, profile.id, { agent_ids: [agent.id] });
    // An edit after the apply does not change the run under way.
    await expectStatus(api('PATCH', `/api/v1/scripts/${script.id}`, { content: 'echo changed' }), 200);
    const job = await agent.next();
    expect(job).toMatchObject({
      interpreter: 'bash',
      command: 'echo "$FP_PARAM_VERSION"',
      timeout_seconds: 77,
      env: { FP_PARAM_VERSION: '9.9', FP_PARAM_STAGE: 'dev' },
    });
    await agent.finish(job, 'succeeded', 0);
    expect((await finishedRun(server, owner, run.id)).status).toBe('succeeded');
    const [view] = await tasksOf(server, owner, run.id, agent.id);
    expect(view).toMatchObject({ script_id: script.id, script_version: 1, task_name: 'deploy' });

    // The script now requires what the task does not give: applying again is refused before anything is queued.
    await expectStatus(
      api('PATCH', `/api/v1/scripts/${script.id}`, {
        parameters: [{ name: 'region', type: 'string', required: true }],
      }),
      200,
    );
    const refused = await api('POST', `/api/v1/profiles/${profile.id}/apply`, { agent_ids: [agent.id] });
    expectError(refused, 422, 'unprocessable');
    expect(refused.body.error.details.map((d: any) => d.field).sort()).toEqual([
      'tasks.0.parameters.region',
      'tasks.0.parameters.version',
    ]);
  });

  it('profiles: reboot and file_copy run as the command for each agent OS, their inputs as env', async () => {
    const linux = await createAgent(server, owner, 'ubuntu');
    const windows = await createAgent(server, owner, 'windows');
    const profile = await createProfile(server, owner, {
      tasks: [
        { name: 'reboot', action: 'reboot' },
        { name: 'motd', action: 'file_copy', destination: '/etc/motd', content: 'hello $(whoami)' },
      ],
    });
    const run = await apply(server, owner, profile.id, { agent_ids: [linux, windows] });
    const [onLinux] = await tasksOf(server, owner, run.id, linux);
    const [onWindows] = await tasksOf(server, owner, run.id, windows);
    expect(onLinux).toMatchObject({ interpreter: 'sh', command: 'shutdown -r now', status: 'queued' });
    expect(onWindows).toMatchObject({ interpreter: 'cmd', command: 'shutdown /r /t 0', status: 'queued' });
    expect(run.spec.tasks[1]).toMatchObject({
      action: 'file_copy',
      file: { destination: '/etc/motd', content: 'hello $(whoami)', source_url: null },
    });
    await expectStatus(api('POST', `/api/v1/runs/${run.id}/cancel`), 202);
  });

  it('profiles: apply is refused (422) before anything is queued: wrong OS, missing interpreter, no tasks, no target', async () => {
    const ubuntu = await ScriptedAgent.enroll(server, owner, { interpreters: ['bash', 'sh'] });
    const windows = await ScriptedAgent.enroll(server, owner, {
      os_type: 'windows',
      interpreters: ['powershell', 'cmd'],
    });
    const runsBefore = (await expectStatus(api('GET', '/api/v1/runs?limit=200'), 200)).items.length;

    const linuxOnly = await createProfile(server, owner, {
      target_os_type: 'linux',
      tasks: [commandTask('a', 'true')],
    });
    const wrongOs = await api('POST', `/api/v1/profiles/${linuxOnly.id}/apply`, {
      agent_ids: [ubuntu.id, windows.id],
    });
    expectError(wrongOs, 422, 'unprocessable');
    expect(wrongOs.body.error.details).toEqual([
      { field: 'target_os_type', message: 'agent runs windows', agent_id: windows.id },
    ]);

    const python = await createProfile(server, owner, {
      tasks: [commandTask('a', 'true'), commandTask('b', 'print(1)', { interpreter: 'python' })],
    });
    const noPython = await api('POST', `/api/v1/profiles/${python.id}/apply`, { agent_ids: [ubuntu.id] });
    expectError(noPython, 422, 'unprocessable');
    expect(noPython.body.error.details).toMatchObject([{ field: 'tasks.1', task: 'b' }]);

    const empty = await createProfile(server, owner);
    expectError(
      await api('POST', `/api/v1/profiles/${empty.id}/apply`, { agent_ids: [ubuntu.id] }),
      422,
      'unprocessable',
    );
    const both = { agent_ids: [ubuntu.id], target: { all: true } };
    expectError(await api('POST', `/api/v1/profiles/${linuxOnly.id}/apply`, both), 422, 'unprocessable');
    expectError(await api('POST', `/api/v1/profiles/${linuxOnly.id}/apply`, {}), 422, 'unprocessable');
    const other = await signup(server, 'other');
    const foreignAgent = await createAgent(server, other);
    expectError(
      await api('POST', `/api/v1/profiles/${linuxOnly.id}/apply`, { agent_ids: [foreignAgent] }),
      422,
      'unprocessable',
    );
    expect((await expectStatus(api('GET', '/api/v1/runs?limit=200'), 200)).items.length).toBe(runsBefore);
    expect(await ubuntu.poll()).toEqual([]);
    // The same profile on a matching selector is fine.
    const run = await apply(server, owner, linuxOnly.id, { target: { os_type: 'ubuntu' } });
    expect((await getRun(server, owner, run.id)).counts.total).toBeGreaterThanOrEqual(1);
  });
});
