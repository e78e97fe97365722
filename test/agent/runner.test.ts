import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLog } from '../../src/agent/log.js';
import { JobRunner, type RunnerSink } from '../../src/agent/runner.js';
import type { ResultEvent } from '../../src/agent/spool.js';
import type { JobEvent, JobSpec } from '../../src/protocol/agent.js';
import { eventually, IN_MEMORY } from '../support/eventually.js';

const posix = process.platform !== 'win32';

function spec(jobId: string, command: string, extra: Partial<JobSpec> = {}): JobSpec {
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

/** A runner whose sink records every event, with congestion and the start record under the test's control. */
function harness(maxJobs = 4) {
  const events: JobEvent[] = [];
  const state = { congested: false, startFails: false };
  /** Jobs whose start was recorded, with whether a file the job writes existed at that moment. */
  const starts: { jobId: string; markerExisted: boolean }[] = [];
  const sink: RunnerSink = {
    event: (event) => events.push(event),
    started: async (job) => {
      if (state.startFails) throw new Error('no space left on device');
      const marker = job.env.MARKER;
      starts.push({ jobId: job.job_id, markerExisted: marker !== undefined && existsSync(marker) });
    },
    result: async (result) => {
      events.push(result);
    },
    congested: () => state.congested,
  };
  const runner = new JobRunner({
    maxJobs,
    platform: process.platform,
    baseEnv: process.env,
    python: undefined,
    defaultCwd: os.tmpdir(),
    tmpDir: os.tmpdir(),
    sink,
    log: silentLog,
  });
  const of = (jobId: string) => events.filter((event) => event.job_id === jobId);
  const result = (jobId: string) =>
    eventually(() => of(jobId).find((event): event is ResultEvent => event.type === 'result'), IN_MEMORY);
  const text = (jobId: string, stream: 'stdout' | 'stderr') =>
    of(jobId)
      .flatMap((event) => (event.type === 'output' && event.stream === stream ? [event.data] : []))
      .join('');
  return { runner, events, state, starts, of, result, text };
}

/** Live (not zombie) processes whose process group is pgid, from /proc. */
function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // fields after the command name, which may itself contain spaces and parentheses
      const [state, , group] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(group) === pgid && state !== 'Z') members.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return members;
}

describe.runIf(posix)('agent runner', () => {
  let current: JobRunner | undefined;
  afterEach(async () => {
    await current?.stop('test over');
  });
  const setup = (maxJobs?: number) => {
    const h = harness(maxJobs);
    current = h.runner;
    return h;
  };

  it('agent: a failing job reports its output in order and failed with its exit code', async () => {
    const { runner, of, result, text } = setup();
    runner.submit(spec('j-out', 'echo hello; echo err >&2; exit 3'));
    const final = await result('j-out');
    expect(final).toMatchObject({ status: 'failed', exit_code: 3, attempt: 1 });
    expect(final.duration_ms).toBeGreaterThanOrEqual(0);
    const events = of('j-out');
    expect(events[0]).toEqual({ type: 'ack', job_id: 'j-out', attempt: 1 });
    expect(events.at(-1)).toBe(final);
    const seqs = events.flatMap((event) => (event.type === 'output' ? [event.seq] : []));
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(text('j-out', 'stdout')).toBe('hello\n');
    expect(text('j-out', 'stderr')).toBe('err\n');
  });

  it('agent: a job gets its env and cwd, and succeeds with exit 0', async () => {
    const { runner, result, text } = setup();
    runner.submit(spec('j-env', 'echo "$GREETING"; pwd', { env: { GREETING: 'héllo' }, cwd: '/' }));
    expect(await result('j-env')).toMatchObject({ status: 'succeeded', exit_code: 0 });
    expect(text('j-env', 'stdout')).toBe('héllo\n/\n');
  });

  it('agent: timeout kills the whole process group', async () => {
    const { runner, of, result } = setup();
    runner.submit(spec('j-timeout', 'echo $$; sleep 30 & sleep 30; wait', { timeout_seconds: 1 }));
    const leader = await eventually(() => {
      const first = of('j-timeout').find((event) => event.type === 'output');
      return first?.type === 'output' ? Number(first.data.trim()) : undefined;
    }, IN_MEMORY);
    const members = await eventually(() => {
      const found = groupMembers(leader);
      return found.length >= 3 ? found : undefined;
    }, IN_MEMORY);
    expect(await result('j-timeout')).toMatchObject({
      status: 'timed_out',
      exit_code: null,
      error: 'timed out after 1s',
    });
    // bash and both sleeps are gone, including the background one
    await eventually(() => (groupMembers(leader).length === 0 ? true : undefined), {
      ...IN_MEMORY,
      timeoutMs: 5_000,
    });
    expect(members.filter((pid) => groupMembers(leader).includes(pid))).toEqual([]);
  });

  it('agent: cancel kills a running job and reports canceled', async () => {
    const { runner, of, result } = setup();
    runner.submit(spec('j-cancel', 'echo $$; sleep 30 & sleep 30; wait'));
    const leader = await eventually(() => {
      const first = of('j-cancel').find((event) => event.type === 'output');
      return first?.type === 'output' ? Number(first.data.trim()) : undefined;
    }, IN_MEMORY);
    runner.cancel('j-cancel');
    expect(await result('j-cancel')).toMatchObject({ status: 'canceled', exit_code: null });
    await eventually(() => (groupMembers(leader).length === 0 ? true : undefined), {
      ...IN_MEMORY,
      timeoutMs: 5_000,
    });
  });

  it('agent: jobs beyond --max-jobs wait; a queued job can be canceled; duplicates are ignored', async () => {
    const { runner, of, result } = setup(1);
    expect(runner.submit(spec('j-first', 'sleep 0.3; echo first'))).toBe(true);
    expect(runner.submit(spec('j-first', 'echo again'))).toBe(false);
    expect(runner.submit(spec('j-second', 'echo second'))).toBe(true);
    expect(runner.submit(spec('j-third', 'echo third'))).toBe(true);
    expect(runner.heldJobIds().sort()).toEqual(['j-first', 'j-second', 'j-third']);
    // only one runs: the others are not acknowledged yet
    await eventually(() => (of('j-first').length > 0 ? true : undefined), IN_MEMORY);
    expect(of('j-second')).toEqual([]);
    runner.cancel('j-third');
    expect(await result('j-third')).toMatchObject({ status: 'canceled', exit_code: null, duration_ms: 0 });
    expect(of('j-third').some((event) => event.type === 'ack')).toBe(false);
    expect(await result('j-first')).toMatchObject({ status: 'succeeded' });
    expect(await result('j-second')).toMatchObject({ status: 'succeeded' });
    // a finished job delivered again is not run again
    expect(runner.submit(spec('j-first', 'echo again'))).toBe(false);
    expect(runner.submit(spec('j-first', 'echo retry', { attempt: 2 }))).toBe(true);
    expect(
      await eventually(() => of('j-first').find((e) => e.type === 'result' && e.attempt === 2), IN_MEMORY),
    ).toMatchObject({
      status: 'succeeded',
    });
  });

  it('agent: a job is started only after its start is recorded, and not at all when it cannot be', async () => {
    const { runner, state, starts, result } = setup();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-runner-'));
    try {
      const marker = path.join(dir, 'ran');
      runner.submit(spec('j-marked', 'echo ran >> "$MARKER"', { env: { MARKER: marker } }));
      expect(await result('j-marked')).toMatchObject({ status: 'succeeded' });
      // recorded before the process existed: the file it writes was not there yet
      expect(starts).toEqual([{ jobId: 'j-marked', markerExisted: false }]);
      expect(readFileSync(marker, 'utf8')).toBe('ran\n');

      state.startFails = true;
      const refused = path.join(dir, 'refused');
      runner.submit(spec('j-unrecorded', 'echo ran >> "$MARKER"', { env: { MARKER: refused } }));
      expect(await result('j-unrecorded')).toMatchObject({
        status: 'failed',
        exit_code: null,
        error: 'could not record on disk that the job started, so it was not run: no space left on device',
      });
      expect(existsSync(refused)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('agent: a missing interpreter or working directory fails the job with a reason', async () => {
    const { runner, result } = setup();
    runner.submit(spec('j-cmd', 'dir', { interpreter: 'cmd' }));
    runner.submit(spec('j-cwd', 'true', { cwd: '/no/such/dir' }));
    expect(await result('j-cmd')).toMatchObject({
      status: 'failed',
      exit_code: null,
      error: expect.stringContaining('Windows'),
    });
    expect(await result('j-cwd')).toMatchObject({
      status: 'failed',
      error: 'working directory /no/such/dir does not exist',
    });
  });

  it('agent: output pauses while the transport is congested and resumes after', async () => {
    const { runner, of, state, result, text } = setup();
    state.congested = true;
    // 2 MiB, far more than a pipe holds, so the job must wait for the agent to read
    runner.submit(spec('j-flood', 'head -c 2097152 /dev/zero | tr "\\0" x'));
    await eventually(() => (of('j-flood').some((e) => e.type === 'output') ? true : undefined), IN_MEMORY);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const whilePaused = of('j-flood').length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(of('j-flood').length).toBe(whilePaused);
    expect(of('j-flood').some((e) => e.type === 'result')).toBe(false);
    state.congested = false;
    expect(await result('j-flood')).toMatchObject({ status: 'succeeded' });
    expect(text('j-flood', 'stdout').length).toBe(2_097_152);
  });

  it('agent: stop kills running jobs and reports them failed', async () => {
    const { runner, of, result } = setup();
    runner.submit(spec('j-stop', 'echo started; sleep 30'));
    await eventually(() => (of('j-stop').some((e) => e.type === 'output') ? true : undefined), IN_MEMORY);
    await runner.stop('the agent stopped');
    expect(await result('j-stop')).toMatchObject({ status: 'failed', error: 'the agent stopped' });
    expect(runner.submit(spec('j-late', 'true'))).toBe(false);
  });
});
