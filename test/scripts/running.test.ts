import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../support/agents.js';
import { call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { createScript } from './library.js';

const SECRET = 'tok-S3CRET-value-42';

describe.each(dialects)('scripts: running on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let agentId: string;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'runner');
    agentId = await createAgent(server, owner, 'ubuntu');
  });
  afterAll(async () => {
    await server.close();
  });

  const run = (scriptId: string, body: Record<string, unknown>, session = owner) =>
    call(server, 'POST', `/api/v1/scripts/${scriptId}/run`, { token: session.token, body });
  const execute = (scriptId: string, body: Record<string, unknown>, session = owner) =>
    call(server, 'POST', `/api/v1/scripts/${scriptId}/execute`, { token: session.token, body });
  const jobsOf = async (agent: string) =>
    (await expectStatus(call(server, 'GET', `/api/v1/agents/${agent}/jobs`, { token: owner.token }), 200))
      .items;

  it('scripts: a run on one agent is a job of the script text, its version and its parameters as env', async () => {
    const script = await createScript(server, owner);
    const job = await expectStatus(
      run(script.id, { agent_id: agentId, parameters: { version: '1.2.3' } }),
      202,
    );
    expect(job).toMatchObject({
      agent_id: agentId,
      status: 'queued',
      interpreter: 'bash',
      command: script.content,
      script_id: script.id,
      script_version: 1,
      timeout_seconds: 120,
      env: {
        FP_PARAM_VERSION: '1.2.3',
        FP_PARAM_REPLICAS: '2',
        FP_PARAM_DRY_RUN: 'false',
        FP_PARAM_STAGE: 'dev',
      },
    });
    // The optional secret was not given and has no default: it is not set at all.
    expect(Object.keys(job.env)).not.toContain('FP_SECRET_API_TOKEN');

    await expectStatus(
      call(server, 'PATCH', `/api/v1/scripts/${script.id}`, {
        token: owner.token,
        body: { content: 'echo v2' },
      }),
      200,
    );
    const second = await expectStatus(
      run(script.id, {
        agent_id: agentId,
        parameters: { version: '2', replicas: 5, dry_run: true, stage: 'prod' },
        timeout_seconds: 9,
      }),
      202,
    );
    expect(second).toMatchObject({ command: 'echo v2', script_version: 2, timeout_seconds: 9 });
    expect(second.env).toMatchObject({
      FP_PARAM_REPLICAS: '5',
      FP_PARAM_DRY_RUN: 'true',
      FP_PARAM_STAGE: 'prod',
    });
    const first = await expectStatus(
      call(server, 'GET', `/api/v1/jobs/${job.id}`, { token: owner.token }),
      200,
    );
    expect(first).toMatchObject({ command: script.content, script_version: 1 });
  });

  it('scripts: missing, mistyped and unknown parameters are 422 per parameter, and nothing is queued', async () => {
    const script = await createScript(server, owner);
    const agent = await createAgent(server, owner);
    const reply = await run(script.id, {
      agent_id: agent,
      parameters: { replicas: '3', dry_run: 'yes', stage: 'staging', colour: 'red' },
    });
    expectError(reply, 422, 'unprocessable');
    expect(reply.body.error.details).toEqual([
      { field: 'parameters.colour', message: 'unknown parameter' },
      { field: 'parameters.version', message: 'is required' },
      { field: 'parameters.replicas', message: 'must be a number', type: 'number' },
      { field: 'parameters.dry_run', message: 'must be true or false', type: 'boolean' },
      { field: 'parameters.stage', message: 'must be one of: dev, prod', type: 'enum' },
    ]);
    const wrongSecret = await run(script.id, { agent_id: agent, parameters: { version: '1', api_token: 7 } });
    expectError(wrongSecret, 422, 'unprocessable');
    // A NUL is refused at the validation edge, before the parameters are checked.
    const nul = await run(script.id, { agent_id: agent, parameters: { version: 'a\u0000b' } });
    expectError(nul, 400, 'validation_failed');
    expect(nul.body.error.details.map((d: any) => d.field)).toContain('body.parameters.version');
    const many = await execute(script.id, { target: { agent_ids: [agent] }, parameters: { version: 1 } });
    expectError(many, 422, 'unprocessable');
    expect(many.body.error.details).toEqual([
      { field: 'parameters.version', message: 'must be a string', type: 'string' },
    ]);

    for (const body of [
      { parameters: { version: '1' } },
      { agent_id: agent, parameters: { version: null } },
      { agent_id: agent, parameters: { version: { nested: true } } },
      { agent_id: agent, parameters: { version: '1' }, command: 'id' },
      { agent_id: agent, timeout_seconds: 0 },
    ])
      expectError(await run(script.id, body), 400, 'validation_failed');
    expectError(await execute(script.id, { target: {} }), 400, 'validation_failed');
    expect(await jobsOf(agent)).toEqual([]);
  });

  it('scripts: a script for another OS is 422 on a mismatched agent, for a run and for a fan-out', async () => {
    const windows = await createAgent(server, owner, 'windows');
    const script = await createScript(server, owner, { target_os_type: 'linux', parameters: [] });
    const single = await run(script.id, { agent_id: windows });
    expectError(single, 422, 'unprocessable');
    expect(single.body.error.details).toEqual([{ field: 'target_os_type', message: expect.any(String) }]);
    expectError(await execute(script.id, { target: { agent_ids: [windows] } }), 422, 'unprocessable');
    expect(await jobsOf(windows)).toEqual([]);
    const linux = await expectStatus(run(script.id, { agent_id: agentId }), 202);
    expect(linux.script_id).toBe(script.id);
  });

  it('scripts: execute fans the script out as a run whose jobs record the version; saved commands say so', async () => {
    const org = await signup(server, 'fanout');
    const agents = [
      await createAgent(server, org, 'ubuntu', ['web']),
      await createAgent(server, org, 'debian', ['web']),
    ];
    const script = await createScript(server, org, { name: 'fan script' });
    const created = await expectStatus(
      execute(script.id, { target: { tags: ['web'] }, parameters: { version: '7' }, concurrency: 1 }, org),
      202,
    );
    expect(created).toMatchObject({
      name: 'fan script',
      source: 'script',
      concurrency: 1,
      status: 'running',
    });
    expect(created.counts.total).toBe(2);
    const jobs = await expectStatus(
      call(server, 'GET', `/api/v1/runs/${created.id}/jobs`, { token: org.token }),
      200,
    );
    expect(jobs.items.map((j: { agent_id: string }) => j.agent_id).sort()).toEqual([...agents].sort());
    for (const job of jobs.items)
      expect(job).toMatchObject({ script_id: script.id, script_version: 1, env: { FP_PARAM_VERSION: '7' } });

    const command = await createScript(server, org, {
      name: 'uptime',
      kind: 'command',
      content: 'uptime',
      parameters: [],
    });
    const quick = await expectStatus(
      execute(command.id, { target: { agent_ids: agents }, name: 'quick look' }, org),
      202,
    );
    expect(quick).toMatchObject({ name: 'quick look', source: 'command', counts: { total: 2 } });
  });

  it('scripts: secret parameters reach the job but show masked in the job, the run and the audit log', async () => {
    const script = await createScript(server, owner);
    const parameters = { version: '1', api_token: SECRET };
    const job = await expectStatus(run(script.id, { agent_id: agentId, parameters }), 202);
    expect(job.env.FP_SECRET_API_TOKEN).toBe('********');
    const fanned = await expectStatus(
      execute(script.id, { target: { agent_ids: [agentId] }, parameters }),
      202,
    );
    expect(fanned.spec.env.FP_SECRET_API_TOKEN).toBe('********');
    const replies = await Promise.all(
      [
        `/api/v1/jobs/${job.id}`,
        `/api/v1/runs/${fanned.id}`,
        `/api/v1/runs/${fanned.id}/jobs`,
        '/api/v1/runs',
        `/api/v1/agents/${agentId}/jobs?limit=200`,
        '/api/v1/audit?limit=200',
      ].map((route) => call(server, 'GET', route, { token: owner.token })),
    );
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(JSON.stringify(reply.body)).not.toContain(SECRET);
    }
    // The mask itself is asserted: a stored value is sealed, so an answer that forgot to mask it
    // would not hold the clear value either.
    const [one, fannedRun, fannedJobs, runs, agentJobs, audit] = replies.map((r) => r.body);
    const envs = [
      one.env,
      fannedRun.spec.env,
      ...fannedJobs.items.map((j: any) => j.env),
      runs.items.find((r: { id: string }) => r.id === fanned.id).spec.env,
      agentJobs.items.find((j: { id: string }) => j.id === job.id).env,
      ...audit.items
        .filter((e: any) => e.entity_id === job.id || e.entity_id === fanned.id)
        .map((e: any) => e.after.env ?? e.after.spec.env),
    ];
    expect(envs.length).toBeGreaterThanOrEqual(7);
    for (const env of envs) expect(env.FP_SECRET_API_TOKEN).toBe('********');
    // At rest the value is sealed; only the job spec an agent claims holds it in clear.
    const db = server.database.db;
    const stored = await db
      .selectFrom('jobs')
      .select('env')
      .where('id', '=', job.id)
      .executeTakeFirstOrThrow();
    const spec = await db
      .selectFrom('runs')
      .select('spec')
      .where('id', '=', fanned.id)
      .executeTakeFirstOrThrow();
    expect(stored.env + spec.spec).not.toContain(SECRET);
    expect(JSON.parse(stored.env).FP_SECRET_API_TOKEN).toMatch(/^v1:/);
    const claimed = await server.app.services.jobs.claim(agentId);
    expect(claimed.find((s) => s.job_id === job.id)?.env.FP_SECRET_API_TOKEN).toBe(SECRET);
  });

  it('jobs: env values under secret-looking names are sealed at rest and opened only for the agent', async () => {
    const agent = await createAgent(server, owner, 'ubuntu');
    const job = await expectStatus(
      call(server, 'POST', `/api/v1/agents/${agent}/jobs`, {
        token: owner.token,
        body: { command: 'env', interpreter: 'sh', env: { DB_PASSWORD: SECRET, REGION: 'eu' } },
      }),
      202,
    );
    expect(job.env).toEqual({ DB_PASSWORD: '********', REGION: 'eu' });
    const stored = await server.database.db
      .selectFrom('jobs')
      .select('env')
      .where('id', '=', job.id)
      .executeTakeFirstOrThrow();
    expect(stored.env).not.toContain(SECRET);
    expect(JSON.parse(stored.env)).toMatchObject({ REGION: 'eu' });
    const [spec] = await server.app.services.jobs.claim(agent);
    expect(spec).toMatchObject({ job_id: job.id, env: { DB_PASSWORD: SECRET, REGION: 'eu' } });
  });

  it("scripts: another organisation's script is 404 on every script route, and stays as it was", async () => {
    const other = await signup(server, 'other');
    const theirs = await createScript(server, other, { name: 'their script' });
    const theirAgent = await createAgent(server, other);
    const mine = await createScript(server, owner, { parameters: [] });
    const attempts = [
      call(server, 'GET', `/api/v1/scripts/${theirs.id}`, { token: owner.token }),
      call(server, 'PATCH', `/api/v1/scripts/${theirs.id}`, {
        token: owner.token,
        body: { content: 'rm -rf /' },
      }),
      call(server, 'DELETE', `/api/v1/scripts/${theirs.id}`, { token: owner.token }),
      call(server, 'GET', `/api/v1/scripts/${theirs.id}/versions`, { token: owner.token }),
      call(server, 'GET', `/api/v1/scripts/${theirs.id}/versions/1`, { token: owner.token }),
      run(theirs.id, { agent_id: agentId, parameters: { version: '1' } }),
      execute(theirs.id, { target: { agent_ids: [agentId] }, parameters: { version: '1' } }),
      // My script on their agent: the agent is not found either.
      run(mine.id, { agent_id: theirAgent }),
    ];
    for (const reply of await Promise.all(attempts)) {
      expectError(reply, 404, 'not_found');
      expect(JSON.stringify(reply.body)).not.toContain('their script');
    }
    expectError(await execute(mine.id, { target: { agent_ids: [theirAgent] } }), 422, 'unprocessable');
    const listed = await expectStatus(
      call(server, 'GET', '/api/v1/scripts?limit=200', { token: owner.token }),
      200,
    );
    expect(listed.items.map((s: { id: string }) => s.id)).not.toContain(theirs.id);
    const after = await expectStatus(
      call(server, 'GET', `/api/v1/scripts/${theirs.id}`, { token: other.token }),
      200,
    );
    expect(after).toEqual(theirs);
    expect(await jobsOf(agentId)).not.toContainEqual(expect.objectContaining({ script_id: theirs.id }));
  });
});
