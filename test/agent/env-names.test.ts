import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLog } from '../../src/agent/log.js';
import { JobRunner } from '../../src/agent/runner.js';
import type { ResultEvent } from '../../src/agent/spool.js';
import type { JobEvent, JobSpec } from '../../src/protocol/agent.js';
import { eventually, IN_MEMORY } from '../support/eventually.js';

/**
 * Defence in depth: the server refuses environment names that are not portable, and an agent
 * that receives one anyway (an older or a compromised server) fails the job without running it,
 * rather than hand the child a name like `A=B;id`.
 */
describe.runIf(process.platform !== 'win32')('agent: environment names', () => {
  let runner: JobRunner | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await runner?.stop('test over');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function start() {
    const events: JobEvent[] = [];
    runner = new JobRunner({
      maxJobs: 2,
      platform: process.platform,
      baseEnv: process.env,
      python: undefined,
      defaultCwd: os.tmpdir(),
      tmpDir: os.tmpdir(),
      sink: {
        event: (e) => events.push(e),
        started: async () => undefined,
        result: async (r) => void events.push(r),
        congested: () => false,
      },
      log: silentLog,
    });
    const result = (jobId: string) =>
      eventually(
        () => events.find((e): e is ResultEvent => e.type === 'result' && e.job_id === jobId),
        IN_MEMORY,
      );
    const output = (jobId: string) =>
      events.flatMap((e) => (e.type === 'output' && e.job_id === jobId ? [e.data] : [])).join('');
    return { runner, result, output };
  }

  const spec = (jobId: string, command: string, env: Record<string, string>): JobSpec => ({
    job_id: jobId,
    attempt: 1,
    kind: 'exec',
    interpreter: 'sh',
    command,
    env,
    cwd: null,
    timeout_seconds: 30,
  });

  it('agent: a job whose env holds "A=B;id", "" or "lower-case" fails without running', async () => {
    const { runner, result } = start();
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-env-names-'));
    const names = ['A=B;id', '', 'lower-case', '1ST', 'X'.repeat(129)];
    for (const [i, name] of names.entries()) {
      const marker = path.join(dir, `ran-${i}`);
      runner.submit(spec(`bad-${i}`, `touch "${marker}"`, { OK: '1', [name]: 'x' }));
      const final = await result(`bad-${i}`);
      expect(final, name).toMatchObject({ status: 'failed', exit_code: null });
      expect(final.error, name).toContain(JSON.stringify(name));
      expect(existsSync(marker), name).toBe(false);
    }
  });

  it('agent: lower-case and 128-character names reach the child exactly', async () => {
    const { runner, result, output } = start();
    const long = `L${'o'.repeat(127)}`;
    runner.submit(
      spec('good', `printf '%s|%s' "$lower_case" "$${long}"`, { lower_case: 'a b', [long]: '$(id)' }),
    );
    expect(await result('good')).toMatchObject({ status: 'succeeded', exit_code: 0 });
    expect(output('good')).toBe('a b|$(id)');
  });
});
