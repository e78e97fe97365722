import { enroll } from '../support/agents.js';
import { call, expectStatus, signup, type Reply, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import {
  HAND_DRIVEN,
  LEASE_MS,
  startTestServer,
  TestClock,
  type Dialect,
  type TestServer,
} from '../support/harness.js';
import { SocketAgent } from '../support/socket-agent.js';
import { HttpAgent, WsAgent, type DrivenAgent } from './drivers.js';

/**
 * The engine under test: a real server on a test clock, with its timers set so far apart that they
 * never fire during a test. Heartbeats are flushed, leases swept and runs settled only when a test
 * says so, so every step of a test happens in the order it is written.
 */
const HOUR = 3_600_000;

export type Transport = 'http' | 'ws';
export const transports: Transport[] = ['http', 'ws'];

export class Engine {
  private constructor(
    readonly server: TestServer,
    readonly owner: Session,
    readonly clock: TestClock,
  ) {}

  static async start(dialect: Dialect, label: string): Promise<Engine> {
    const clock = new TestClock();
    // the test clock runs for hours: the owner's access token must outlast it
    const server = await startTestServer(dialect, {
      clock,
      config: { ...HAND_DRIVEN, accessTokenTtlMs: 1_000 * HOUR },
    });
    return new Engine(server, await signup(server, label), clock);
  }

  close(): Promise<void> {
    return this.server.close();
  }

  get services() {
    return this.server.app.services;
  }

  api(method: string, route: string, body?: unknown): Promise<Reply> {
    return call(this.server, method, route, { token: this.owner.token, body });
  }

  job(id: string): Promise<any> {
    return expectStatus(this.api('GET', `/api/v1/jobs/${id}`), 200);
  }

  run(id: string): Promise<any> {
    return expectStatus(this.api('GET', `/api/v1/runs/${id}`), 200);
  }

  async runJobs(id: string): Promise<any[]> {
    return (await expectStatus(this.api('GET', `/api/v1/runs/${id}/jobs?limit=200`), 200)).items;
  }

  /** Waits for the run's settle passes (each folds the calls of the 25 ms after it) to finish it. */
  finishedRun(id: string): Promise<any> {
    return eventually(
      async () => {
        const run = await this.run(id);
        return run.finished_at === null ? undefined : run;
      },
      { what: `run ${id} to finish` },
    );
  }

  /** A job for one agent, as `POST /agents/{id}/jobs` queues it. */
  submit(agentId: string, extra: Record<string, unknown> = {}): Promise<any> {
    return expectStatus(
      this.api('POST', `/api/v1/agents/${agentId}/jobs`, { interpreter: 'sh', command: 'true', ...extra }),
      202,
    );
  }

  /** A run of one command over these agents. */
  launch(agentIds: string[], options: Record<string, unknown> = {}): Promise<any> {
    return expectStatus(
      this.api('POST', '/api/v1/runs', {
        target: { agent_ids: agentIds },
        job: { interpreter: 'sh', command: 'true' },
        ...options,
      }),
      202,
    );
  }

  /** Heartbeats heard so far are written (renewing their agents' leases), then time passes. */
  async advance(ms: number): Promise<void> {
    await this.services.liveness.flush();
    this.clock.advance(ms);
  }

  /** Waits for a job to reach a status (an event sent over the socket is applied in its own time). */
  untilStatus(id: string, status: string): Promise<any> {
    return eventually(
      async () => {
        const job = await this.job(id);
        return job.status === status ? job : undefined;
      },
      { what: `job ${id} to be ${status}` },
    );
  }

  /**
   * Holds back the step sequencer's follow-up of every job ending from now on (as a slow database
   * would), until `release`; `restore` puts the sequencer back as it was.
   */
  holdFollowUps(): { release: () => void; restore: () => void } {
    const sequencer = this.services.profileSequencer;
    const followUp = sequencer.followUp.bind(sequencer);
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    sequencer.followUp = async (job) => {
      await released;
      return followUp(job);
    };
    return {
      release,
      restore: () => {
        sequencer.followUp = followUp;
      },
    };
  }

  /** Flushes heartbeats until the agent shows online (one sent over the socket arrives in its own time). */
  untilOnline(agentId: string): Promise<unknown> {
    return eventually(
      async () => {
        await this.services.liveness.flush();
        const agent = await expectStatus(this.api('GET', `/api/v1/agents/${agentId}`), 200);
        return agent.status === 'online';
      },
      { what: `agent ${agentId} to be online` },
    );
  }

  /** Every lease taken so far lapses, and the sweeper runs. */
  async lapse(): Promise<void> {
    await this.advance(LEASE_MS + 1_000);
    await this.services.sweeper.sweep();
  }

  /** An agent enrolled now, speaking one transport by hand. */
  async agent(transport: Transport): Promise<DrivenAgent> {
    if (transport === 'http') return this.httpAgent();
    const { agentId, agentToken } = await enroll(this.server, this.owner);
    return new WsAgent(agentId, await SocketAgent.connect(this.server, agentToken));
  }

  /** Another node on the same database, with the same clock and timers (PostgreSQL: several nodes need it). */
  node(): Promise<TestServer> {
    return startTestServer('postgres', {
      clock: this.clock,
      config: { ...HAND_DRIVEN, accessTokenTtlMs: 1_000 * HOUR },
      shareDatabaseWith: this.server,
    });
  }

  /** An agent polling over HTTP: it is handed nothing between two of its heartbeats. */
  async httpAgent(): Promise<HttpAgent> {
    const { agentId, agentToken } = await enroll(this.server, this.owner);
    return new HttpAgent(this.server, agentId, agentToken);
  }
}
