import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll, jobOutput, ScriptedAgent } from '../support/agents.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { SocketAgent } from '../support/socket-agent.js';

type Transport = 'ws' | 'http';

/** Refused events, and every result: what the WebSocket answers (an applied ack or output needs no answer). */
const answeredOnSocket = (ack: { event: string; outcome: string }) =>
  ack.event === 'result' || ack.outcome === 'conflict' || ack.outcome === 'impossible';

describe.each(dialects)('agent session on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'session');
  });
  afterAll(async () => {
    await server.close();
  });

  const submit = async (agentId: string) =>
    (
      await expectStatus(
        call(server, 'POST', `/api/v1/agents/${agentId}/jobs`, {
          token: owner.token,
          body: { interpreter: 'sh', command: 'echo hi' },
        }),
        202,
      )
    ).id as string;

  /**
   * One agent, one job handed to it over `transport`, then the same events in the same order:
   * an acknowledgement of a delivery never made, then the job's own events, each twice, and a
   * contradicting result; last, a result for another agent's job. Answers what the agent was told
   * (job ids replaced by names) and what the server stored.
   */
  async function exchange(transport: Transport) {
    const agent = await enroll(server, owner);
    const other = await enroll(server, owner);
    const jobId = await submit(agent.agentId);
    const othersJob = await submit(other.agentId);
    const attempt = 1;
    const events = [
      { type: 'ack', job_id: jobId, attempt: 2 },
      { type: 'ack', job_id: jobId, attempt },
      { type: 'ack', job_id: jobId, attempt },
      { type: 'output', job_id: jobId, attempt, seq: 0, stream: 'stdout', data: 'hi\n' },
      { type: 'output', job_id: jobId, attempt, seq: 0, stream: 'stdout', data: 'hi\n' },
      { type: 'result', job_id: jobId, attempt, status: 'succeeded', exit_code: 0, duration_ms: 3 },
      { type: 'result', job_id: jobId, attempt, status: 'succeeded', exit_code: 0, duration_ms: 3 },
      { type: 'result', job_id: jobId, attempt, status: 'failed', exit_code: 1, duration_ms: 3 },
    ];
    const intruding = {
      type: 'result',
      job_id: othersJob,
      attempt: 1,
      status: 'succeeded',
      exit_code: 0,
      duration_ms: 3,
    };
    let acks: any[];
    if (transport === 'http') {
      const scripted = new ScriptedAgent(server, agent.agentId, agent.agentToken);
      expect((await scripted.next()).job_id).toBe(jobId);
      const post = (id: string, batch: object[]) =>
        expectStatus(
          call(server, 'POST', `/api/v1/agent/jobs/${id}/events`, {
            token: agent.agentToken,
            body: { events: batch },
          }),
          200,
        );
      acks = [...(await post(jobId, events)).acks, ...(await post(othersJob, [intruding])).acks];
    } else {
      const socket = await SocketAgent.connect(server, agent.agentToken, { facts: agent.facts });
      try {
        expect((await socket.next('job')).job.job_id).toBe(jobId);
        for (const event of [...events, intruding]) socket.event(event);
        acks = [];
        for (let i = 0; i < 5; i += 1) {
          const { type: _type, ...ack } = await socket.next('event_ack');
          acks.push(ack);
        }
      } finally {
        socket.close();
      }
    }
    const job = await expectStatus(call(server, 'GET', `/api/v1/jobs/${jobId}`, { token: owner.token }), 200);
    const untouched = await expectStatus(
      call(server, 'GET', `/api/v1/jobs/${othersJob}`, { token: owner.token }),
      200,
    );
    const names = { [jobId]: 'job', [othersJob]: "another agent's job" };
    return {
      acks: acks.map((ack) => ({ ...ack, job_id: names[ack.job_id] })),
      stored: {
        status: job.status,
        exit_code: job.exit_code,
        attempt: job.attempt,
        error: job.error,
        output: await jobOutput(server, owner, jobId),
      },
      others: { status: untouched.status, attempt: untouched.attempt },
    };
  }

  it('agent session: the same events give the same stored job and the same answers over the WebSocket and HTTP', async () => {
    const overHttp = await exchange('http');
    const overSocket = await exchange('ws');

    // HTTP answers every event, in order; a refused one does not stop those after it
    expect(overHttp.acks.map((ack) => [ack.event, ack.outcome])).toEqual([
      ['ack', 'impossible'],
      ['ack', 'applied'],
      ['ack', 'duplicate'],
      ['output', 'applied'],
      ['output', 'duplicate'],
      ['result', 'applied'],
      ['result', 'duplicate'],
      ['result', 'conflict'],
      ['result', 'impossible'],
    ]);
    expect(overHttp.acks[7]).toMatchObject({ message: 'job is already succeeded (exit 0)' });
    expect(overHttp.acks[3]).toMatchObject({ seq: 0 });
    // the WebSocket answers the same, for the events an agent must hear about
    expect(overSocket.acks).toEqual(overHttp.acks.filter(answeredOnSocket));

    expect(overHttp.stored).toEqual({
      status: 'succeeded',
      exit_code: 0,
      attempt: 1,
      error: null,
      output: 'hi\n',
    });
    expect(overSocket.stored).toEqual(overHttp.stored);
    expect(overHttp.others).toEqual({ status: 'queued', attempt: 0 });
    expect(overSocket.others).toEqual(overHttp.others);
  });

  it('agent session: an HTTP batch whose events name another job is refused whole (400), nothing applied', async () => {
    const agent = await enroll(server, owner);
    const scripted = new ScriptedAgent(server, agent.agentId, agent.agentToken);
    const jobId = await submit(agent.agentId);
    const job = await scripted.next();
    const reply = await call(server, 'POST', `/api/v1/agent/jobs/${jobId}/events`, {
      token: agent.agentToken,
      body: {
        events: [
          { type: 'ack', job_id: jobId, attempt: job.attempt },
          { type: 'ack', job_id: '00000000-0000-7000-8000-000000000000', attempt: 1 },
        ],
      },
    });
    expect(reply.status).toBe(400);
    const stored = await expectStatus(
      call(server, 'GET', `/api/v1/jobs/${jobId}`, { token: owner.token }),
      200,
    );
    expect(stored.status).toBe('dispatched');
  });
});
