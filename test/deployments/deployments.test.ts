import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedAgent } from '../support/agents.js';
import { auditOf, call, expectError, expectStatus, login, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';

const DAY = 86_400_000;

/**
 * Deployments driven by hand: scripted agents claim each machine's job and play its deploy
 * script (steps and finish with the job's FP_DEPLOYMENT_TOKEN, then an exit), so every move of a
 * rollout happens in the order the test writes it.
 */
describe.each(dialects)('deployments on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  const clock = new TestClock();

  beforeAll(async () => {
    server = await startTestServer(dialect, { clock });
    owner = await signup(server, 'deployer');
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Moves the clock on; the owner signs in again, as access tokens expire meanwhile. */
  async function later(ms: number): Promise<void> {
    clock.advance(ms);
    owner = await login(server, owner.email);
  }

  const as = (session: Session) => (method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: session.token, body });
  const api = (method: string, route: string, body?: unknown) => as(owner)(method, route, body);
  const withToken = (token: string) => (method: string, route: string, body?: unknown) =>
    call(server, method, route, { token, body });

  async function service(body: Record<string, unknown>): Promise<any> {
    return expectStatus(
      api('POST', '/api/v1/services', {
        script: { interpreter: 'bash', content: 'echo deploying' },
        steps: ['build', 'migrate', 'restart'],
        ...body,
      }),
      201,
    );
  }

  async function token(kind: 'service' | 'config', serviceId?: string, days = 30): Promise<string> {
    const created = await expectStatus(
      api('POST', '/api/v1/deploy-tokens', {
        kind,
        ...(serviceId ? { service_id: serviceId } : {}),
        origin: 'github',
        expires_in_days: days,
      }),
      201,
    );
    return created.secret;
  }

  async function agents(count: number, tag: string): Promise<ScriptedAgent[]> {
    const out: ScriptedAgent[] = [];
    for (let i = 0; i < count; i += 1) {
      const agent = await ScriptedAgent.enroll(server, owner, { hostname: `${tag}-${i}` });
      await expectStatus(api('PATCH', `/api/v1/agents/${agent.id}`, { tags: [tag] }), 200);
      out.push(agent);
    }
    return out;
  }

  const deployment = (id: string) => expectStatus(api('GET', `/api/v1/deployments/${id}`), 200);

  it('a service token deploys its service; the script reports steps and config with its deployment token', async () => {
    const [agent] = await agents(1, 'single');
    const svc = await service({
      name: `shop-${dialect}`,
      runs_on: { type: 'agent', agent_id: agent!.id },
      env: { REGION: 'eu' },
      secret_env: { DB_PASSWORD: 'hunter2' },
      config_schema: {
        type: 'object',
        properties: { domain: { type: 'string' }, port: { type: 'integer' } },
        required: ['domain', 'port'],
      },
    });
    const ci = withToken(await token('service', svc.id));
    const started = await expectStatus(
      ci('POST', '/api/v1/deployments', { env: { GIT_SHA: 'abc123' }, secret_env: { API_KEY: 'k-1' } }),
      201,
    );
    expect(started).toMatchObject({
      service_id: svc.id,
      status: 'running',
      origin: 'github',
      started_by_type: 'service_token',
      env: { REGION: 'eu', GIT_SHA: 'abc123' },
      secret_env: { DB_PASSWORD: '********', API_KEY: '********' },
    });
    expect(started.targets).toHaveLength(1);
    expect(started.targets[0].steps.map((s: any) => [s.name, s.state])).toEqual([
      ['build', 'pending'],
      ['migrate', 'pending'],
      ['restart', 'pending'],
    ]);

    const job = await agent!.next();
    // the script's environment: the deployment's own values opened, and its token
    expect(job.env).toMatchObject({
      REGION: 'eu',
      GIT_SHA: 'abc123',
      DB_PASSWORD: 'hunter2',
      API_KEY: 'k-1',
      FP_DEPLOYMENT_ID: started.id,
      FP_SERVICE_NAME: svc.name,
    });
    const script = withToken(job.env.FP_DEPLOYMENT_TOKEN);
    const running = await expectStatus(
      script('POST', '/api/v1/steps', { name: 'build', state: 'running' }),
      200,
    );
    expect(running).toMatchObject({ state: 'running', finished_at: null });
    expect(running.started_at).not.toBeNull();
    clock.advance(1000);
    const built = await expectStatus(
      script('POST', '/api/v1/steps', { name: 'build', state: 'success', message: 'image built' }),
      200,
    );
    expect(built).toMatchObject({ state: 'success', message: 'image built', started_at: running.started_at });
    expect(Date.parse(built.finished_at) - Date.parse(built.started_at)).toBe(1000);
    const extra = await expectStatus(
      script('POST', '/api/v1/steps', { name: 'smoke test', state: 'success' }),
      200,
    );
    expect(extra.position).toBe(3);
    for (const name of ['migrate', 'restart'])
      await expectStatus(script('POST', '/api/v1/steps', { name, state: 'success' }), 200);

    // the config is checked against the service's schema
    const bad = await script('PUT', '/api/v1/deployments/finish', { config: { domain: 'shop.example' } });
    expectError(bad, 422, 'unprocessable');
    await expectStatus(
      script('PUT', '/api/v1/deployments/finish', { config: { domain: 'shop.example', port: 8443 } }),
      200,
    );
    await agent!.finish(job, 'succeeded', 0);

    const done = await deployment(started.id);
    expect(done).toMatchObject({ status: 'succeeded', config: { domain: 'shop.example', port: 8443 } });
    expect(done.finished_at).not.toBeNull();
    expect(done.targets[0]).toMatchObject({ status: 'succeeded', reported_status: 'success' });
    expect(done.targets[0].steps.map((s: any) => [s.name, s.state])).toEqual([
      ['build', 'success'],
      ['migrate', 'success'],
      ['restart', 'success'],
      ['smoke test', 'success'],
    ]);
    // the service token reads its own deployment; discovery answers config tokens
    await expectStatus(ci('GET', `/api/v1/deployments/${started.id}`), 200);
    const discovery = withToken(await token('config'));
    const deployed = await expectStatus(discovery('GET', '/api/v1/deployed-services'), 200);
    expect(deployed.items).toContainEqual(
      expect.objectContaining({
        service_id: svc.id,
        deployment_id: started.id,
        config: { domain: 'shop.example', port: 8443 },
      }),
    );
    // audited as the service token that started it, secrets masked
    const audit = await auditOf(server, owner, 'deployment', started.id);
    const created = audit.find((e: any) => e.action === 'created');
    expect(created).toMatchObject({ actor_type: 'service_token' });
    expect(JSON.stringify(audit)).not.toContain('hunter2');
    expect(audit.some((e: any) => e.after?.status === 'succeeded')).toBe(true);

    // within the grace a late report is taken; past it the token is worth nothing
    await expectStatus(script('POST', '/api/v1/steps', { name: 'smoke test', state: 'success' }), 200);
    await later(6 * 60_000);
    expectError(
      await script('POST', '/api/v1/steps', { name: 'build', state: 'running' }),
      401,
      'unauthorized',
    );
  });

  it('tokens reach only what they are for', async () => {
    const [agent] = await agents(1, 'scope');
    const a = await service({ name: `a-${dialect}`, runs_on: { type: 'agent', agent_id: agent!.id } });
    const b = await service({ name: `b-${dialect}`, runs_on: { type: 'agent', agent_id: agent!.id } });
    const tokenA = withToken(await token('service', a.id));
    const onB = await expectStatus(api('POST', '/api/v1/deployments', { service_id: b.id }), 201);
    const jobB = await agent!.next();

    const wrong = await tokenA('POST', '/api/v1/deployments', { service_id: b.id });
    expectError(wrong, 403, 'forbidden');
    expect(wrong.body.error.message).toContain('wrong service token');
    expectError(await tokenA('GET', `/api/v1/deployments/${onB.id}`), 403, 'forbidden');
    expectError(await tokenA('POST', `/api/v1/deployments/${onB.id}/cancel`), 403, 'forbidden');
    expectError(await tokenA('GET', `/api/v1/deployments?service_id=${b.id}`), 403, 'forbidden');
    const listed = await expectStatus(tokenA('GET', '/api/v1/deployments'), 200);
    expect(listed.items.every((d: any) => d.service_id === a.id)).toBe(true);
    // nothing else: not the services, not the jobs, not discovery
    expectError(await tokenA('GET', '/api/v1/services'), 403, 'forbidden');
    expectError(await tokenA('GET', `/api/v1/jobs/${jobB.job_id}`), 403, 'forbidden');
    expectError(await tokenA('GET', '/api/v1/deployed-services'), 403, 'forbidden');

    const config = withToken(await token('config'));
    expectError(await config('GET', '/api/v1/deployments'), 403, 'forbidden');
    expectError(await config('POST', '/api/v1/deployments', { service_id: a.id }), 403, 'forbidden');

    // a deployment token is for its deployment's steps and finish, nothing else
    const script = withToken(jobB.env.FP_DEPLOYMENT_TOKEN);
    expectError(await script('GET', `/api/v1/deployments/${onB.id}`), 401, 'unauthorized');
    const onA = await expectStatus(api('POST', '/api/v1/deployments', { service_id: a.id }), 201);
    expectError(
      await script('POST', '/api/v1/steps', { name: 'build', state: 'running', deployment_id: onA.id }),
      403,
      'forbidden',
    );
    const forged = `${jobB.env.FP_DEPLOYMENT_TOKEN.slice(0, -2)}xx`;
    expectError(
      await withToken(forged)('POST', '/api/v1/steps', { name: 'x', state: 'running' }),
      401,
      'unauthorized',
    );
    expectError(
      await call(server, 'POST', '/api/v1/steps', { body: { name: 'x', state: 'running' } }),
      401,
      'unauthorized',
    );
    // a user's credential is no deployment token
    expectError(await api('POST', '/api/v1/steps', { name: 'x', state: 'running' }), 401, 'unauthorized');

    // expiry bounds, expiry and revocation
    for (const days of [0, 181])
      expectError(
        await api('POST', '/api/v1/deploy-tokens', {
          kind: 'service',
          service_id: a.id,
          origin: 'gitlab',
          expires_in_days: days,
        }),
        422,
        'unprocessable',
      );
    const shortLived = await token('service', a.id, 1);
    await expectStatus(withToken(shortLived)('GET', '/api/v1/deployments'), 200);
    await later(DAY + 1000);
    expectError(await withToken(shortLived)('GET', '/api/v1/deployments'), 401, 'unauthorized');
    const revoked = await expectStatus(
      api('POST', '/api/v1/deploy-tokens', {
        kind: 'service',
        service_id: a.id,
        origin: 'ci',
        expires_in_days: 5,
      }),
      201,
    );
    await expectStatus(api('DELETE', `/api/v1/deploy-tokens/${revoked.token.id}`), 204);
    expectError(await withToken(revoked.secret)('GET', '/api/v1/deployments'), 401, 'unauthorized');

    // a service with a deployment running cannot be deleted
    expectError(await api('DELETE', `/api/v1/services/${a.id}`), 409, 'conflict');
    await expectStatus(api('POST', `/api/v1/deployments/${onA.id}/cancel`), 200);
    await agent!.finish(jobB, 'succeeded', 0);
  });

  it('a script that exits non-zero fails its deployment, with the running step failed and the reason', async () => {
    const [agent] = await agents(1, 'failing');
    const svc = await service({
      name: `failing-${dialect}`,
      runs_on: { type: 'agent', agent_id: agent!.id },
    });
    const started = await expectStatus(api('POST', '/api/v1/deployments', { service_id: svc.id }), 201);
    const job = await agent!.next();
    const script = withToken(job.env.FP_DEPLOYMENT_TOKEN);
    await expectStatus(script('POST', '/api/v1/steps', { name: 'build', state: 'success' }), 200);
    await expectStatus(script('POST', '/api/v1/steps', { name: 'migrate', state: 'running' }), 200);
    await agent!.finish(job, 'failed', 3);
    const failed = await deployment(started.id);
    expect(failed).toMatchObject({ status: 'failed' });
    expect(failed.targets[0]).toMatchObject({
      status: 'failed',
      error: 'the deploy script exited with code 3',
    });
    const steps = Object.fromEntries(failed.targets[0].steps.map((s: any) => [s.name, s]));
    expect(steps.build.state).toBe('success');
    expect(steps.migrate).toMatchObject({
      state: 'failure',
      error_message: 'the deploy script exited with code 3',
    });
    expect(steps.restart.state).toBe('pending');
    // a finished deployment cannot be canceled
    expectError(await api('POST', `/api/v1/deployments/${started.id}/cancel`), 409, 'conflict');
  });

  it('a canceled deployment stops its script and ends failed', async () => {
    const [agent] = await agents(1, 'cancel');
    const svc = await service({ name: `cancel-${dialect}`, runs_on: { type: 'agent', agent_id: agent!.id } });
    const started = await expectStatus(api('POST', '/api/v1/deployments', { service_id: svc.id }), 201);
    const job = await agent!.next();
    await expectStatus(
      withToken(job.env.FP_DEPLOYMENT_TOKEN)('POST', '/api/v1/steps', { name: 'build', state: 'running' }),
      200,
    );
    const canceled = await expectStatus(api('POST', `/api/v1/deployments/${started.id}/cancel`), 200);
    expect(canceled.status).toBe('failed');
    expect(canceled.error).toMatch(/^canceled by /);
    expect(canceled.finished_at).toBeNull();
    await expectStatus(api('GET', `/api/v1/jobs/${job.job_id}`), 200).then((j) =>
      expect(j.cancel_requested_at).not.toBeNull(),
    );
    await agent!.finish(job, 'canceled', null);
    const ended = await deployment(started.id);
    expect(ended.finished_at).not.toBeNull();
    expect(ended.targets[0].status).toBe('canceled');
    expect(ended.targets[0].steps[0]).toMatchObject({ name: 'build', state: 'failure' });
  });

  it('a rollout runs a canary, pauses between batches, and stops past its failure budget', async () => {
    const fleet = await agents(5, `roll-${dialect}`);
    const byId = new Map(fleet.map((agent) => [agent.id, agent]));
    const svc = await service({
      name: `rollout-${dialect}`,
      runs_on: { type: 'selector', selector: { tags: [`roll-${dialect}`] } },
      rollout: { canary: 1, batch_size: 2, pause_seconds: 60, max_failures: 1 },
    });
    const started = await expectStatus(api('POST', '/api/v1/deployments', { service_id: svc.id }), 201);
    expect(started.batches.map((b: any) => b.size)).toEqual([1, 2, 2]);
    expect(started.counts).toMatchObject({ total: 5, running: 1, pending: 4 });

    const jobsOfBatch = async (batch: number) => {
      const now = await deployment(started.id);
      const targets = now.targets.filter((t: any) => t.batch === batch);
      return Promise.all(
        targets.map(async (t: any) => {
          const agent = byId.get(t.agent_id)!;
          return { agent, job: await agent.next() };
        }),
      );
    };
    const [canary] = await jobsOfBatch(0);
    await canary!.agent.finish(canary!.job, 'succeeded', 0);
    const paused = await deployment(started.id);
    expect(paused).toMatchObject({ status: 'paused', current_batch: 0, awaiting_continue: false });
    expect(Date.parse(paused.next_batch_at) - clock.now().getTime()).toBe(60_000);

    // not before the pause is over
    await server.app.services.deploymentPacer.sweep();
    expect((await deployment(started.id)).status).toBe('paused');
    await later(60_000);
    await server.app.services.deploymentPacer.sweep();
    const second = await jobsOfBatch(1);
    expect((await deployment(started.id)).current_batch).toBe(1);
    // one failure is within the budget
    await second[0]!.agent.finish(second[0]!.job, 'failed', 1);
    await second[1]!.agent.finish(second[1]!.job, 'succeeded', 0);
    expect((await deployment(started.id)).status).toBe('paused');
    await later(60_000);
    await server.app.services.deploymentPacer.sweep();
    const third = await jobsOfBatch(2);
    // a second is past it: the rollout stops, the machine still running is told to stop
    await third[0]!.agent.finish(third[0]!.job, 'failed', 1);
    const stopped = await deployment(started.id);
    expect(stopped.status).toBe('failed');
    expect(stopped.error).toBe('2 of 5 machines failed, past the failure budget');
    const stillRunning = stopped.targets.find((t: any) => t.batch === 2 && t.status === 'running');
    const job = await expectStatus(api('GET', `/api/v1/jobs/${stillRunning.job_id}`), 200);
    expect(job.cancel_requested_at).not.toBeNull();
    await third[1]!.agent.finish(third[1]!.job, 'canceled', null);
    const ended = await deployment(started.id);
    expect(ended.finished_at).not.toBeNull();
    expect(ended.counts).toMatchObject({ succeeded: 2, failed: 2, canceled: 1 });
    // the machines page through, by batch and status, each with its planned steps
    const lastBatch = await expectStatus(
      api('GET', `/api/v1/deployments/${started.id}/targets?batch=2`),
      200,
    );
    expect(lastBatch.items.map((t: any) => t.status).sort()).toEqual(['canceled', 'failed']);
    expect(lastBatch.items[0].steps.map((s: any) => s.name)).toEqual(['build', 'migrate', 'restart']);
    const page = await expectStatus(api('GET', `/api/v1/deployments/${started.id}/targets?limit=2`), 200);
    const rest = await expectStatus(
      api('GET', `/api/v1/deployments/${started.id}/targets?limit=5&cursor=${page.next_cursor}`),
      200,
    );
    expect([...page.items, ...rest.items].map((t: any) => t.id).sort()).toEqual(
      ended.targets.map((t: any) => t.id).sort(),
    );
    expect(rest.next_cursor).toBeNull();
  });

  it('a failed canary cancels the rest; a manual rollout waits for continue', async () => {
    const fleet = await agents(3, `canary-${dialect}`);
    const byId = new Map(fleet.map((agent) => [agent.id, agent]));
    const canarySvc = await service({
      name: `canary-${dialect}`,
      runs_on: { type: 'selector', selector: { tags: [`canary-${dialect}`] } },
      rollout: { canary: 1, max_failure_percent: 50 },
    });
    const first = await expectStatus(api('POST', '/api/v1/deployments', { service_id: canarySvc.id }), 201);
    const canaryTarget = first.targets.find((t: any) => t.batch === 0);
    const canaryAgent = byId.get(canaryTarget.agent_id)!;
    await canaryAgent.finish(await canaryAgent.next(), 'failed', 2);
    const stopped = await deployment(first.id);
    expect(stopped).toMatchObject({ status: 'failed', error: 'the canary batch failed on 1 machine' });
    expect(stopped.counts).toMatchObject({ failed: 1, canceled: 2 });
    expect(stopped.finished_at).not.toBeNull();

    const manual = await service({
      name: `manual-${dialect}`,
      runs_on: { type: 'selector', selector: { tags: [`canary-${dialect}`] } },
      rollout: { batch_size: 2, manual_continue: true },
    });
    const second = await expectStatus(api('POST', '/api/v1/deployments', { service_id: manual.id }), 201);
    expectError(await api('POST', `/api/v1/deployments/${second.id}/continue`), 409, 'conflict');
    for (const target of second.targets.filter((t: any) => t.batch === 0)) {
      const agent = byId.get(target.agent_id)!;
      await agent.finish(await agent.next(), 'succeeded', 0);
    }
    const waiting = await deployment(second.id);
    expect(waiting).toMatchObject({ status: 'paused', awaiting_continue: true, next_batch_at: null });
    await later(DAY);
    await server.app.services.deploymentPacer.sweep();
    expect((await deployment(second.id)).status).toBe('paused');
    const continued = await expectStatus(api('POST', `/api/v1/deployments/${second.id}/continue`), 200);
    expect(continued).toMatchObject({ status: 'running', current_batch: 1 });
    const last = second.targets.find((t: any) => t.batch === 1);
    const agent = byId.get(last.agent_id)!;
    await agent.finish(await agent.next(), 'succeeded', 0);
    expect(await deployment(second.id)).toMatchObject({ status: 'succeeded', counts: { succeeded: 3 } });
    const listed = await expectStatus(
      api('GET', `/api/v1/deployments?service_id=${manual.id}&status=succeeded`),
      200,
    );
    expect(listed.items.map((d: any) => d.id)).toEqual([second.id]);
  });
});
