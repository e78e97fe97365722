import type { EventAck, JobSpec } from '../../src/protocol/agent.js';
import { METRICS } from '../support/agents.js';
import { call, expectStatus } from '../support/client.js';
import { eventually, IN_MEMORY } from '../support/eventually.js';
import type { TestServer } from '../support/harness.js';
import type { SocketAgent } from '../support/socket-agent.js';

/**
 * Agents the engine tests drive by hand, event by event: `HttpAgent` over the HTTP fallback (it is
 * handed work only when it polls), `WsAgent` over the WebSocket (work is pushed to it). Both answer
 * the same calls, so a test written once runs over either transport and expects the same answers.
 */

/** Polls every agent once; answers those handed a job, with it. */
export async function handedOut(agents: HttpAgent[]): Promise<{ agent: HttpAgent; job: JobSpec }[]> {
  const claimed = await Promise.all(agents.map(async (agent) => ({ agent, jobs: await agent.poll() })));
  return claimed.filter((c) => c.jobs.length > 0).map((c) => ({ agent: c.agent, job: c.jobs[0]! }));
}

/**
 * Polls every agent until `count` of them were handed a job, and answers them with it: one poll
 * may miss a job another node's statement holds locked (SKIP LOCKED) for a moment.
 */
export async function untilHandedOut(
  agents: HttpAgent[],
  count: number,
): Promise<{ agent: HttpAgent; job: JobSpec }[]> {
  const found = new Map<HttpAgent, JobSpec>();
  await eventually(
    async () => {
      for (const { agent, job } of await handedOut(agents)) found.set(agent, job);
      return found.size >= count;
    },
    { what: `${count} agents to be handed a job` },
  );
  return [...found].map(([agent, job]) => ({ agent, job }));
}

export type Job = Pick<JobSpec, 'job_id' | 'attempt'>;

/** One agent, driven event by event over either transport; the same calls, the same answers expected. */
export interface DrivenAgent {
  readonly id: string;
  /** The jobs handed to the agent (over HTTP by its heartbeats, over the socket pushed), waiting for one. */
  claim(): Promise<JobSpec[]>;
  /** Says the agent is alive; its lease renewals and its coming online wait for the next flush. */
  heartbeat(): Promise<void>;
  /** Says the agent started the job; wait for its effect with `Engine.untilStatus`. */
  ack(job: Job): Promise<void>;
  /** Reports a result and answers the server's acknowledgement of it. */
  report(job: Job, status: string, exitCode: number | null): Promise<EventAck>;
  /** The jobs the server asks the agent to stop (over the socket, waiting for one). */
  cancels(): Promise<string[]>;
  close(): void;
}

export class HttpAgent implements DrivenAgent {
  /** Claimed and not reported: a heartbeat that left them out would send them back to the queue. */
  readonly #held = new Set<string>();

  constructor(
    private readonly server: TestServer,
    readonly id: string,
    private readonly token: string,
  ) {}

  async #heartbeat(): Promise<{ jobs: JobSpec[]; cancel_job_ids: string[] }> {
    return expectStatus(
      call(this.server, 'POST', '/api/v1/agent/heartbeat', {
        token: this.token,
        body: { metrics: METRICS, running_job_ids: [...this.#held] },
      }),
      200,
    );
  }

  async #events(job: Job, events: object[]): Promise<EventAck[]> {
    const reply = await expectStatus(
      call(this.server, 'POST', `/api/v1/agent/jobs/${job.job_id}/events`, {
        token: this.token,
        body: { events },
      }),
      200,
    );
    return reply.acks;
  }

  /** What heartbeats claimed and `claim` has not returned yet. */
  #claimed: JobSpec[] = [];

  async heartbeat(): Promise<void> {
    const { jobs } = await this.#heartbeat();
    for (const job of jobs) this.#held.add(job.job_id);
    this.#claimed.push(...jobs);
  }

  async claim(): Promise<JobSpec[]> {
    await eventually(
      async () => {
        await this.heartbeat();
        return this.#claimed.length > 0;
      },
      { what: `a job for agent ${this.id}` },
    );
    return this.poll();
  }

  /** What one heartbeat claims now, without waiting (and what earlier ones claimed, not yet taken). */
  async poll(): Promise<JobSpec[]> {
    await this.heartbeat();
    const jobs = this.#claimed;
    this.#claimed = [];
    return jobs;
  }

  async ack(job: Job): Promise<void> {
    await this.#events(job, [{ type: 'ack', ...job }]);
  }

  async report(job: Job, status: string, exitCode: number | null): Promise<EventAck> {
    const [answer] = await this.#events(job, [
      { type: 'result', ...job, status, exit_code: exitCode, duration_ms: 5 },
    ]);
    if (!answer) throw new Error('no answer to the result');
    this.#held.delete(job.job_id);
    return answer;
  }

  async cancels(): Promise<string[]> {
    return (await this.#heartbeat()).cancel_job_ids;
  }

  close(): void {}
}

export class WsAgent implements DrivenAgent {
  constructor(
    readonly id: string,
    private readonly socket: SocketAgent,
  ) {}

  async heartbeat(): Promise<void> {
    this.socket.send({ type: 'heartbeat', metrics: METRICS });
  }

  async claim(): Promise<JobSpec[]> {
    const jobs = [(await this.socket.next('job')).job];
    // the rest of a batch pushed together
    for (let frame = this.#take('job'); frame; frame = this.#take('job')) jobs.push(frame.job);
    return jobs;
  }

  #take(type: 'job') {
    const index = this.socket.frames.findIndex((frame) => frame.type === type);
    if (index < 0) return undefined;
    const [frame] = this.socket.frames.splice(index, 1);
    return frame?.type === type ? frame : undefined;
  }

  /** Not answered on the socket unless refused: wait for its effect (`Engine.untilStatus`). */
  async ack(job: Job): Promise<void> {
    this.socket.event({ type: 'ack', ...job });
  }

  async report(job: Job, status: string, exitCode: number | null): Promise<EventAck> {
    this.socket.event({ type: 'result', ...job, status, exit_code: exitCode, duration_ms: 5 });
    return eventually(
      () => {
        const index = this.socket.frames.findIndex(
          (frame) => frame.type === 'event_ack' && frame.job_id === job.job_id && frame.event === 'result',
        );
        if (index < 0) return undefined;
        const [frame] = this.socket.frames.splice(index, 1);
        if (frame?.type !== 'event_ack') return undefined;
        const { type: _type, ...answer } = frame;
        return answer;
      },
      { ...IN_MEMORY, what: `an answer to the result of ${job.job_id}` },
    );
  }

  async cancels(): Promise<string[]> {
    return [(await this.socket.next('cancel')).job_id];
  }

  close(): void {
    this.socket.close();
  }
}
