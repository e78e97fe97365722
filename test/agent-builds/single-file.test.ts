import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
  closeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { publishBuilds } from '../support/agent-builds.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltAgent } from '../../scripts/build-agents.js';
import { enrollmentToken, untilOnline } from '../support/agents.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { runProcess, stopProcess, uniqueFingerprint, type Proc } from '../support/processes.js';
import { buildLinuxAgent } from './build.js';

/**
 * The single-file agent end to end on Linux, with two real builds made by `npm run build:agents`
 * (v1, v2; built once for the file): v1 enrolls and runs a job; then it updates itself to v2,
 * refuses a broken v3 whose manifest matches its bytes (only the trial can catch it) and a v4
 * whose bytes changed after the server read its manifest (the download is not what was signed).
 */

const V1 = '0.0.1-test';
const V2 = '0.0.2-test';
const V3 = '0.0.3-test';
const V4 = '0.0.4-test';
const FILE = 'fleetplane-agent-linux-x64';

/** Heartbeats every 500 ms: the server looks for updates every 4 of them (2 s). */
const FAST_FLEET = {
  heartbeatIntervalMs: 500,
  offlineAfterMs: 10_000,
  heartbeatFlushMs: 200,
  leaseMs: 10_000,
  sweepIntervalMs: 1000,
};

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

let work: string;
let v1: BuiltAgent & { path: string };
let v2: BuiltAgent & { path: string };

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-self-update-'));
  // one after the other: the first may fetch the Node binary the second reuses
  v1 = await buildLinuxAgent(V1, path.join(work, V1));
  v2 = await buildLinuxAgent(V2, path.join(work, V2));
}, 240_000);
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

it('agent builds: build:agents writes the executable and its manifest: version, SHA-256, size', async () => {
  const manifest = JSON.parse(readFileSync(path.join(work, V1, 'manifest.json'), 'utf8'));
  expect(manifest).toMatchObject({
    version: V1,
    node_version: process.versions.node,
    builds: [{ os: 'linux', arch: 'x64', file: FILE, sha256: sha256(v1.path), size: statSync(v1.path).size }],
  });
  const proc = runProcess(v1.path, ['--version'], {});
  expect(await exitOf(proc)).toBe(0);
  expect(proc.output).toEqual([V1]);
});

/** Puts a build in the server's builds dir, the manifest last, as build:agents leaves it. */
function publish(dir: string, version: string, bytes: Buffer | string): void {
  publishBuilds(dir, version, [{ os: 'linux', arch: 'x64', file: FILE, bytes }]);
}

describe.each(dialects)('agent builds: self-update on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let dir: string;
  let buildsDir: string;
  const procs: Proc[] = [];
  const pids: number[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-self-update-run-'));
    buildsDir = path.join(dir, 'builds');
    mkdirSync(buildsDir);
    server = await startTestServer(dialect, { config: { agentBuildsDir: buildsDir, fleet: FAST_FLEET } });
    owner = await signup(server);
  });
  afterEach(async ({ task }) => {
    if (task.result?.state === 'fail')
      for (const proc of procs) console.error(proc.output.slice(-40).join('\n'));
  });
  afterAll(async () => {
    // the agents the updates restarted are not children of the test: ended by pid
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    for (const proc of procs) await stopProcess(proc);
    await eventually(() => pids.every((pid) => !isAlive(pid)), { what: 'the restarted agents to exit' });
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const status = async () =>
    expectStatus(call(server, 'GET', '/api/v1/agent-updates', { token: owner.token }), 200);
  const record = async (id: string) =>
    expectStatus(call(server, 'GET', `/api/v1/agents/${id}`, { token: owner.token }), 200);
  const setPolicy = (body: object) =>
    expectStatus(call(server, 'PUT', '/api/v1/agent-updates', { token: owner.token, body }), 200);

  /** The v1 agent, installed in a dir of its own: the second test updates the first one's agent. */
  let agent: Proc;
  let id: string;
  let installed: string;
  let args: string[];
  /**
   * On PostgreSQL the agent runs as under a service manager (the test restarts it when it exits
   * 75); on SQLite on its own (it starts the new build itself): both ways of restarting are seen.
   */
  const supervised = dialect === 'postgres';
  const env = {
    FLEETPLANE_AGENT_FINGERPRINT: uniqueFingerprint(),
    ...(supervised ? { FLEETPLANE_AGENT_SUPERVISED: '1' } : {}),
  };

  it('agent builds: the Linux x64 executable enrolls against a server and runs a job', async () => {
    installed = path.join(dir, 'bin', 'fleetplane-agent');
    mkdirSync(path.dirname(installed));
    copyFileSync(v1.path, installed);
    const { secret } = await enrollmentToken(server, owner);
    const stateDir = path.join(dir, 'state');
    args = ['--server', server.url, '--token', secret, '--state-dir', stateDir];
    agent = runProcess(installed, args, env);
    procs.push(agent);
    id = (await agent.waitFor(/registered as agent (\S+)/, 30_000))[1] ?? '';
    expect(await untilOnline(server, owner.token, id)).toMatchObject({ agent_version: V1, arch: 'x64' });
    // it kept the server's build-signing key from its registration
    const state = JSON.parse(readFileSync(path.join(stateDir, 'agent.json'), 'utf8'));
    expect(state.update_public_key).toMatch(/^[A-Za-z0-9+/=]{40,}$/);

    const job = await expectStatus(
      call(server, 'POST', `/api/v1/agents/${id}/jobs?wait=30`, {
        token: owner.token,
        body: { interpreter: 'sh', command: 'uname -a' },
      }),
      200,
    );
    expect(job).toMatchObject({ status: 'succeeded', exit_code: 0 });
    expect(job.output).toMatch(/^Linux /);
  });

  it('agent builds: v1 updates itself to v2, rejects a broken v3 and a tampered v4, and stays on v2', async () => {
    expect(id).toBeTruthy();

    // v2 on the server: offered at a heartbeat, fetched, tried, swapped, restarted
    publish(buildsDir, V2, v2.path);
    const v1Agent = agent;
    if (supervised) {
      expect(await exitOf(v1Agent)).toBe(75);
      agent = runProcess(installed, args, env);
      procs.push(agent);
    } else {
      const restarted = await v1Agent.waitFor(/restarted as pid (\d+)/, 30_000);
      pids.push(Number(restarted[1]));
      expect(await exitOf(v1Agent)).toBe(0);
    }
    await eventually(async () => (await record(id)).agent_version === V2 && (await record(id)).connected, {
      what: 'the agent back on v2',
    });
    expect(sha256(installed)).toBe(v2.sha256);
    expect(sha256(`${installed}.previous`)).toBe(v1.sha256);
    expect((await status()).agents).toEqual([
      expect.objectContaining({ agent_id: id, version: V2, offered_version: V2, outcome: 'updated' }),
    ]);
    expect(v1Agent.output.join('\n')).toMatch(/update 0\.0\.2-test: trial passed/);
    const listed = await expectStatus(
      call(server, 'GET', '/api/v1/agent-builds', { token: owner.token }),
      200,
    );
    expect(listed.items).toEqual([
      expect.objectContaining({ version: V2, sha256: v2.sha256, size: v2.size }),
    ]);

    // a broken v3 whose manifest matches its bytes: the trial fails, v2 keeps running
    publish(buildsDir, V3, Buffer.from('#!/bin/sh\necho "v3 cannot start" >&2\nexit 1\n'));
    const failed = await eventually(
      async () => (await status()).agents.find((a: any) => a.agent_id === id && a.outcome === 'failed'),
      { what: 'the v3 failure' },
    );
    expect(failed).toMatchObject({ version: V2, offered_version: V3 });
    expect(failed.reason).toMatch(/trial exited 1: v3 cannot start/);
    expect(sha256(installed)).toBe(v2.sha256);
    expect(existsSync(`${installed}.new`)).toBe(false);
    expect(await record(id)).toMatchObject({ agent_version: V2, connected: true });
    // not offered again: an update check later (one each 4 heartbeats, 2 s here) it is still the failure on record
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await status()).agents).toEqual([
      expect.objectContaining({ outcome: 'failed', updated_at: failed.updated_at }),
    ]);

    // v4 published while paused, then changed on disk: the download is not what was signed
    await setPolicy({ paused: true, stage: 'all', canary_group_id: null });
    publish(buildsDir, V4, v1.path);
    const v4 = await expectStatus(call(server, 'GET', '/api/v1/agent-builds', { token: owner.token }), 200);
    expect(v4.items[0].version).toBe(V4);
    const fd = openSync(path.join(buildsDir, FILE), 'r+');
    writeSync(fd, Buffer.from('tampered'), 0, 8, 4096);
    closeSync(fd);
    await setPolicy({ paused: false, stage: 'all', canary_group_id: null });
    const refused = await eventually(
      async () =>
        (await status()).agents.find((a: any) => a.offered_version === V4 && a.outcome === 'failed'),
      { what: 'the v4 refusal' },
    );
    expect(refused.reason).toMatch(/SHA-256 [0-9a-f]{64} is not the signed/);
    expect(sha256(installed)).toBe(v2.sha256);
    expect(await record(id)).toMatchObject({ agent_version: V2, connected: true });
  });
});

function exitOf(proc: Proc): Promise<number | null> {
  if (proc.child.exitCode !== null) return Promise.resolve(proc.child.exitCode);
  return new Promise((resolve) => proc.child.once('exit', resolve));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
