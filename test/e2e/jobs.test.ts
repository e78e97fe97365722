import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untilOnline, type AgentProcess } from '../support/agents.js';
import { expectStatus } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects } from '../support/harness.js';
import {
  EventsClient,
  enrollmentToken,
  isAlive,
  job,
  outputText,
  pidsIn,
  startAgent,
  startServer,
  tempDir,
  untilJob,
  useLeakGuard,
  type E2EServer,
} from './support.js';

useLeakGuard();

describe.each(dialects)('e2e jobs on %s', (dialect) => {
  let server: E2EServer;
  let agent: AgentProcess;
  let work: string;
  beforeAll(async () => {
    server = await startServer(dialect);
    agent = await startAgent(server, { token: await enrollmentToken(server), maxJobs: 4 });
    await untilOnline(server, server.token, agent.id);
    work = tempDir('jobs');
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });
  // Streaming, timeouts, cancels and polling are the agent's and the gateway's: they run the
  // same on either database, so they run on SQLite only and keep the suite short.
  const agentSide = it.runIf(dialect === 'sqlite');

  const run = (body: Record<string, unknown>, wait?: number) =>
    server.api('POST', `/api/v1/agents/${agent.id}/jobs${wait ? `?wait=${wait}` : ''}`, { body });

  it('e2e: a sync job answers 200 with its final status, exit code and output', async () => {
    const done = await expectStatus(run({ interpreter: 'bash', command: 'echo hello; echo world' }, 10), 200);
    expect(done).toMatchObject({ status: 'succeeded', exit_code: 0, attempt: 1, agent_id: agent.id });
    expect(done.finished_at).not.toBeNull();
    expect(done.output).toBe('hello\nworld\n');
    expect(await outputText(server, done.id)).toBe(done.output);

    const failed = await expectStatus(
      run({ interpreter: 'bash', command: 'echo out; echo err >&2; exit 3' }, 10),
      200,
    );
    expect(failed).toMatchObject({ status: 'failed', exit_code: 3 });
    expect(failed.output).toContain('out\n');
    expect(failed.output).toContain('err\n');
    expect(await outputText(server, failed.id)).toBe(failed.output);
  });

  it('e2e: an async job answers 202 at once and is polled to its end', async () => {
    const accepted = await expectStatus(run({ interpreter: 'sh', command: 'sleep 0.5; echo later' }), 202);
    expect(['queued', 'dispatched', 'running']).toContain(accepted.status);
    expect(accepted).not.toHaveProperty('output');
    const done = await untilJob(server, accepted.id, (j) => j.status === 'succeeded');
    expect(done).toMatchObject({ exit_code: 0, attempt: 1 });
    expect(await outputText(server, accepted.id)).toBe('later\n');
  });

  agentSide(
    'e2e: output is streamed live to an events client, in order, before the final state',
    async () => {
      const events = await EventsClient.open(server);
      // Each line waits for its own gate, opened only once the line before reached the client:
      // the client can only have seen line 1 while the script was still running.
      const gates = path.join(work, `gate-${Date.now()}`);
      const accepted = await expectStatus(
        run({
          interpreter: 'bash',
          command: 'for i in 1 2 3; do while [ ! -e "$GATES.$i" ]; do sleep 0.05; done; echo line$i; done',
          env: { GATES: gates },
        }),
        202,
      );
      await events.subscribe(accepted.id);
      const isOutput = (e: { type: string; job_id?: string }) =>
        e.type === 'job.output' && e.job_id === accepted.id;
      for (const i of [1, 2, 3]) {
        writeFileSync(`${gates}.${i}`, '');
        await events.next((e) => isOutput(e) && e.data.includes(`line${i}`));
        if (i < 3) expect((await job(server, accepted.id)).status).toBe('running');
      }
      const final = await events.next(
        (e) => e.type === 'job.state' && e.job_id === accepted.id && e.status === 'succeeded',
      );
      const output = events.events.filter(isOutput);
      expect(output.map((e) => e.data).join('')).toBe('line1\nline2\nline3\n');
      expect(output.map((e) => e.seq)).toEqual([0, 1, 2]);
      expect(events.events.indexOf(final)).toBeGreaterThan(events.events.indexOf(output.at(-1)!));
      expect(await outputText(server, accepted.id)).toBe('line1\nline2\nline3\n');
      events.close();
    },
  );

  agentSide('e2e: a job past its timeout is timed_out and its children are killed', async () => {
    const pidFile = path.join(work, `timeout-${Date.now()}.pids`);
    const done = await expectStatus(
      run(
        {
          interpreter: 'bash',
          command: 'sleep 60 & echo $! >> "$F"; sleep 60 & echo $! >> "$F"; echo $$ >> "$F"; wait',
          env: { F: pidFile },
          timeout_seconds: 1,
        },
        20,
      ),
      200,
    );
    expect(done.status).toBe('timed_out');
    expect(done.error).toMatch(/timed out/);
    const pids = pidsIn(pidFile);
    expect(pids).toHaveLength(3);
    await eventually(() => pids.every((pid) => !isAlive(pid)), {
      timeoutMs: 10_000,
      what: `pids ${pids.join(', ')} to be gone`,
    });
  });

  agentSide('e2e: a canceled job ends canceled and its process is gone', async () => {
    const pidFile = path.join(work, `cancel-${Date.now()}.pids`);
    const accepted = await expectStatus(
      run({
        interpreter: 'bash',
        command: 'sleep 60 & echo $! >> "$F"; echo $$ >> "$F"; wait',
        env: { F: pidFile },
      }),
      202,
    );
    await untilJob(server, accepted.id, (j) => j.status === 'running');
    const pids = await eventually(() => (pidsIn(pidFile).length === 2 ? pidsIn(pidFile) : undefined), {
      what: 'the job to write its pids',
    });
    expect(pids.every(isAlive)).toBe(true);

    const cancel = await server.api('POST', `/api/v1/jobs/${accepted.id}/cancel`);
    expect(cancel.status).toBe(202);
    expect(cancel.body.cancel_requested_at).not.toBeNull();
    const done = await untilJob(server, accepted.id, (j) => j.status !== 'running', 15_000);
    expect(done.status).toBe('canceled');
    await eventually(() => pids.every((pid) => !isAlive(pid)), {
      timeoutMs: 10_000,
      what: `pids ${pids.join(', ')} to be gone`,
    });
    expect((await job(server, accepted.id)).status).toBe('canceled');
  });

  agentSide('e2e: an agent on the HTTP fallback runs a sync job', async () => {
    const polling = await startAgent(server, {
      token: await enrollmentToken(server),
      transport: 'http',
    });
    await polling.proc.waitFor(/connected \(HTTP polling/);
    // connected means holding a WebSocket: a polling agent is online without one
    await untilOnline(server, server.token, polling.id, { connected: false });
    const done = await expectStatus(
      server.api('POST', `/api/v1/agents/${polling.id}/jobs?wait=15`, {
        body: { interpreter: 'bash', command: 'echo "over http"; exit 0' },
      }),
      200,
    );
    expect(done).toMatchObject({ status: 'succeeded', exit_code: 0, agent_id: polling.id });
    expect(await outputText(server, done.id)).toBe('over http\n');
  });
});
