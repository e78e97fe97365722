import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildZip, upload } from '../packages/zips.js';
import { ServerWithAgents, jobOutput } from '../support/agents.js';
import { auditOf, call, expectError, expectStatus, signup } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects } from '../support/harness.js';

/** A node entry point that reads its input, its assets and who runs it, and writes its JSON result. */
const MAIN = `
import { readFileSync, writeFileSync } from 'node:fs';
const input = JSON.parse(readFileSync(process.env.FP_INPUT_FILE, 'utf8'));
const assets = JSON.parse(readFileSync(process.env.FP_ASSETS_FILE, 'utf8'));
console.log('doubling ' + input.count + ' as ' + process.env.FP_ROBOT_NAME);
writeFileSync(process.env.FP_OUTPUT_FILE, JSON.stringify({
  doubled: input.count * 2,
  robot: process.env.FP_ROBOT_NAME,
  greeting: assets.greeting ?? null,
  cwd_has_manifest: (() => { try { readFileSync('fleetplane.json'); return true; } catch { return false; } })(),
}));
`;

const FAILING = `console.error('no invoices today'); process.exit(3);`;

/** Takes the items of the queue that started it, as its robot, until none is left; keeps its token to show it dies with the job. */
const DRAIN = `
import { writeFileSync } from 'node:fs';
const base = process.env.FP_SERVER_URL.replace(/\\/$/, '');
const headers = { 'x-robot-token': process.env.FP_ROBOT_TOKEN };
let done = 0;
for (;;) {
  const claim = await fetch(base + '/api/v1/runner/queues/' + process.env.FP_QUEUE_ID + '/items/claim', { method: 'POST', headers });
  if (claim.status === 204) break;
  if (claim.status !== 200) throw new Error('claim answered ' + claim.status);
  const item = await claim.json();
  const reply = await fetch(base + '/api/v1/runner/queue-items/' + item.id + '/complete', {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ output: { doubled: item.content.n * 2 } }),
  });
  if (reply.status !== 200) throw new Error('complete answered ' + reply.status);
  done += 1;
}
writeFileSync(process.env.FP_OUTPUT_FILE, JSON.stringify({ done, token: process.env.FP_ROBOT_TOKEN }));
`;

async function invoicePackage(version: string): Promise<Buffer> {
  const manifest = {
    name: 'invoice-bot',
    version,
    entry_points: [
      {
        name: 'main',
        path: 'bin/main.mjs',
        language: 'node',
        input_schema: {
          type: 'object',
          properties: { count: { type: 'integer', minimum: 1 }, queue_id: { type: 'string' } },
          required: ['count'],
        },
      },
      { name: 'failing', path: 'bin/failing.mjs', language: 'node' },
      { name: 'drain', path: 'bin/drain.mjs', language: 'node' },
    ],
  };
  return buildZip([
    { name: 'fleetplane.json', data: JSON.stringify(manifest) },
    { name: 'bin/main.mjs', data: MAIN },
    { name: 'bin/failing.mjs', data: FAILING },
    { name: 'bin/drain.mjs', data: DRAIN },
  ]);
}

/**
 * Process jobs end to end: a package built here, uploaded, published as a process and run by a
 * real agent's robot (fetched by hash, unpacked, run with its input and its declared asset), with
 * its JSON result; pooled on the robot's pool; refused input; a runner robot over the runner API;
 * reassigning and ending by hand, every move audited.
 */
describe.each(dialects)('process jobs on %s', (dialect) => {
  let env: ServerWithAgents;
  let token: string;
  let robot: any;
  let process: any;
  const api = (method: string, route: string, body?: unknown) =>
    call(env.server, method, route, { token, body });
  const finalJob = (id: string) =>
    eventually(
      async () => {
        const job = await expectStatus(api('GET', `/api/v1/process-jobs/${id}`), 200);
        return ['succeeded', 'failed', 'timed_out', 'canceled', 'lost'].includes(job.status)
          ? job
          : undefined;
      },
      { timeoutMs: 60_000, what: `process job ${id} to end` },
    );

  beforeAll(async () => {
    env = await ServerWithAgents.start(dialect, 'rpa');
    token = env.owner.token;
    await expectStatus(upload(env.server, token, await invoicePackage('1.0.0')), 201);
    await expectStatus(
      api('POST', '/api/v1/assets', { name: 'greeting', type: 'text', value: 'hello from the vault' }),
      201,
    );
    process = await expectStatus(
      api('POST', '/api/v1/processes', {
        name: 'double invoices',
        package_name: 'invoice-bot',
        entry_point: 'main',
        default_input: { count: 1 },
        robot_pool: 'finance',
        assets: ['greeting'],
      }),
      201,
    );
    robot = (
      await expectStatus(
        api('POST', '/api/v1/robots', {
          name: 'finance-1',
          kind: 'agent',
          agent_id: env.agent.id,
          pools: ['finance'],
        }),
        201,
      )
    ).robot;
  }, 120_000);
  afterAll(async () => {
    await env?.close();
  });

  it("runs on the robot's agent with its input and declared asset, and keeps the JSON result and the output", async () => {
    const created = await expectStatus(
      api('POST', '/api/v1/process-jobs', {
        process_id: process.id,
        robot_id: robot.id,
        input: { count: 21 },
      }),
      201,
    );
    expect(created).toMatchObject({
      status: 'queued',
      robot_id: robot.id,
      package_version: '1.0.0',
      pooled: false,
    });
    const job = await finalJob(created.id);
    expect(job.status).toBe('succeeded');
    expect(job.result).toEqual({
      doubled: 42,
      robot: 'finance-1',
      greeting: 'hello from the vault',
      cwd_has_manifest: true,
    });
    expect(job.process_version).toBe(1);
    expect(await jobOutput(env.server, env.owner, job.id)).toContain('doubling 21 as finance-1');
    // the robot is free again
    const after = await expectStatus(api('GET', `/api/v1/robots/${robot.id}`), 200);
    expect(after).toMatchObject({ status: 'online', current_job_id: null });
  });

  it("a pooled job is taken by a free robot of the process's pool", async () => {
    const created = await expectStatus(api('POST', '/api/v1/process-jobs', { process_id: process.id }), 201);
    expect(created).toMatchObject({ pooled: true, robot_pool: 'finance', robot_id: null });
    const job = await finalJob(created.id);
    expect(job).toMatchObject({ status: 'succeeded', robot_id: robot.id, result: { doubled: 2 } });
  });

  it('input is checked against the entry point schema: 422 per field, nothing queued', async () => {
    const before = (await expectStatus(api('GET', '/api/v1/process-jobs?limit=200'), 200)).items.length;
    const reply = await api('POST', '/api/v1/process-jobs', {
      process_id: process.id,
      input: { count: 'many' },
    });
    expectError(reply, 422, 'unprocessable');
    expect(JSON.stringify(reply.body.error.details)).toContain('count');
    expect((await expectStatus(api('GET', '/api/v1/process-jobs?limit=200'), 200)).items.length).toBe(before);
  });

  it('a process that exits non-zero fails with its exit code; every move of it is audited', async () => {
    const failing = await expectStatus(
      api('POST', '/api/v1/processes', {
        name: 'failing invoices',
        package_name: 'invoice-bot',
        entry_point: 'failing',
        robot_pool: 'finance',
      }),
      201,
    );
    const created = await expectStatus(
      api('POST', '/api/v1/process-jobs', { process_id: failing.id, robot_id: robot.id }),
      201,
    );
    const job = await finalJob(created.id);
    expect(job).toMatchObject({ status: 'failed', exit_code: 3, result: null });
    const events = await eventually(
      async () => {
        const all = await auditOf(env.server, env.owner, 'process_job', job.id);
        return all.length >= 4 ? all : undefined;
      },
      { what: 'the audit events of the job' },
    );
    const moves = events
      .filter((e: any) => e.action === 'status_changed')
      .map((e: any) => `${e.before.status}>${e.after.status}`);
    expect(moves).toEqual(
      expect.arrayContaining(['queued>dispatched', 'dispatched>running', 'running>failed']),
    );
    expect(events.some((e: any) => e.action === 'created')).toBe(true);
  });

  it("a failed job is run again as a new job until the process's max_attempts have run", async () => {
    const flaky = await expectStatus(
      api('POST', '/api/v1/processes', {
        name: 'retried invoices',
        package_name: 'invoice-bot',
        entry_point: 'failing',
        robot_pool: 'finance',
        max_attempts: 2,
      }),
      201,
    );
    const first = await expectStatus(api('POST', '/api/v1/process-jobs', { process_id: flaky.id }), 201);
    expect((await finalJob(first.id)).status).toBe('failed');
    const chain = await eventually(
      async () => {
        const jobs = (await expectStatus(api('GET', `/api/v1/process-jobs?process_id=${flaky.id}`), 200))
          .items;
        return jobs.length === 2 ? jobs : undefined;
      },
      { what: 'the retry to be created' },
    );
    const retry = chain.find((job: any) => job.id !== first.id);
    expect(retry).toMatchObject({ retry_of: first.id, retry_number: 1, pooled: true });
    expect((await finalJob(retry.id)).status).toBe('failed');
    // two jobs ran: no third
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(
      (await expectStatus(api('GET', `/api/v1/process-jobs?process_id=${flaky.id}`), 200)).items,
    ).toHaveLength(2);
  });

  it("a queue's trigger starts a process on the agent robot, which drains the queue as its robot with its job's token", async () => {
    const drainer = await expectStatus(
      api('POST', '/api/v1/processes', {
        name: 'drain invoices',
        package_name: 'invoice-bot',
        entry_point: 'drain',
        robot_pool: 'finance',
      }),
      201,
    );
    const queue = await expectStatus(
      api('POST', '/api/v1/queues', {
        name: 'to drain',
        trigger_process_id: drainer.id,
        trigger_max_jobs: 1,
      }),
      201,
    );
    const items = Array.from({ length: 20 }, (_, n) => ({ content: { n } }));
    await expectStatus(api('POST', `/api/v1/queues/${queue.id}/items/bulk`, { items }), 201);
    await env.server.app.services.queueSweeper.sweep();
    const [started] = (await expectStatus(api('GET', `/api/v1/process-jobs?process_id=${drainer.id}`), 200))
      .items;
    expect(started).toMatchObject({ queue_id: queue.id, pooled: true });
    const job = await finalJob(started.id);
    expect(job).toMatchObject({ status: 'succeeded', robot_id: robot.id, result: { done: 20 } });
    const stats = await expectStatus(api('GET', `/api/v1/queues/${queue.id}/stats`), 200);
    expect(stats.counts).toMatchObject({ new: 0, successful: 20 });
    const taken = await expectStatus(api('GET', `/api/v1/queues/${queue.id}/items?limit=200`), 200);
    expect(new Set(taken.items.map((item: any) => item.robot_id))).toEqual(new Set([robot.id]));
    // the token died with its job
    const late = await call(env.server, 'POST', `/api/v1/runner/queues/${queue.id}/items/claim`, {
      headers: { 'x-robot-token': job.result.token },
    });
    expectError(late, 401, 'unauthorized');
    // and is no token of anything else: the job's id with another signature is refused
    const forged = `${String(job.result.token).split('.')[0]}.${'A'.repeat(43)}`;
    expectError(
      await call(env.server, 'GET', '/api/v1/runner/me', { headers: { 'x-robot-token': forged } }),
      401,
      'unauthorized',
    );
  });

  it('a runner robot claims its job over the runner API with its token, and reports the result', async () => {
    const runner = await expectStatus(
      api('POST', '/api/v1/robots', { name: 'python-runner', kind: 'runner', pools: ['finance'] }),
      201,
    );
    const registered = await expectStatus(
      call(env.server, 'POST', '/api/v1/runner/register', {
        body: { name: 'python-runner', machine_key: runner.machine_key },
      }),
      200,
    );
    const robotToken = registered.robot_token as string;
    const asRunner = (method: string, route: string, body?: unknown) =>
      call(env.server, method, route, { body, headers: { 'x-robot-token': robotToken } });
    // nothing for it yet
    expect((await asRunner('POST', '/api/v1/runner/jobs/claim')).status).toBe(204);
    // the global value of an asset is not the runner's to read while no job of its declares it
    expectError(await asRunner('GET', '/api/v1/runner/assets/greeting'), 403, 'forbidden');
    const created = await expectStatus(
      api('POST', '/api/v1/process-jobs', {
        process_id: process.id,
        robot_id: runner.robot.id,
        input: { count: 5 },
      }),
      201,
    );
    const { job: spec } = await expectStatus(asRunner('POST', '/api/v1/runner/jobs/claim'), 200);
    expect(spec).toMatchObject({
      job_id: created.id,
      kind: 'process',
      process: {
        entry_point: 'bin/main.mjs',
        input: { count: 5 },
        assets: { greeting: 'hello from the vault' },
      },
    });
    // it fetches the package its spec names, and gets the bytes of that hash
    const zip = await fetch(`${env.server.url}/api/v1/runner/packages/${spec.process.package_hash}`, {
      headers: { 'x-robot-token': robotToken },
    });
    expect(zip.status).toBe(200);
    const bytes = Buffer.from(await zip.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(spec.process.package_hash);
    // holding a job whose process declares it, it may, and the read is audited
    expect(await expectStatus(asRunner('GET', '/api/v1/runner/assets/greeting'), 200)).toEqual({
      name: 'greeting',
      type: 'text',
      value: 'hello from the vault',
    });
    const reads = await expectStatus(
      api('GET', `/api/v1/audit?action=asset_read&actor_id=${runner.robot.id}`),
      200,
    );
    expect(reads.items).toHaveLength(1);
    expect(JSON.stringify(reads.items)).not.toContain('hello from the vault');
    const base = { job_id: spec.job_id, attempt: spec.attempt };
    const { acks } = await expectStatus(
      asRunner('POST', `/api/v1/runner/jobs/${spec.job_id}/events`, {
        events: [
          { type: 'ack', ...base },
          { type: 'output', ...base, seq: 0, stream: 'stdout', data: 'working\n' },
          {
            type: 'result',
            ...base,
            status: 'succeeded',
            exit_code: 0,
            duration_ms: 12,
            output: { doubled: 10 },
          },
        ],
      }),
      200,
    );
    expect(acks.map((a: any) => a.outcome)).toEqual(['applied', 'applied', 'applied']);
    const job = await expectStatus(api('GET', `/api/v1/process-jobs/${created.id}`), 200);
    expect(job).toMatchObject({ status: 'succeeded', result: { doubled: 10 }, robot_id: runner.robot.id });
    // a token of another organisation's runner sees none of this organisation's work
    const other = await signup(env.server, 'rpa-other');
    const foreign = await expectStatus(
      call(env.server, 'POST', '/api/v1/robots', {
        token: other.token,
        body: { name: 'foreign', kind: 'runner', pools: ['finance'] },
      }),
      201,
    );
    const foreignToken = (
      await expectStatus(
        call(env.server, 'POST', '/api/v1/runner/register', {
          body: { name: 'foreign', machine_key: foreign.machine_key },
        }),
        200,
      )
    ).robot_token;
    await expectStatus(
      api('POST', '/api/v1/process-jobs', { process_id: process.id, robot_id: runner.robot.id }),
      201,
    );
    const claim = await call(env.server, 'POST', '/api/v1/runner/jobs/claim', {
      headers: { authorization: `Bearer ${foreignToken}` },
    });
    expect(claim.status).toBe(204);
    const foreignZip = await call(env.server, 'GET', `/api/v1/runner/packages/${spec.process.package_hash}`, {
      headers: { authorization: `Bearer ${foreignToken}` },
    });
    expectError(foreignZip, 404, 'not_found');
    const events = await call(env.server, 'POST', `/api/v1/runner/jobs/${created.id}/events`, {
      headers: { authorization: `Bearer ${foreignToken}` },
      body: {
        events: [
          { type: 'result', job_id: created.id, attempt: 1, status: 'failed', exit_code: 1, duration_ms: 1 },
        ],
      },
    });
    expect(events.body.acks[0].outcome).toBe('impossible');
  });

  it('an operator reassigns a waiting job and ends one by hand, audited with before and after', async () => {
    const runner = await expectStatus(
      api('POST', '/api/v1/robots', { name: 'idle-runner', kind: 'runner', pools: ['finance'] }),
      201,
    );
    const created = await expectStatus(
      api('POST', '/api/v1/process-jobs', { process_id: process.id, robot_id: runner.robot.id }),
      201,
    );
    const moved = await expectStatus(
      api('POST', `/api/v1/process-jobs/${created.id}/reassign`, { robot_pool: 'nobody-here' }),
      200,
    );
    expect(moved).toMatchObject({ pooled: true, robot_pool: 'nobody-here' });
    const ended = await expectStatus(
      api('POST', `/api/v1/process-jobs/${created.id}/status`, { status: 'failed', reason: 'robot retired' }),
      200,
    );
    expect(ended).toMatchObject({ status: 'failed', error: 'set by hand: robot retired' });
    expectError(
      await api('POST', `/api/v1/process-jobs/${created.id}/status`, {
        status: 'succeeded',
        reason: 'again',
      }),
      409,
      'conflict',
    );
    const events = await auditOf(env.server, env.owner, 'process_job', created.id);
    expect(events.find((e: any) => e.action === 'modified')).toMatchObject({
      before: { robot_id: runner.robot.id, pool: null },
      after: { pool: { robot_pool: 'nobody-here' } },
    });
    expect(
      events.find((e: any) => e.action === 'status_changed' && e.after.status === 'failed'),
    ).toMatchObject({
      actor_type: 'user',
      before: { status: 'queued' },
    });
  });
});
