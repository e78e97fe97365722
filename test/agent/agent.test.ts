import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { parseAgentArgs } from '../../src/agent/main.js';
import { StateStore } from '../../src/agent/state.js';
import type { JobEvent, JobSpec } from '../../src/protocol/agent.js';
import { osTypes } from '../../src/protocol/jobs.js';
import { packageVersion } from '../../src/server/lib/version.js';
import { FakeAgentServer } from './fake-server.js';
import { eventually, IN_MEMORY } from '../support/eventually.js';

const FINGERPRINT = 'test-fingerprint-0001';

function job(jobId: string, command: string, extra: Partial<JobSpec> = {}): JobSpec {
  return {
    job_id: jobId,
    attempt: 1,
    kind: 'exec',
    interpreter: 'bash',
    command,
    env: {},
    cwd: null,
    timeout_seconds: 60,
    ...extra,
  };
}

describe.runIf(process.platform !== 'win32')('agent lifecycle against a fake server', () => {
  let server: FakeAgentServer;
  let stateDir: string;
  const running: { agent: Agent; exit: Promise<number> }[] = [];
  const logs: string[] = [];

  beforeEach(async () => {
    server = await new FakeAgentServer().start();
    stateDir = path.join(mkdtempSync(path.join(os.tmpdir(), 'fleetplane-agent-test-')), 'state');
    logs.length = 0;
  });
  afterEach(async () => {
    for (const { agent, exit } of running.splice(0)) {
      agent.stop();
      await exit;
    }
    await server.close();
    rmSync(path.dirname(stateDir), { recursive: true, force: true });
  });

  const start = (...flags: string[]) => {
    const parsed = parseAgentArgs(['--server', server.url, '--state-dir', stateDir, ...flags], {
      ...process.env,
      FLEETPLANE_AGENT_FINGERPRINT: FINGERPRINT,
    });
    if (parsed.kind !== 'run') throw new Error(`bad flags: ${JSON.stringify(parsed)}`);
    const agent = new Agent(parsed.config, (line) => logs.push(line));
    const handle = { agent, exit: agent.run() };
    running.push(handle);
    return handle;
  };
  const stopped = async (handle: { agent: Agent; exit: Promise<number> }) => {
    handle.agent.stop();
    const code = await handle.exit;
    running.splice(running.indexOf(handle), 1);
    return code;
  };
  const resultOf = (jobId: string, attempt = 1) =>
    eventually(
      () => server.events().find((e) => e.type === 'result' && e.job_id === jobId && e.attempt === attempt),
      IN_MEMORY,
    );
  const spooled = () => {
    const dir = path.join(stateDir, 'spool');
    return existsSync(dir) ? readdirSync(dir).filter((name) => name.endsWith('.json')) : [];
  };
  const eventsOf = (jobId: string, type: JobEvent['type']) =>
    server.events().filter((e) => e.job_id === jobId && e.type === type);

  it('agent: registers, keeps its token private, says hello and runs pushed jobs', async () => {
    const handle = start('--token', 'enroll-me', '--name', 'web-01');
    const hello = await eventually(() => server.frames.find((f) => f.type === 'hello'), IN_MEMORY);
    expect(server.registrations).toHaveLength(1);
    const registration = server.registrations[0] as {
      enrollment_token: string;
      facts: Record<string, unknown>;
    };
    expect(registration.enrollment_token).toBe('enroll-me');
    expect(registration.facts).toMatchObject({
      hostname: 'web-01',
      fingerprint: FINGERPRINT,
      agent_version: packageVersion(),
    });
    expect(osTypes).toContain(registration.facts.os_type);
    expect(registration.facts.interpreters).toContain('bash');
    expect(hello).toMatchObject({ type: 'hello', running_job_ids: [], facts: { fingerprint: FINGERPRINT } });
    expect(await new StateStore(stateDir).load()).toMatchObject({
      server: server.url,
      agent_id: 'agent-1',
      agent_token: server.token,
    });
    expect(statSync(path.join(stateDir, 'agent.json')).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);

    await eventually(() => (server.connected() === 1 ? true : undefined), IN_MEMORY);
    const spec = job('job-ok', 'echo hi');
    server.push({ type: 'job', job: spec });
    server.push({ type: 'job', job: spec }); // delivered twice: run once
    expect(await resultOf('job-ok')).toMatchObject({ status: 'succeeded', exit_code: 0 });
    expect(eventsOf('job-ok', 'ack')).toHaveLength(1);
    expect(eventsOf('job-ok', 'output')).toMatchObject([{ seq: 0, stream: 'stdout', data: 'hi\n' }]);
    await eventually(() => (spooled().length === 0 ? true : undefined), IN_MEMORY);

    server.push({ type: 'job', job: job('job-cancel', 'sleep 30') });
    await eventually(() => eventsOf('job-cancel', 'ack')[0], IN_MEMORY);
    server.push({ type: 'cancel', job_id: 'job-cancel' });
    expect(await resultOf('job-cancel')).toMatchObject({ status: 'canceled' });

    await eventually(() => server.frames.find((f) => f.type === 'heartbeat'), IN_MEMORY);
    expect(server.frames.find((f) => f.type === 'heartbeat')).toMatchObject({
      metrics: {
        cpu_percent: expect.any(Number),
        memory_percent: expect.any(Number),
        disk_percent: expect.any(Number),
      },
    });
    expect(await stopped(handle)).toBe(0);
    expect(logs).toContain('connected (WebSocket, agent agent-1)');
  });

  it('agent: a restarted agent reuses its token and resends unacknowledged results after welcome', async () => {
    server.ackResults = false;
    const first = start('--token', 'enroll-me');
    await eventually(() => (server.connected() === 1 ? true : undefined), IN_MEMORY);
    server.push({ type: 'job', job: job('job-spooled', 'exit 4') });
    await resultOf('job-spooled');
    expect(spooled()).toEqual(['job-spooled.json']);
    expect(await stopped(first)).toBe(0);

    server.ackResults = true;
    const sentBefore = eventsOf('job-spooled', 'result').length;
    start(); // no --token: the saved agent token is used
    await eventually(
      () => (eventsOf('job-spooled', 'result').length > sentBefore ? true : undefined),
      IN_MEMORY,
    );
    expect(server.registrations).toHaveLength(1);
    expect(eventsOf('job-spooled', 'result').at(-1)).toMatchObject({ status: 'failed', exit_code: 4 });
    // held until acknowledged, so the server does not hand it out again before the result arrives
    expect(server.frames.findLast((f) => f.type === 'hello')).toMatchObject({
      running_job_ids: ['job-spooled'],
    });
    const welcomeIndex = server.frames.findLastIndex((f) => f.type === 'hello');
    const resendIndex = server.frames.findLastIndex((f) => f.type === 'job_event');
    expect(resendIndex).toBeGreaterThan(welcomeIndex);
    await eventually(() => (spooled().length === 0 ? true : undefined), IN_MEMORY);
  });

  it('agent: a 410 on the WebSocket upgrade uninstalls and exits 0', async () => {
    const first = start('--token', 'enroll-me');
    await eventually(() => (server.connected() === 1 ? true : undefined), IN_MEMORY);
    server.upgradeStatus = 410;
    server.closeSockets(1012, 'restarting');
    expect(await first.exit).toBe(0);
    running.splice(0);
    expect(existsSync(stateDir)).toBe(false);
  });

  it('agent: a session closed with 4410 (agent deleted) uninstalls and exits 0', async () => {
    const handle = start('--token', 'enroll-me');
    await eventually(() => (server.connected() === 1 ? true : undefined), IN_MEMORY);
    server.closeSockets(4410, 'agent deleted');
    expect(await handle.exit).toBe(0);
    running.splice(0);
    expect(existsSync(stateDir)).toBe(false);
    expect(logs).toContain('the server deleted this agent (agent deleted)');
  });

  it('agent: a refused enrollment token or a revoked agent token exits 1', async () => {
    const refused = start('--token', 'wrong');
    expect(await refused.exit).toBe(1);
    running.splice(0);
    expect(logs.some((line) => line.includes('unknown enrollment token'))).toBe(true);

    const handle = start('--token', 'enroll-me');
    await eventually(() => (server.connected() === 1 ? true : undefined), IN_MEMORY);
    server.upgradeStatus = 401;
    server.closeSockets(1012);
    expect(await handle.exit).toBe(1);
    running.splice(0);
    // the state stays, so an operator can see what the agent was
    expect(existsSync(path.join(stateDir, 'agent.json'))).toBe(true);
    expect(logs.some((line) => line.includes('revoked or is invalid'))).toBe(true);
  });

  it('agent: falls back to HTTP polling when the WebSocket cannot be opened', async () => {
    server.upgradeStatus = 502;
    server.pendingJobs.push(job('job-http', 'echo polled'));
    start('--token', 'enroll-me');
    expect(await resultOf('job-http')).toMatchObject({ status: 'succeeded' });
    expect(server.upgrades).toBeGreaterThanOrEqual(3);
    expect(server.heartbeats[0]).toMatchObject({ facts: { fingerprint: FINGERPRINT }, running_job_ids: [] });
    const posted = server.postedEvents
      .filter((post) => post.jobId === 'job-http')
      .flatMap((post) => post.events);
    expect(posted.map((e) => e.type)).toEqual(['ack', 'output', 'result']);
    await eventually(() => (spooled().length === 0 ? true : undefined), IN_MEMORY);
    expect(logs.some((line) => line.startsWith('WebSocket unavailable; polling over HTTP'))).toBe(true);
  });

  it('agent: a 503 to the WebSocket upgrade (a full node) is retried over the WebSocket after Retry-After, never polled over HTTP nor an exit', async () => {
    server.upgradeStatus = 503;
    server.upgradeRetryAfter = 1;
    const handle = start('--token', 'enroll-me');
    let exited = false;
    void handle.exit.then(() => {
      exited = true;
    });
    // past the failures after which an unreachable WebSocket gives way to HTTP polling
    await eventually(() => server.upgrades >= 4, { ...IN_MEMORY, timeoutMs: 20_000 });
    server.upgradeStatus = null;
    await eventually(() => server.connected() === 1, { ...IN_MEMORY, timeoutMs: 20_000 });
    expect(server.heartbeats).toHaveLength(0);
    expect(exited).toBe(false);
    const waits = logs.flatMap((line) => {
      const seconds = /^server busy; trying the WebSocket again in (\d+\.\d)s$/.exec(line)?.[1];
      return seconds === undefined ? [] : [Number(seconds)];
    });
    expect(waits.length).toBeGreaterThanOrEqual(3);
    // the server's Retry-After, and the backoff's jitter on top
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(1);
    expect(await stopped(handle)).toBe(0);
  });

  it.each(['ws', 'http'] as const)(
    'agent: a result the server refuses as a conflict is dropped from the spool and logged, over %s',
    async (transport) => {
      server.eventOutcome.set('job-conflict', 'conflict');
      if (transport === 'ws') {
        start('--token', 'enroll-me');
        await eventually(() => (server.connected() === 1 ? true : undefined), IN_MEMORY);
        server.push({ type: 'job', job: job('job-conflict', 'true') });
      } else {
        server.pendingJobs.push(job('job-conflict', 'true'));
        start('--token', 'enroll-me', '--transport', 'http');
      }
      await resultOf('job-conflict');
      await eventually(() => (spooled().length === 0 ? true : undefined), IN_MEMORY);
      expect(server.upgrades).toBe(transport === 'ws' ? 1 : 0);
      expect(logs).toContain(
        'job job-conflict: the server refused its result (conflict: the fake server says conflict); dropped',
      );
      // not sent again: the server would refuse it again
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(eventsOf('job-conflict', 'result')).toHaveLength(1);
    },
  );

  it('agent: over HTTP, a 4xx answer to a result drops it from the spool and logs why', async () => {
    server.eventStatus.set('job-refused', 400);
    server.pendingJobs.push(job('job-refused', 'true'));
    start('--token', 'enroll-me', '--transport', 'http');
    await resultOf('job-refused');
    await eventually(() => (spooled().length === 0 ? true : undefined), IN_MEMORY);
    expect(logs).toContain(
      'job job-refused: the server refused its result (impossible: HTTP 400 x: refused); dropped',
    );
  });

  it('agent: over HTTP, stopping still delivers the results of the jobs it kills', async () => {
    server.pendingJobs.push(job('job-http-long', 'sleep 30'));
    const handle = start('--token', 'enroll-me', '--transport', 'http');
    await eventually(() => eventsOf('job-http-long', 'ack')[0], IN_MEMORY);
    expect(await stopped(handle)).toBe(0);
    expect(eventsOf('job-http-long', 'result')).toMatchObject([{ status: 'failed' }]);
    expect(spooled()).toEqual([]);
  });

  it('agent: SIGTERM stops the agent process, which exits 0 by itself', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/agent/agent-process.ts',
        '--server',
        server.url,
        '--token',
        'enroll-me',
        '--state-dir',
        stateDir,
      ],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, FLEETPLANE_AGENT_FINGERPRINT: FINGERPRINT },
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await eventually(() => (server.connected() === 1 ? true : undefined), {
      ...IN_MEMORY,
      timeoutMs: 20_000,
    });
    server.push({ type: 'job', job: job('job-signal', 'sleep 30') });
    await eventually(() => eventsOf('job-signal', 'ack')[0], IN_MEMORY);
    child.kill('SIGTERM');
    // no timer, socket or child left behind keeps it alive
    expect(await exited).toBe(0);
    expect(eventsOf('job-signal', 'result')).toMatchObject([{ status: 'failed' }]);
    expect(stderr).toContain('[agent] stopping');
  });

  it('agent: agent_uninstall acknowledges, reports success, removes the state dir and exits 0', async () => {
    const handle = start('--token', 'enroll-me');
    await eventually(() => (server.connected() === 1 ? true : undefined), IN_MEMORY);
    const uninstall = job('job-uninstall', '', {
      kind: 'agent_uninstall',
      interpreter: 'sh',
      env: { FLEETPLANE_UNINSTALL_REASON: 'decommissioned' },
    });
    server.push({ type: 'job', job: uninstall });
    expect(await handle.exit).toBe(0);
    running.splice(0);
    expect(eventsOf('job-uninstall', 'ack')).toHaveLength(1);
    expect(eventsOf('job-uninstall', 'result')).toMatchObject([{ status: 'succeeded', exit_code: 0 }]);
    expect(existsSync(stateDir)).toBe(false);
    expect(logs).toContain('uninstall requested by the server (decommissioned)');
  });

  it('agent: stopping kills running jobs, reports them and exits 0', async () => {
    const handle = start('--token', 'enroll-me');
    await eventually(() => (server.connected() === 1 ? true : undefined), IN_MEMORY);
    server.push({ type: 'job', job: job('job-long', 'sleep 30') });
    await eventually(() => eventsOf('job-long', 'ack')[0], IN_MEMORY);
    expect(await stopped(handle)).toBe(0);
    expect(eventsOf('job-long', 'result')).toMatchObject([
      { status: 'failed', error: 'the agent stopped while the job was running' },
    ]);
    await eventually(() => (server.connected() === 0 ? true : undefined), IN_MEMORY);
  });
});
