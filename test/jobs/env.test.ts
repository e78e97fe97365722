import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../support/agents.js';
import { auditOf, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { createScript } from '../scripts/library.js';

const MASK = '********';
const SECRET = 'S3cr3t-value-$(id)-42';

/**
 * A job's environment: names follow one rule (the schema's, shown in /openapi.json, and the
 * agent's), values under secret-looking names and every `secret_env` value are sealed at rest,
 * shown masked, and opened only in the spec an agent claims.
 */
describe.each(dialects)('jobs: environment names and secrets on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'env');
  });
  afterAll(async () => {
    await server.close();
  });

  const createJob = (agentId: string, body: Record<string, unknown>) =>
    call(server, 'POST', `/api/v1/agents/${agentId}/jobs`, {
      token: owner.token,
      body: { interpreter: 'sh', command: 'env', ...body },
    });
  const createRun = (agentId: string, job: Record<string, unknown>) =>
    call(server, 'POST', '/api/v1/runs', {
      token: owner.token,
      body: { target: { agent_ids: [agentId] }, job: { interpreter: 'sh', command: 'env', ...job } },
    });
  const jobsOf = async (agentId: string) =>
    (await expectStatus(call(server, 'GET', `/api/v1/agents/${agentId}/jobs`, { token: owner.token }), 200))
      .items;
  const row = (id: string) =>
    server.database.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const specOf = async (agentId: string, jobId: string) =>
    (await server.app.services.jobs.claim(agentId)).find((s) => s.job_id === jobId);

  it('jobs: the names "A=B;id", "" and "lower-case" are refused (400 naming the field) in env and secret_env, and nothing is queued', async () => {
    const agentId = await createAgent(server, owner);
    for (const name of ['A=B;id', '', 'lower-case', '1ST', 'A B', 'X'.repeat(129)]) {
      for (const field of ['env', 'secret_env']) {
        const job = await createJob(agentId, { [field]: { [name]: 'x' } });
        expectError(job, 400, 'validation_failed');
        expect(job.body.error.details).toContainEqual({
          field: `body.${field}`,
          message: expect.any(String),
        });
        const run = await createRun(agentId, { [field]: { [name]: 'x' } });
        expectError(run, 400, 'validation_failed');
        expect(run.body.error.details).toContainEqual({
          field: `body.job.${field}`,
          message: expect.any(String),
        });
      }
    }
    expect(await jobsOf(agentId)).toEqual([]);
    const runs = await expectStatus(call(server, 'GET', '/api/v1/runs', { token: owner.token }), 200);
    expect(runs.items).toEqual([]);
  });

  it('jobs: lower-case and 128-character names are taken, and reach the agent as given', async () => {
    const agentId = await createAgent(server, owner);
    const long = `A${'b'.repeat(127)}`;
    const job = await expectStatus(
      createJob(agentId, { env: { lower_case: 'a', [long]: 'b', _x: 'c' } }),
      202,
    );
    expect(job.env).toEqual({ lower_case: 'a', [long]: 'b', _x: 'c' });
    expect((await specOf(agentId, job.id))?.env).toEqual({ lower_case: 'a', [long]: 'b', _x: 'c' });
  });

  it("jobs: FP_ names are Fleetplane's own, and a name given twice is refused (422 naming it)", async () => {
    const agentId = await createAgent(server, owner);
    const cases: [Record<string, unknown>, string][] = [
      [{ env: { FP_PARAM_HOST: 'x' } }, 'env.FP_PARAM_HOST'],
      [{ secret_env: { fp_secret_token: 'x' } }, 'secret_env.fp_secret_token'],
      [{ env: { TOKEN: 'a' }, secret_env: { TOKEN: 'b' } }, 'secret_env.TOKEN'],
      [{ env: { Path: 'a', PATH: 'b' } }, 'env.PATH'],
    ];
    for (const [body, field] of cases) {
      const job = await createJob(agentId, body);
      expectError(job, 422, 'unprocessable');
      expect(job.body.error.details).toContainEqual({ field, message: expect.any(String) });
      const run = await createRun(agentId, body);
      expectError(run, 422, 'unprocessable');
      expect(run.body.error.details).toContainEqual({ field: `job.${field}`, message: expect.any(String) });
    }
    const reserved = await createJob(agentId, { env: { FP_FILE_CONTENT: 'x' } });
    expect(reserved.body.error.details[0].message).toMatch(/reserved.*FP_/);
    expect(await jobsOf(agentId)).toEqual([]);
  });

  it('jobs: /openapi.json shows the name rule of env and secret_env on every body that takes them', async () => {
    const doc = await expectStatus(call(server, 'GET', '/openapi.json'), 200);
    const body = (path: string, method = 'post') =>
      doc.paths[path][method].requestBody.content['application/json'].schema;
    const rule = expect.objectContaining({
      propertyNames: expect.objectContaining({ pattern: '^[A-Za-z_][A-Za-z0-9_]{0,127}$' }),
    });
    const job = body('/api/v1/agents/{id}/jobs');
    expect(job.properties.env).toEqual(rule);
    expect(job.properties.secret_env).toEqual(rule);
    expect(body('/api/v1/runs').properties.job.properties.secret_env).toEqual(rule);
    expect(body('/api/v1/scripts/{id}/execute').properties.secret_env).toEqual(rule);
    expect(body('/api/v1/profiles/{id}/tasks').properties.secret_env).toEqual(rule);
    expect(body('/api/v1/profiles/{id}/tasks/{taskId}', 'patch').properties.secret_env).toEqual(rule);
    expect(JSON.stringify(body('/api/v1/schedules'))).toContain(
      '"secret_env":{"type":"object","propertyNames"',
    );
  });

  it('jobs: env under DB_PASS, PASSWD, CREDENTIALS, AUTH_HEADER reads back masked and is sealed in the row', async () => {
    const agentId = await createAgent(server, owner);
    const secretNames = [
      'DB_PASS',
      'PASSWD',
      'CREDENTIALS',
      'AUTH_HEADER',
      'DB_PASSWORD',
      'DB_PWD',
      'ssh_key',
    ];
    const plainNames = ['PWD', 'PASSENGER_COUNT', 'AUTHOR', 'REGION', 'CONCERT_HALL'];
    // Plain values are not the secret: an audit listing read by the next test holds them in clear.
    const env = Object.fromEntries([
      ...secretNames.map((name) => [name, `${SECRET}:${name}:`]),
      ...plainNames.map((name) => [name, `plain:${name}:`]),
    ]);
    const job = await expectStatus(createJob(agentId, { env }), 202);
    const shown = await expectStatus(
      call(server, 'GET', `/api/v1/jobs/${job.id}`, { token: owner.token }),
      200,
    );
    for (const view of [job.env, shown.env]) {
      for (const name of secretNames) expect(view[name], name).toBe(MASK);
      for (const name of plainNames) expect(view[name], name).toBe(env[name]);
    }
    const stored = JSON.parse((await row(job.id)).env);
    for (const name of secretNames) {
      expect(stored[name], name).toMatch(/^v1:/);
      expect(JSON.stringify(stored)).not.toContain(env[name]);
    }
    const [created] = await auditOf(server, owner, 'job', job.id);
    for (const name of secretNames) expect(created.after.env[name], name).toBe(MASK);
    expect((await specOf(agentId, job.id))?.env).toEqual(env);
  });

  it('jobs: secret_env is sealed in the row, masked in the job, run and audit, and opened into env for the agent', async () => {
    const agentId = await createAgent(server, owner);
    const job = await expectStatus(
      createJob(agentId, { env: { REGION: 'eu' }, secret_env: { DEPLOY_KEY: SECRET, PLAIN: '' } }),
      202,
    );
    expect(job).toMatchObject({ env: { REGION: 'eu' }, secret_env: { DEPLOY_KEY: MASK, PLAIN: MASK } });
    const run = await expectStatus(createRun(agentId, { secret_env: { DEPLOY_KEY: SECRET } }), 202);
    expect(run.spec.secret_env).toEqual({ DEPLOY_KEY: MASK });
    const replies = await Promise.all(
      [
        `/api/v1/jobs/${job.id}`,
        `/api/v1/agents/${agentId}/jobs`,
        `/api/v1/runs/${run.id}`,
        `/api/v1/runs/${run.id}/jobs`,
        '/api/v1/audit?limit=200',
      ].map((route) => expectStatus(call(server, 'GET', route, { token: owner.token }), 200)),
    );
    for (const reply of replies) expect(JSON.stringify(reply)).not.toContain(SECRET);
    expect(replies[0].secret_env).toEqual({ DEPLOY_KEY: MASK, PLAIN: MASK });
    expect(replies[3].items[0].secret_env).toEqual({ DEPLOY_KEY: MASK });
    const [jobCreated] = await auditOf(server, owner, 'job', job.id);
    expect(jobCreated.after.secret_env).toEqual({ DEPLOY_KEY: MASK, PLAIN: MASK });
    const [runCreated] = await auditOf(server, owner, 'run', run.id);
    expect(runCreated.after.spec.secret_env).toEqual({ DEPLOY_KEY: MASK });

    const runJob = replies[3].items[0];
    const db = server.database.db;
    const runRow = await db
      .selectFrom('runs')
      .select('spec')
      .where('id', '=', run.id)
      .executeTakeFirstOrThrow();
    for (const stored of [await row(job.id), await row(runJob.id)]) {
      expect(JSON.stringify(stored)).not.toContain(SECRET);
      expect(JSON.parse(stored.secret_env).DEPLOY_KEY).toMatch(/^v1:/);
    }
    expect(runRow.spec).not.toContain(SECRET);
    expect(JSON.parse(runRow.spec).secret_env.DEPLOY_KEY).toMatch(/^v1:/);
    const auditRows = await db.selectFrom('audit_events').selectAll().execute();
    expect(JSON.stringify(auditRows)).not.toContain(SECRET);

    // The run's job waits for its (offline) agent; the single job is claimed at once.
    expect((await specOf(agentId, job.id))?.env).toEqual({ REGION: 'eu', DEPLOY_KEY: SECRET, PLAIN: '' });
  });

  it('scripts: a script run takes a secret_env, masked in the job and opened for the agent; FP_ names are refused', async () => {
    const agentId = await createAgent(server, owner);
    const script = await createScript(server, owner);
    const run = (body: Record<string, unknown>) =>
      call(server, 'POST', `/api/v1/scripts/${script.id}/run`, {
        token: owner.token,
        body: { agent_id: agentId, parameters: { version: '1' }, ...body },
      });
    const job = await expectStatus(run({ secret_env: { RELEASE_TOKEN: SECRET } }), 202);
    expect(job.secret_env).toEqual({ RELEASE_TOKEN: MASK });
    expect((await row(job.id)).secret_env).not.toContain(SECRET);
    expect((await specOf(agentId, job.id))?.env).toMatchObject({
      FP_PARAM_VERSION: '1',
      RELEASE_TOKEN: SECRET,
    });
    const reserved = await run({ secret_env: { FP_PARAM_VERSION: '2' } });
    expectError(reserved, 422, 'unprocessable');
    expect(reserved.body.error.details).toContainEqual(
      expect.objectContaining({ field: 'secret_env.FP_PARAM_VERSION' }),
    );
  });
});
