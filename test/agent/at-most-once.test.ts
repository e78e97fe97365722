import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent/agent.js';
import { parseAgentArgs } from '../../src/agent/main.js';
import { RESTARTED_ERROR } from '../../src/agent/started.js';
import type { JobSpec } from '../../src/protocol/agent.js';
import { eventually, IN_MEMORY } from '../support/eventually.js';
import { FakeAgentServer } from './fake-server.js';

const FINGERPRINT = 'test-fingerprint-0002';

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: already gone
  }
}

describe.runIf(process.platform !== 'win32')('agent: at most once', () => {
  let server: FakeAgentServer;
  let dir: string;
  let stateDir: string;
  const agents: { agent: Agent; exit: Promise<number> }[] = [];
  /** Process groups of job scripts that outlived the agent killed under them. */
  const orphans: number[] = [];

  beforeEach(async () => {
    server = await new FakeAgentServer().start();
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-at-most-once-'));
    stateDir = path.join(dir, 'state');
  });
  afterEach(async () => {
    for (const { agent, exit } of agents.splice(0)) {
      agent.stop();
      await exit;
    }
    for (const pgid of orphans.splice(0)) killGroup(pgid);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('agent: a job running when the agent is SIGKILLed is reported failed after the restart, never run again', async () => {
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
      { stdio: 'ignore', env: { ...process.env, FLEETPLANE_AGENT_FINGERPRINT: FINGERPRINT } },
    );
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await eventually(() => (server.connected() === 1 ? true : undefined), {
      ...IN_MEMORY,
      timeoutMs: 30_000,
    });
    const marker = path.join(dir, 'runs');
    const spec: JobSpec = {
      job_id: '0190a1b2-0000-7000-8000-00000000a001',
      attempt: 1,
      kind: 'exec',
      interpreter: 'bash',
      command: 'echo $$ >> "$MARKER"; sleep 30',
      env: { MARKER: marker },
      cwd: null,
      timeout_seconds: 60,
    };
    server.push({ type: 'job', job: spec });
    const pgid = await eventually(
      () => (existsSync(marker) ? Number(readFileSync(marker, 'utf8').trim()) || undefined : undefined),
      IN_MEMORY,
    );
    orphans.push(pgid);
    // the start is on disk while the job runs
    expect(readdirSync(path.join(stateDir, 'started'))).toEqual([`${spec.job_id}.json`]);
    child.kill('SIGKILL');
    await exited;
    // unacknowledged, the result stays on disk and answers a delivery of the job
    server.ackResults = false;

    const parsed = parseAgentArgs(['--server', server.url, '--state-dir', stateDir], {
      ...process.env,
      FLEETPLANE_AGENT_FINGERPRINT: FINGERPRINT,
    });
    if (parsed.kind !== 'run') throw new Error('bad flags');
    const logs: string[] = [];
    const agent = new Agent(parsed.config, (line) => logs.push(line));
    agents.push({ agent, exit: agent.run() });
    const results = () => server.events().filter((e) => e.type === 'result' && e.job_id === spec.job_id);
    await eventually(() => results()[0], IN_MEMORY);
    expect(results()[0]).toEqual({
      type: 'result',
      job_id: spec.job_id,
      attempt: 1,
      status: 'failed',
      exit_code: null,
      duration_ms: 0,
      error: RESTARTED_ERROR,
    });
    // the restarted agent says it holds the job, so the server does not hand it out again
    expect(server.frames.findLast((f) => f.type === 'hello')).toMatchObject({
      running_job_ids: [spec.job_id],
    });
    expect(readdirSync(path.join(stateDir, 'started'))).toEqual([]);
    expect(readdirSync(path.join(stateDir, 'spool'))).toEqual([`${spec.job_id}.json`]);

    // delivered again: the result is sent again, the command is not run
    server.push({ type: 'job', job: spec });
    await eventually(() => results()[1], IN_MEMORY);
    expect(results()[1]).toMatchObject({ status: 'failed', error: RESTARTED_ERROR });
    expect(logs.join('\n')).toContain(`job ${spec.job_id} was running when the agent stopped`);
    expect(readFileSync(marker, 'utf8').trim().split('\n')).toHaveLength(1);
  });
});
