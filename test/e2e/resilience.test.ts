import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untilOnline } from '../support/agents.js';
import { expectStatus } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects } from '../support/harness.js';
import {
  EventsClient,
  FAST_FLEET,
  adoptOrphanGroup,
  agentRecord,
  enrollmentToken,
  exitOf,
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
  /** A job that notes its start in $RUNS, then waits for $GATE to exist; answers its id. */
  const gatedJob = async (agentId: string, env: { RUNS: string; GATE: string }) =>
    (
      await expectStatus(
        server.api('POST', `/api/v1/agents/${agentId}/jobs`, {
          body: {
            interpreter: 'bash',
            command: 'echo started >> "$RUNS"; while [ ! -e "$GATE" ]; do sleep 0.05; done; echo done',
            env,
          },
        }),
        202,
      )
    ).id as string;

  it('e2e: a result survives a server restart and lands once', { timeout: 150_000 }, async () => {
    const agent = await startAgent(server, { token: await enrollmentToken(server) });
    await untilOnline(server, server.token, agent.id);
    // Each job notes every start in its runs file, then waits for its gate: one is let through
    // while the server is down (its result waits in the agent's spool), the other once it is back.
    const stamp = Date.now();
    const files = (name: string) => ({
      RUNS: path.join(work, `${name}-${stamp}.runs`),
      GATE: path.join(work, `${name}-${stamp}.gate`),
    });
    const offline = files('offline');
    const online = files('online');
    const ids = [await gatedJob(agent.id, offline), await gatedJob(agent.id, online)];
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
    await untilOnline(server, server.token, agent.id);
    await untilJob(server, ids[1]!, (j) => j.status === 'running');
    writeFileSync(online.GATE, '');

    const finals = [];
    for (const id of ids) finals.push(await untilJob(server, id, (j) => j.status === 'succeeded', 30_000));
    for (const done of finals) expect(done).toMatchObject({ attempt: 1, exit_code: 0 });
    // output printed while the server was down is replayed before the result, and stored once
    expect(await outputText(server, ids[0]!)).toBe('done\n');
    expect(await outputText(server, ids[1]!)).toBe('done\n');
    const jobs = (await expectStatus(server.api('GET', `/api/v1/jobs?agent_id=${agent.id}`), 200)).items;
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

  /**
   * Starts a job that writes its pid to a file of its own and sleeps, waits until it runs, then
   * kills its agent with SIGKILL; the script outlives the agent (the guard ends it). Answers the
   * job's id and its pid file.
   */
  const killMidJob = async (target: E2EServer, agent: Awaited<ReturnType<typeof startAgent>>) => {
    const pids = path.join(work, `killed-${Date.now()}.pids`);
    const accepted = await expectStatus(
      target.api('POST', `/api/v1/agents/${agent.id}/jobs`, {
        body: { interpreter: 'bash', command: 'echo $$ >> "$F"; sleep 30; echo done', env: { F: pids } },
      }),
      202,
    );
    await untilJob(target, accepted.id, (j) => j.status === 'running');
    const [orphan] = await eventually(() => (pidsIn(pids).length > 0 ? pidsIn(pids) : undefined), {
      what: 'the job to write its pid',
    });
    adoptOrphanGroup(orphan!);
    agent.proc.child.kill('SIGKILL');
    await exitOf(agent.proc);
    return { id: accepted.id as string, pids };
  };

  it(
    'e2e: an agent killed mid-job and restarted reports the job failed; the command ran once',
    { timeout: 120_000 },
    async () => {
      // a lease long enough for the agent to come back before it lapses
      const patient = await startServer(dialect, {
        ...FAST_FLEET,
        FLEETPLANE_JOB_LEASE_MS: '60000',
        FLEETPLANE_OFFLINE_AFTER_MS: '60000',
      });
      const first = await startAgent(patient, { token: await enrollmentToken(patient) });
      await untilOnline(patient, patient.token, first.id);
      const killed = await killMidJob(patient, first);

      const again = await startAgent(patient, { stateDir: first.stateDir, fingerprint: first.fingerprint });
      expect(again.id).toBe(first.id);
      const failed = await untilJob(patient, killed.id, (j) => j.status !== 'running', 30_000);
      expect(failed).toMatchObject({
        status: 'failed',
        attempt: 1,
        exit_code: null,
        error: 'the agent restarted while the job was running; it was not run again',
      });
      await again.proc.waitFor(new RegExp(`job ${killed.id} was running when the agent stopped`));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await job(patient, killed.id)).toMatchObject({ status: 'failed', attempt: 1 });
      expect(pidsIn(killed.pids)).toHaveLength(1);
    },
  );

  it(
    'e2e: a job whose agent was killed ends lost at lease expiry and is not run again when the agent returns',
    { timeout: 60_000 },
    async () => {
      const first = await startAgent(server, { token: await enrollmentToken(server) });
      await untilOnline(server, server.token, first.id);
      const killed = await killMidJob(server, first);
      const lost = await untilJob(server, killed.id, (j) => j.status !== 'running', 15_000);
      expect(lost).toMatchObject({ status: 'lost', attempt: 1, lease_expires_at: null });

      const again = await startAgent(server, { stateDir: first.stateDir, fingerprint: first.fingerprint });
      expect(again.id).toBe(first.id);
      // its report that the job was cut short comes too late: the server keeps `lost`
      await again.proc.waitFor(new RegExp(`job ${killed.id} was running when the agent stopped`));
      await untilOnline(server, server.token, again.id);
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(await job(server, killed.id)).toMatchObject({ status: 'lost', attempt: 1 });
      expect(pidsIn(killed.pids)).toHaveLength(1);
    },
  );

  it.runIf(dialect === 'sqlite')(
    'e2e: a server paused mid-job neither re-runs the job nor drops the agent',
    { timeout: 60_000 },
    async () => {
      const agent = await startAgent(server, { token: await enrollmentToken(server) });
      await untilOnline(server, server.token, agent.id);
      const events = await EventsClient.open(server);
      const env = {
        RUNS: path.join(work, `paused-${Date.now()}.runs`),
        GATE: path.join(work, `paused-${Date.now()}.gate`),
      };
      const id = await gatedJob(agent.id, env);
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
