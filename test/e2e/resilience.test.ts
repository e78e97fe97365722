import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EventsClient,
  adoptOrphanGroup,
  agentRecord,
  dialects,
  enrollmentToken,
  eventually,
  exitOf,
  job,
  ok,
  outputText,
  pidsIn,
  startAgent,
  startServer,
  tempDir,
  untilJob,
  untilOnline,
  useLeakGuard,
  type E2EServer,
} from './support.js';

useLeakGuard();

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
/** Sessions the agent opened so far, by its log: over the WebSocket or polling over HTTP. */
const connections = (output: string[]) =>
  output.filter((line) => /\] connected \(|polling over HTTP/.test(line)).length;

describe.each(dialects)('e2e resilience on %s', (dialect) => {
  let server: E2EServer;
  let work: string;
  beforeAll(async () => {
    server = await startServer(dialect);
    work = tempDir('resilience');
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('e2e: a result survives a server restart and lands once', { timeout: 150_000 }, async () => {
    const agent = await startAgent(server, { token: await enrollmentToken(server) });
    await untilOnline(server, agent.id);
    // Each job notes every start in its runs file, then waits for its gate: one is let through
    // while the server is down (its result waits in the agent's spool), the other once it is back.
    const stamp = Date.now();
    const files = (name: string) => ({
      RUNS: path.join(work, `${name}-${stamp}.runs`),
      GATE: path.join(work, `${name}-${stamp}.gate`),
    });
    const offline = files('offline');
    const online = files('online');
    const create = async (env: Record<string, string>) =>
      ok(
        await server.api('POST', `/api/v1/agents/${agent.id}/jobs`, {
          body: {
            interpreter: 'bash',
            command: 'echo started >> "$RUNS"; while [ ! -e "$GATE" ]; do sleep 0.05; done; echo done',
            env,
          },
        }),
        202,
      ).id as string;
    const ids = [await create(offline), await create(online)];
    for (const id of ids) await untilJob(server, id, (j) => j.status === 'running');

    expect(await server.stop()).toBe(0);
    writeFileSync(offline.GATE, '');
    await agent.proc.waitFor(new RegExp(`job ${ids[0]} succeeded`));
    const sessions = connections(agent.proc.output);
    await server.start();
    // the stored agent still reads connected from before the stop: its own log tells it is back
    await eventually(() => connections(agent.proc.output) > sessions, {
      timeoutMs: 60_000,
      what: 'the agent to reconnect',
    });
    await untilOnline(server, agent.id);
    await untilJob(server, ids[1]!, (j) => j.status === 'running');
    writeFileSync(online.GATE, '');

    const finals = [];
    for (const id of ids) finals.push(await untilJob(server, id, (j) => j.status === 'succeeded', 30_000));
    for (const done of finals) expect(done).toMatchObject({ attempt: 1, exit_code: 0 });
    // output printed while the server was down is replayed before the result, and stored once
    expect(await outputText(server, ids[0]!)).toBe('done\n');
    expect(await outputText(server, ids[1]!)).toBe('done\n');
    const jobs = ok(await server.api('GET', `/api/v1/jobs?agent_id=${agent.id}`), 200).items;
    expect(jobs.map((j: any) => j.id).sort()).toEqual([...ids].sort());
    // nothing applies a second result or runs a job again: some heartbeats and sweeps later all is the same
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    for (const done of finals) {
      expect(await job(server, done.id)).toMatchObject({
        status: 'succeeded',
        attempt: 1,
        finished_at: done.finished_at,
      });
    }
    expect(lines(offline.RUNS)).toEqual(['started']);
    expect(lines(online.RUNS)).toEqual(['started']);
  });

  // leases and liveness are swept by the same code on either database: SQLite only, for time
  it.runIf(dialect === 'sqlite')(
    'e2e: a job of a killed agent is re-queued at lease expiry and runs again',
    { timeout: 60_000 },
    async () => {
      const first = await startAgent(server, { token: await enrollmentToken(server) });
      await untilOnline(server, first.id);
      const pids = path.join(work, `killed-${Date.now()}.pids`);
      const accepted = ok(
        await server.api('POST', `/api/v1/agents/${first.id}/jobs`, {
          body: { interpreter: 'bash', command: 'echo $$ >> "$F"; sleep 2; echo done', env: { F: pids } },
        }),
        202,
      );
      await untilJob(server, accepted.id, (j) => j.status === 'running');
      const [orphan] = await eventually(() => (pidsIn(pids).length > 0 ? pidsIn(pids) : undefined), {
        what: 'the job to write its pid',
      });
      // the script leads its own process group and outlives its agent: the guard ends it
      adoptOrphanGroup(orphan!);

      first.proc.child.kill('SIGKILL');
      await exitOf(first.proc);
      const requeued = await untilJob(server, accepted.id, (j) => j.status === 'queued', 15_000);
      expect(requeued).toMatchObject({ attempt: 1, lease_expires_at: null });

      const again = await startAgent(server, { stateDir: first.stateDir, fingerprint: first.fingerprint });
      expect(again.id).toBe(first.id);
      const done = await untilJob(server, accepted.id, (j) => j.status === 'succeeded', 30_000);
      expect(done).toMatchObject({ attempt: 2, exit_code: 0 });
      expect(await outputText(server, accepted.id)).toBe('done\n');
    },
  );

  it.runIf(dialect === 'sqlite')(
    'e2e: a server paused mid-job neither re-runs the job nor drops the agent',
    { timeout: 60_000 },
    async () => {
      const agent = await startAgent(server, { token: await enrollmentToken(server) });
      await untilOnline(server, agent.id);
      const events = await EventsClient.open(server);
      const env = {
        RUNS: path.join(work, `paused-${Date.now()}.runs`),
        GATE: path.join(work, `paused-${Date.now()}.gate`),
      };
      const id = ok(
        await server.api('POST', `/api/v1/agents/${agent.id}/jobs`, {
          body: {
            interpreter: 'bash',
            command: 'echo started >> "$RUNS"; while [ ! -e "$GATE" ]; do sleep 0.05; done; echo done',
            env,
          },
        }),
        202,
      ).id as string;
      await untilJob(server, id, (j) => j.status === 'running');
      // Longer than a lease and the offline threshold: when the server resumes, the heartbeats
      // that kept both alive are still unread on its sockets.
      server.proc.child.kill('SIGSTOP');
      await new Promise((resolve) => setTimeout(resolve, 2_300));
      server.proc.child.kill('SIGCONT');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      writeFileSync(env.GATE, '');

      const done = await untilJob(server, id, (j) => j.status === 'succeeded');
      expect(done).toMatchObject({ attempt: 1, exit_code: 0 });
      expect(await outputText(server, id)).toBe('done\n');
      expect(lines(env.RUNS)).toEqual(['started']);
      const mine = events.events.filter((e) => e.agent_id === agent.id || e.job_id === id);
      // one pass through the states: never re-queued, never dispatched again
      expect(mine.filter((e) => e.type === 'job.state').map((e) => e.status)).toEqual([
        'queued',
        'dispatched',
        'running',
        'succeeded',
      ]);
      expect(mine.filter((e) => e.type === 'agent.status' && e.status !== 'online')).toEqual([]);
      expect(await agentRecord(server, agent.id)).toMatchObject({ status: 'online', connected: true });
      events.close();
    },
  );
});
