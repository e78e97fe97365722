import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLog } from '../../src/agent/log.js';
import { Spool, type ResultEvent } from '../../src/agent/spool.js';
import { RESTARTED_ERROR, restartedResult, StartedJobs } from '../../src/agent/started.js';
import { StateStore } from '../../src/agent/state.js';

const result = (jobId: string, attempt = 1): ResultEvent => ({
  type: 'result',
  job_id: jobId,
  attempt,
  status: 'succeeded',
  exit_code: 0,
  duration_ms: 12,
});

describe('agent spool and state', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-agent-test-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('agent: the spool writes, lists and deletes results, and survives a new instance', async () => {
    const spoolDir = path.join(dir, 'spool');
    const spool = new Spool(spoolDir, silentLog);
    await spool.put(result('0190a1b2-0000-7000-8000-000000000001'));
    await spool.put(result('0190a1b2-0000-7000-8000-000000000002', 3));
    if (process.platform !== 'win32') {
      expect(statSync(spoolDir).mode & 0o777).toBe(0o700);
      expect(statSync(path.join(spoolDir, '0190a1b2-0000-7000-8000-000000000001.json')).mode & 0o777).toBe(
        0o600,
      );
    }

    const reopened = new Spool(spoolDir, silentLog);
    expect(await reopened.list()).toEqual([
      result('0190a1b2-0000-7000-8000-000000000001'),
      result('0190a1b2-0000-7000-8000-000000000002', 3),
    ]);
    // an ack for another attempt leaves the spooled result alone
    expect(await reopened.remove('0190a1b2-0000-7000-8000-000000000002', 2)).toBe(false);
    expect(await reopened.remove('0190a1b2-0000-7000-8000-000000000001', 1)).toBe(true);
    expect(await new Spool(spoolDir, silentLog).list()).toEqual([
      result('0190a1b2-0000-7000-8000-000000000002', 3),
    ]);
  });

  it('agent: the spool never lets a job id name a path, and drops unreadable files', async () => {
    const spoolDir = path.join(dir, 'spool');
    const logged: string[] = [];
    const spool = new Spool(spoolDir, (line) => logged.push(line));
    await spool.put(result('../../escape'));
    writeFileSync(path.join(spoolDir, 'broken.json'), '{"type":');
    expect(await spool.list()).toEqual([result('../../escape')]);
    expect(logged.join('\n')).toContain('broken.json');
    expect(await spool.remove('../../escape', 1)).toBe(true);
    expect(await spool.list()).toEqual([]);
  });

  it('agent: a start record is kept privately until cleared, read back by a new instance', async () => {
    const startedDir = path.join(dir, 'started');
    const jobs = new StartedJobs(startedDir, silentLog);
    const at = new Date('2030-01-02T03:04:05.000Z');
    await jobs.mark({ job_id: '0190a1b2-0000-7000-8000-000000000001', attempt: 2 }, at);
    await jobs.mark({ job_id: '../../escape', attempt: 1 }, at);
    if (process.platform !== 'win32') {
      expect(statSync(startedDir).mode & 0o777).toBe(0o700);
      expect(statSync(path.join(startedDir, '0190a1b2-0000-7000-8000-000000000001.json')).mode & 0o777).toBe(
        0o600,
      );
    }
    const reopened = new StartedJobs(startedDir, silentLog);
    const listed = await reopened.list();
    expect(listed).toHaveLength(2);
    expect(listed).toContainEqual({
      job_id: '0190a1b2-0000-7000-8000-000000000001',
      attempt: 2,
      started_at: at.toISOString(),
    });
    expect(listed).toContainEqual({ job_id: '../../escape', attempt: 1, started_at: at.toISOString() });
    const first = listed.find((job) => job.attempt === 2)!;
    expect(restartedResult(first)).toEqual({
      type: 'result',
      job_id: '0190a1b2-0000-7000-8000-000000000001',
      attempt: 2,
      status: 'failed',
      exit_code: null,
      duration_ms: 0,
      error: RESTARTED_ERROR,
    });
    await reopened.clear('../../escape');
    await reopened.clear('never-started');
    expect(await new StartedJobs(startedDir, silentLog).list()).toEqual([first]);
  });

  it('agent: the state file is private and uninstall removes only what the agent wrote', async () => {
    const stateDir = path.join(dir, 'state');
    const store = new StateStore(stateDir);
    expect(await store.load()).toBeNull();
    await store.save({ fingerprint: 'f'.repeat(32), server: 'http://x', agent_id: 'a', agent_token: 't' });
    expect(await new StateStore(stateDir).load()).toEqual({
      fingerprint: 'f'.repeat(32),
      server: 'http://x',
      agent_id: 'a',
      agent_token: 't',
    });
    if (process.platform !== 'win32') {
      expect(statSync(stateDir).mode & 0o777).toBe(0o700);
      expect(statSync(store.file).mode & 0o777).toBe(0o600);
    }
    await new Spool(store.spoolDir, silentLog).put(result('j1'));
    await new StartedJobs(store.startedDir, silentLog).mark({ job_id: 'j2', attempt: 1 });
    writeFileSync(path.join(stateDir, 'someone-elses.txt'), 'keep me');
    await store.remove();
    expect(() => statSync(store.file)).toThrow();
    expect(() => statSync(store.spoolDir)).toThrow();
    expect(() => statSync(store.startedDir)).toThrow();
    expect(statSync(path.join(stateDir, 'someone-elses.txt')).isFile()).toBe(true);
    rmSync(path.join(stateDir, 'someone-elses.txt'));
    await store.remove();
    expect(() => statSync(stateDir)).toThrow();
  });
});
