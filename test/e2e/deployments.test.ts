import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { untilOnline, type AgentProcess } from '../support/agents.js';
import { call, expectError, expectStatus, type Reply } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects } from '../support/harness.js';
import {
  FAST_FLEET,
  startAgent,
  startServer,
  tempDir,
  trackSocket,
  useLeakGuard,
  type E2EServer,
} from './support.js';

useLeakGuard();

/**
 * The deploy script of every service here, as a team would write it: it reports each step with
 * curl and its FP_DEPLOYMENT_TOKEN, prints what it does, and publishes its config on finish. It
 * fails its `migrate` step (and exits 1) on the machines FAIL_ON lists, FAIL_AFTER seconds in;
 * with GATE set it first waits for that file, so a follower can subscribe before its first line.
 */
const DEPLOY_SH = `#!/usr/bin/env bash
set -euo pipefail
api() {
  curl -fsS -X "$1" "$FP_SERVER_URL$2" -H "Authorization: Bearer $FP_DEPLOYMENT_TOKEN" \\
    -H 'Content-Type: application/json' -d "$3" > /dev/null
}
step() {
  api POST /api/v1/steps "$(jq -nc --arg n "$1" --arg s "$2" --arg m "\${3:-}" \\
    '{name: $n, state: $s} + (if $m == "" then {} else {message: $m} end)')"
}
if [ -n "\${GATE:-}" ]; then
  until [ -e "$GATE" ]; do sleep 0.05; done
fi
echo "deploying $APP_NAME $VERSION on $FP_AGENT_ID (job $FP_JOB_ID)"
for name in build migrate restart; do
  step "$name" running
  echo "$name: started"
  if [ "$name" = migrate ] && [[ " \${FAIL_ON:-} " == *" $FP_AGENT_ID "* ]]; then
    sleep "\${FAIL_AFTER:-0}"
    api POST /api/v1/steps '{"name": "migrate", "state": "failure", "error_message": "migration 42 failed"}'
    echo "migrate: failed" >&2
    exit 1
  fi
  step "$name" success "$name done"
  echo "$name: done"
done
api PUT /api/v1/deployments/finish "$(jq -nc --arg v "$VERSION" --arg m "$FP_AGENT_ID" \\
  '{status: "success", config: {version: $v, machine: $m}}')"
echo "deployed $APP_NAME $VERSION"
`;

const STEPS = ['build', 'migrate', 'restart'];

/** A services directory: a folder per definition, each with its service.json and DEPLOY_SH. */
function servicesDirectory(definitions: Record<string, Record<string, unknown>>): string {
  const dir = tempDir('services');
  for (const [folder, definition] of Object.entries(definitions)) {
    mkdirSync(path.join(dir, folder));
    writeFileSync(path.join(dir, folder, 'deploy.sh'), DEPLOY_SH, { mode: 0o755 });
    writeFileSync(path.join(dir, folder, 'service.json'), JSON.stringify(definition, null, 2));
  }
  return dir;
}

async function deployToken(
  server: E2EServer,
  kind: 'service' | 'config',
  serviceId?: string,
): Promise<string> {
  const body = {
    kind,
    origin: 'github-actions',
    expires_in_days: 1,
    ...(serviceId ? { service_id: serviceId } : {}),
  };
  return (await expectStatus(server.api('POST', '/api/v1/deploy-tokens', { body }), 201)).secret;
}

async function syncedService(server: E2EServer, name: string): Promise<any> {
  const page = await expectStatus(server.api('GET', `/api/v1/services?search=${name}`), 200);
  const found = page.items.find((s: any) => s.name === name);
  if (!found) throw new Error(`service ${name} was not synced`);
  return found;
}

interface StreamMessage {
  type: string;
  [field: string]: any;
}

/**
 * What a CI job holds of the events stream: a plain WebSocket opened with no credential, its
 * deploy token sent as the first message, every message kept in the order it came.
 */
class Follower {
  readonly messages: StreamMessage[] = [];

  private constructor(private readonly socket: WebSocket) {
    // ws hands text frames over as Buffers
    socket.on('message', (data: Buffer) => this.messages.push(JSON.parse(data.toString('utf8'))));
    socket.on('close', (code: number, reason: Buffer) =>
      this.messages.push({ type: 'closed', code, reason: reason.toString('utf8') }),
    );
  }

  static async connect(server: E2EServer, token: string): Promise<Follower> {
    const socket = trackSocket(new WebSocket(`${server.url.replace(/^http/, 'ws')}/api/v1/events/ws`));
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) =>
        reject(new Error(`events socket refused: HTTP ${res.statusCode}`)),
      );
    });
    const follower = new Follower(socket);
    follower.send({ access_token: token });
    const answer = await follower.next(
      (m) => m.type === 'authentication' || m.type === 'closed',
      'authentication',
    );
    expect(answer).toEqual({ type: 'authentication', status: 'success' });
    return follower;
  }

  send(message: object): void {
    this.socket.send(JSON.stringify(message));
  }

  next(match: (m: StreamMessage) => boolean, what: string, timeoutMs = 20_000): Promise<StreamMessage> {
    return eventually(() => this.messages.find(match), { timeoutMs, intervalMs: 20, what });
  }

  of(type: string, deploymentId: string): StreamMessage[] {
    return this.messages.filter((m) => m.type === type && m.deployment_id === deploymentId);
  }

  /** The live output of a job, its chunks in order. */
  output(jobId: string): string {
    return this.messages
      .filter((m) => m.type === 'job.output' && m.job_id === jobId)
      .sort((a, b) => a.seq - b.seq)
      .map((m) => m.data)
      .join('');
  }

  close(): void {
    this.socket.close();
  }
}

const ms = (at: string | null): number => (at === null ? Number.NaN : Date.parse(at));

describe.each(dialects)('e2e deployments on %s', (dialect) => {
  let server: E2EServer;
  let agent: AgentProcess;
  let work: string;
  /** The deployment the CI started, for the scope checks after it. */
  let deployed: { id: string; serviceId: string; token: string } | undefined;

  beforeAll(async () => {
    const dir = servicesDirectory({
      web: {
        description: 'the shop front',
        script: 'deploy.sh',
        steps: STEPS,
        // no runs_on: a directory service runs on the server's own agent
        env: { APP_NAME: 'web', VERSION: 'dev' },
        config_schema: {
          type: 'object',
          properties: { version: { type: 'string' }, machine: { type: 'string' } },
          required: ['version', 'machine'],
          additionalProperties: false,
        },
        timeout_seconds: 60,
      },
      broken: { script: 'deploy.sh', steps: 'build' },
    });
    server = await startServer(dialect, { ...FAST_FLEET, FLEETPLANE_SERVICES_DIR: dir });
    const enrollment = await expectStatus(
      server.api('POST', '/api/v1/enrollment-tokens', {
        body: { name: 'server agent', tags: ['fleetplane-server'] },
      }),
      201,
    );
    agent = await startAgent(server, { token: enrollment.secret });
    await untilOnline(server, server.token, agent.id);
    work = tempDir('deploy');
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('e2e: a synced service deployed from CI reports its steps, output and end live, and publishes its config', async () => {
    const report = await expectStatus(server.api('POST', '/api/v1/services/sync'), 200);
    expect(report).toMatchObject({ created: ['web'], updated: [], unchanged: [], removed: [] });
    expect(report.invalid).toEqual([{ folder: 'broken', error: expect.stringContaining('/steps') }]);
    const folders = await expectStatus(server.api('GET', '/api/v1/services/names'), 200);
    expect(folders.items).toEqual([
      { folder: 'broken', name: 'broken', valid: false, error: expect.stringContaining('/steps') },
      { folder: 'web', name: 'web', valid: true, error: null },
    ]);
    const web = await syncedService(server, 'web');
    expect(web).toMatchObject({
      source: 'directory',
      folder: 'web',
      runs_on: { type: 'server' },
      script: { interpreter: 'bash', content: DEPLOY_SH },
      steps: STEPS,
    });

    // the CI job: a service token, plain fetch and a WebSocket
    const token = await deployToken(server, 'service', web.id);
    const ci = (method: string, route: string, body?: unknown): Promise<Reply> =>
      call(server, method, route, { token, body });
    const follower = await Follower.connect(server, token);
    const gate = path.join(work, `go-${dialect}`);
    const started = await expectStatus(
      ci('POST', '/api/v1/deployments', { env: { VERSION: 'abc123', GATE: gate } }),
      201,
    );
    expect(started).toMatchObject({
      service_id: web.id,
      status: 'running',
      origin: 'github-actions',
      started_by_type: 'service_token',
      env: { APP_NAME: 'web', VERSION: 'abc123', GATE: gate },
    });
    expect(started.targets.map((t: any) => [t.agent_id, t.status])).toEqual([[agent.id, 'running']]);
    deployed = { id: started.id, serviceId: web.id, token };
    follower.send({ type: 'subscribe', deployment_id: started.id });
    await follower.next((m) => m.type === 'subscribed' && m.deployment_id === started.id, 'subscribed');
    // the script goes on only now: every line it prints comes after the subscription
    writeFileSync(gate, '');

    const end = await follower.next(
      (m) => m.type === 'deployment.state' && m.deployment_id === started.id && m.status !== 'running',
      'the deployment to end',
      30_000,
    );
    expect(end).toMatchObject({
      status: 'succeeded',
      service_id: web.id,
      counts: { total: 1, succeeded: 1 },
    });

    expect(follower.of('deployment.state', started.id).map((e) => e.status)).toEqual([
      'running',
      'succeeded',
    ]);
    // the steps arrived in the order the script reported them, before the end
    const steps = follower.of('deployment.step', started.id);
    expect(steps.map((s) => [s.name, s.state])).toEqual(
      STEPS.flatMap((name) => [
        [name, 'running'],
        [name, 'success'],
      ]),
    );
    expect(steps.every((s) => s.agent_id === agent.id && s.target_id === started.targets[0].id)).toBe(true);
    expect(steps.filter((s) => s.state === 'success').map((s) => s.message)).toEqual(
      STEPS.map((name) => `${name} done`),
    );
    expect(follower.messages.indexOf(steps.at(-1)!)).toBeLessThan(follower.messages.indexOf(end));
    const targetEvents = follower.of('deployment.target', started.id);
    expect(targetEvents.map((t) => t.status)).toEqual(['running', 'succeeded']);
    const jobId: string = targetEvents[0]!.job_id;
    expect(targetEvents[1]!.job_id).toBe(jobId);

    // the script's lines, live, as it printed them
    const lines = [
      `deploying web abc123 on ${agent.id} (job ${jobId})`,
      ...STEPS.flatMap((name) => [`${name}: started`, `${name}: done`]),
      'deployed web abc123',
    ];
    const live = await eventually(
      () => {
        const text = follower.output(jobId);
        return text.endsWith('deployed web abc123\n') ? text : undefined;
      },
      { what: 'the last output line on the stream', timeoutMs: 10_000 },
    );
    expect(live).toBe(`${lines.join('\n')}\n`);

    const done = await expectStatus(ci('GET', `/api/v1/deployments/${started.id}`), 200);
    expect(done).toMatchObject({
      status: 'succeeded',
      error: null,
      config: { version: 'abc123', machine: agent.id },
      counts: { total: 1, succeeded: 1, failed: 0 },
    });
    expect(ms(done.finished_at)).toBeGreaterThanOrEqual(ms(done.created_at));
    const [target] = done.targets;
    expect(target).toMatchObject({
      agent_id: agent.id,
      job_id: jobId,
      status: 'succeeded',
      reported_status: 'success',
      config: { version: 'abc123', machine: agent.id },
    });
    expect(target.steps.map((s: any) => [s.name, s.state, s.message])).toEqual(
      STEPS.map((name) => [name, 'success', `${name} done`]),
    );
    // each step started once the one before it had finished, all within the machine's run
    let previousEnd = ms(target.started_at);
    for (const step of target.steps) {
      expect(ms(step.started_at)).toBeGreaterThanOrEqual(previousEnd);
      expect(ms(step.finished_at)).toBeGreaterThanOrEqual(ms(step.started_at));
      previousEnd = ms(step.finished_at);
    }
    expect(ms(target.finished_at)).toBeGreaterThanOrEqual(previousEnd);
    const stored = await expectStatus(
      ci('GET', `/api/v1/deployments/${started.id}/targets/${target.id}/output`),
      200,
    );
    expect(stored.chunks.map((c: any) => c.data).join('')).toBe(live);

    // discovery: a config token reads what the deployment published
    const discovery = await expectStatus(
      call(server, 'GET', '/api/v1/deployed-services', { token: await deployToken(server, 'config') }),
      200,
    );
    expect(discovery.items).toEqual([
      {
        service_id: web.id,
        service_name: 'web',
        deployment_id: started.id,
        config: { version: 'abc123', machine: agent.id },
        deployed_at: done.finished_at,
      },
    ]);
    follower.close();
  });

  it("e2e: another service's token is refused on this deployment, over HTTP and on the stream", async () => {
    if (!deployed) throw new Error('the deployment of the test before is missing');
    const { id, serviceId, token } = deployed;
    const billing = await expectStatus(
      server.api('POST', '/api/v1/services', {
        body: {
          name: 'billing',
          script: { interpreter: 'bash', content: 'true' },
          steps: ['deploy'],
          runs_on: { type: 'server' },
        },
      }),
      201,
    );
    const other = await deployToken(server, 'service', billing.id);
    const refusals: Reply[] = [
      await call(server, 'GET', `/api/v1/deployments/${id}`, { token: other }),
      await call(server, 'POST', `/api/v1/deployments/${id}/cancel`, { token: other }),
      await call(server, 'GET', `/api/v1/deployments/${id}/targets/${id}/output`, { token: other }),
      await call(server, 'POST', '/api/v1/deployments', { token: other, body: { service_id: serviceId } }),
    ];
    for (const refused of refusals) {
      expectError(refused, 403, 'forbidden');
      expect(refused.body.error.message).toContain('wrong service token');
    }
    const follower = await Follower.connect(server, other);
    follower.send({ type: 'subscribe', deployment_id: id });
    const answer = await follower.next((m) => m.deployment_id === id, 'the answer to the subscription');
    expect(answer).toMatchObject({
      type: 'error',
      code: 'forbidden',
      message: expect.stringContaining('wrong service token'),
    });
    // its own token still reads it
    await expectStatus(call(server, 'GET', `/api/v1/deployments/${id}`, { token }), 200);
    follower.close();
  });
});

/**
 * Twenty agents share two cores with their server here: leases and the offline threshold get
 * room, as in the fan-out test (a lapsed lease would lose a deploy job, which is never retried).
 */
const ROOMY_FLEET = {
  FLEETPLANE_HEARTBEAT_INTERVAL_MS: '1000',
  FLEETPLANE_OFFLINE_AFTER_MS: '10000',
  FLEETPLANE_JOB_LEASE_MS: '10000',
  FLEETPLANE_SWEEP_INTERVAL_MS: '250',
  FLEETPLANE_HEARTBEAT_FLUSH_MS: '200',
};
const FLEET = 20;
const STARTING_AT_ONCE = 4;
const BATCH_SIZES = [1, 5, 5, 5, 4];

// SQLite only: the rollout is decided by the server the same way on either database, and twenty
// agent processes are the expensive part.
describe('e2e rollout over 20 agents on sqlite', () => {
  let server: E2EServer;
  let serviceId: string;
  /** The agents' ids in the order the rollout takes them (by id): [0] is the canary. */
  let ordered: string[];

  beforeAll(async () => {
    const dir = servicesDirectory({
      fleet: {
        script: 'deploy.sh',
        steps: STEPS,
        runs_on: { type: 'selector', selector: { tags: ['fleet'] } },
        rollout: { canary: 1, batch_size: 5, max_failures: 2 },
        env: { APP_NAME: 'fleet', VERSION: 'dev' },
        timeout_seconds: 120,
      },
    });
    server = await startServer('sqlite', { ...ROOMY_FLEET, FLEETPLANE_SERVICES_DIR: dir });
    const enrollment = await expectStatus(
      server.api('POST', '/api/v1/enrollment-tokens', { body: { name: 'fleet', tags: ['fleet'] } }),
      201,
    );
    const agents: AgentProcess[] = [];
    const names = Array.from({ length: FLEET }, (_, i) => `fleet-${String(i).padStart(2, '0')}`);
    // a few at a time, so twenty interpreters do not all compile at once on two cores
    const starter = async () => {
      for (let name = names.shift(); name; name = names.shift())
        agents.push(await startAgent(server, { token: enrollment.secret, name }));
    };
    await Promise.all(Array.from({ length: STARTING_AT_ONCE }, starter));
    await eventually(
      async () => {
        const page = await expectStatus(server.api('GET', '/api/v1/agents?status=online&limit=200'), 200);
        return page.items.filter((a: any) => a.connected).length === FLEET;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: `${FLEET} agents online and connected` },
    );
    // Twenty agent processes take about a minute to start on a quiet two-core machine, far more
    // when other work shares it: the hook's limit is a guard against a hang, not a figure.
    ordered = agents.map((a) => a.id).sort();
    const report = await expectStatus(server.api('POST', '/api/v1/services/sync'), 200);
    expect(report.created).toEqual(['fleet']);
    serviceId = (await syncedService(server, 'fleet')).id;
  }, 240_000);
  afterAll(async () => {
    await server?.stop();
  });

  /** Starts a deployment failing on these machines; checks they are in the batches meant. */
  async function deploy(env: Record<string, string>, failOn: string[], batchOf: number[]): Promise<string> {
    const started = await expectStatus(
      server.api('POST', '/api/v1/deployments', {
        body: { service_id: serviceId, env: { ...env, FAIL_ON: failOn.join(' ') } },
      }),
      201,
    );
    expect(started.batches.map((b: any) => b.size)).toEqual(BATCH_SIZES);
    expect(started.counts).toMatchObject({ total: FLEET, running: 1, pending: FLEET - 1 });
    // the canary alone runs first
    expect(started.targets.filter((t: any) => t.status === 'running').map((t: any) => t.agent_id)).toEqual([
      ordered[0],
    ]);
    const batchOfAgent = new Map(started.targets.map((t: any) => [t.agent_id, t.batch]));
    expect(failOn.map((id) => batchOfAgent.get(id))).toEqual(batchOf);
    return started.id;
  }

  async function untilFinished(id: string): Promise<any> {
    return eventually(
      async () => {
        const current = await expectStatus(server.api('GET', `/api/v1/deployments/${id}`), 200);
        return current.finished_at === null ? undefined : current;
      },
      { timeoutMs: 90_000, intervalMs: 250, what: `deployment ${id} to finish` },
    );
  }

  /**
   * Each batch started once the one before it had ended: its machines' start, and the first
   * step their scripts reported, come after the last machine of the batch before finished.
   */
  function expectBatchesInTurn(deployment: any): void {
    const batches = BATCH_SIZES.map((_, index) => deployment.targets.filter((t: any) => t.batch === index));
    expect(batches.map((b) => b.length)).toEqual(BATCH_SIZES);
    for (let index = 1; index < batches.length; index += 1) {
      const ran = batches[index]!.filter((t: any) => t.started_at !== null);
      if (ran.length === 0) continue;
      const previousEnd = Math.max(...batches[index - 1]!.map((t: any) => ms(t.finished_at)));
      expect(previousEnd).not.toBeNaN();
      for (const target of ran) {
        expect(ms(target.started_at)).toBeGreaterThanOrEqual(previousEnd);
        const reported = target.steps.filter((s: any) => s.started_at !== null);
        expect(reported.length).toBeGreaterThan(0);
        for (const step of reported) expect(ms(step.started_at)).toBeGreaterThanOrEqual(previousEnd);
      }
    }
  }

  function expectFailedAtMigrate(target: any): void {
    expect(target).toMatchObject({ status: 'failed', error: 'the deploy script exited with code 1' });
    expect(target.steps.map((s: any) => [s.name, s.state])).toEqual([
      ['build', 'success'],
      ['migrate', 'failure'],
      ['restart', 'pending'],
    ]);
    expect(target.steps[1].error_message).toBe('migration 42 failed');
  }

  function expectSucceeded(target: any): void {
    expect(target).toMatchObject({ status: 'succeeded', error: null, reported_status: 'success' });
    expect(target.steps.map((s: any) => s.state)).toEqual(['success', 'success', 'success']);
  }

  it(
    'e2e: two failures are within the budget: every batch runs, the deployment ends failed with 18 succeeded',
    { timeout: 120_000 },
    async () => {
      // machines 6 and 7 are in the third batch (the canary, then five by five)
      const failOn = [ordered[6]!, ordered[7]!];
      const id = await deploy({ VERSION: 'v2' }, failOn, [2, 2]);
      const done = await untilFinished(id);
      // within the budget the rollout goes on; it ends failed because not every machine succeeded
      expect(done).toMatchObject({
        status: 'failed',
        error: `2 of ${FLEET} machines failed`,
        current_batch: BATCH_SIZES.length - 1,
        counts: { total: FLEET, succeeded: FLEET - 2, failed: 2, canceled: 0, running: 0, pending: 0 },
      });
      expect(done.batches.map((b: any) => b.status)).toEqual(BATCH_SIZES.map(() => 'done'));
      // what its machines published is kept, but discovery shows succeeded deployments only
      expect(done.config).toEqual({ version: 'v2', machine: expect.any(String) });
      expect(failOn).not.toContain(done.config.machine);
      const discovery = await expectStatus(
        call(server, 'GET', '/api/v1/deployed-services', { token: await deployToken(server, 'config') }),
        200,
      );
      expect(discovery.items).toEqual([]);
      for (const target of done.targets) {
        if (failOn.includes(target.agent_id)) expectFailedAtMigrate(target);
        else expectSucceeded(target);
      }
      expectBatchesInTurn(done);
    },
  );

  it(
    'e2e: a third failure is past the budget: the rollout stops and the later batches are canceled',
    { timeout: 120_000 },
    async () => {
      // two in the second batch (tolerated), the third in the third batch; failing late, once the
      // rest of their batch has succeeded, so which machines end how is certain
      const failOn = [ordered[1]!, ordered[2]!, ordered[6]!];
      const id = await deploy({ VERSION: 'v3', FAIL_AFTER: '3' }, failOn, [1, 1, 2]);
      const done = await untilFinished(id);
      const reason = `3 of ${FLEET} machines failed, past the failure budget`;
      expect(done).toMatchObject({
        status: 'failed',
        error: reason,
        current_batch: 2,
        counts: { total: FLEET, succeeded: 1 + 3 + 4, failed: 3, canceled: 9, running: 0, pending: 0 },
      });
      for (const target of done.targets) {
        if (failOn.includes(target.agent_id)) expectFailedAtMigrate(target);
        else if (target.batch <= 2) expectSucceeded(target);
        else {
          // never started: no job, no step reported
          expect(target).toMatchObject({ status: 'canceled', error: reason, job_id: null, started_at: null });
          expect(target.finished_at).not.toBeNull();
          expect(target.steps.map((s: any) => s.state)).toEqual(['pending', 'pending', 'pending']);
        }
      }
      expectBatchesInTurn(done);
      // the last failure is what stopped it: the later batches were canceled once it ended
      const third = done.targets.find((t: any) => t.agent_id === ordered[6]);
      for (const target of done.targets.filter((t: any) => t.batch > 2))
        expect(ms(target.finished_at)).toBeGreaterThanOrEqual(ms(third.finished_at));
    },
  );
});
