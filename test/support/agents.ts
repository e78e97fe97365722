import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { call, expectStatus, signup, uniqueName, type Reply, type Session } from './client.js';
import { eventually } from './eventually.js';
import { startTestServer, type Dialect, type TestServer } from './harness.js';
import { fleetplane, stopProcess, uniqueFingerprint, type Proc } from './processes.js';

/**
 * Agents for tests, three ways: a machine record or an enrolled agent made through the API, an
 * agent speaking the HTTP fallback by hand (`ScriptedAgent`), and the real `fleetplane agent`
 * process (`startAgent`, then `untilOnline`; `ServerWithAgents` puts them beside a test server).
 */

/** What an agent says about its machine; a fresh fingerprint unless one is given. */
export function facts(overrides: Record<string, unknown> = {}) {
  return {
    hostname: `host-${randomBytes(3).toString('hex')}`,
    fingerprint: `fp-${randomBytes(8).toString('hex')}`,
    os_type: 'ubuntu',
    os_version: '24.04',
    arch: 'x86_64',
    agent_version: '0.1.0',
    interpreters: ['bash', 'sh', 'python'],
    system_info: { cpus: 4, memory_mb: 8192 },
    ...overrides,
  };
}

/** Creates an enrollment token and answers its secret and its view. */
export async function enrollmentToken(
  server: TestServer,
  owner: Session,
  body: Record<string, unknown> = {},
): Promise<{ secret: string; id: string; view: any }> {
  const created = await expectStatus(
    call(server, 'POST', '/api/v1/enrollment-tokens', {
      token: owner.token,
      body: { name: 'fleet token', ...body },
    }),
    201,
  );
  return { secret: created.secret, id: created.enrollment_token.id, view: created.enrollment_token };
}

export function register(server: TestServer, body: Record<string, unknown>): Promise<Reply> {
  return call(server, 'POST', '/api/v1/agent/register', { body });
}

/** Enrolls one agent with a fresh token (or the one given) and answers its id and token. */
export async function enroll(
  server: TestServer,
  owner: Session,
  options: { secret?: string; facts?: Record<string, unknown> } = {},
): Promise<{ agentId: string; agentToken: string; facts: ReturnType<typeof facts> }> {
  const secret = options.secret ?? (await enrollmentToken(server, owner)).secret;
  const agentFacts = facts(options.facts);
  const reply = await expectStatus(register(server, { enrollment_token: secret, facts: agentFacts }), 200);
  return { agentId: reply.agent_id, agentToken: reply.agent_token, facts: agentFacts };
}

/** A machine record (no agent process behind it): jobs for it stay queued. */
export async function createAgent(
  server: TestServer,
  owner: Session,
  osType = 'ubuntu',
  tags: string[] = [],
): Promise<string> {
  const created = await expectStatus(
    call(server, 'POST', '/api/v1/agents', {
      token: owner.token,
      body: { name: uniqueName('machine'), os_type: osType, tags },
    }),
    201,
  );
  return created.agent.id;
}

export const METRICS = { cpu_percent: 1, memory_percent: 1, disk_percent: 1, uptime_seconds: 1 };

/**
 * An agent speaking the HTTP fallback by hand: the test decides when it polls and what each job
 * ends with, so the order of events is exact.
 */
export class ScriptedAgent {
  /** Jobs claimed and not finished: a heartbeat that omitted them would send them back to the queue. */
  private readonly held = new Set<string>();

  constructor(
    private readonly server: TestServer,
    readonly id: string,
    private readonly token: string,
  ) {}

  static async enroll(
    server: TestServer,
    owner: Session,
    agentFacts: Record<string, unknown> = {},
  ): Promise<ScriptedAgent> {
    const { agentId, agentToken } = await enroll(server, owner, { facts: agentFacts });
    return new ScriptedAgent(server, agentId, agentToken);
  }

  /** Claims the jobs waiting for the agent. */
  async poll(): Promise<any[]> {
    const reply = await expectStatus(
      call(this.server, 'POST', '/api/v1/agent/heartbeat', {
        token: this.token,
        body: { metrics: METRICS, running_job_ids: [...this.held] },
      }),
      200,
    );
    for (const job of reply.jobs as { job_id: string }[]) this.held.add(job.job_id);
    return reply.jobs;
  }

  /** Claims exactly one job, waiting for it if the server has not queued it yet. */
  async next(): Promise<any> {
    const jobs = await eventually(
      async () => {
        const claimed = await this.poll();
        return claimed.length > 0 ? claimed : undefined;
      },
      { what: `a job for agent ${this.id}`, timeoutMs: 30_000 },
    );
    if (jobs.length !== 1) throw new Error(`expected one job, got ${jobs.length}`);
    return jobs[0];
  }

  async finish(
    job: { job_id: string; attempt: number },
    status: string,
    exitCode: number | null,
  ): Promise<void> {
    await expectStatus(
      call(this.server, 'POST', `/api/v1/agent/jobs/${job.job_id}/events`, {
        token: this.token,
        body: {
          events: [
            { type: 'ack', job_id: job.job_id, attempt: job.attempt },
            {
              type: 'result',
              job_id: job.job_id,
              attempt: job.attempt,
              status,
              exit_code: exitCode,
              duration_ms: 5,
            },
          ],
        },
      }),
      200,
    );
    this.held.delete(job.job_id);
  }
}

export interface AgentOptions {
  /** Where it keeps its identity: started again on the same dir, it comes back as the same agent. */
  stateDir: string;
  /** An enrollment token's secret. */
  token?: string;
  key?: string;
  fingerprint?: string;
  transport?: 'ws' | 'http';
  name?: string;
  maxJobs?: number;
}

export interface AgentProcess {
  proc: Proc;
  stateDir: string;
  fingerprint: string;
  /** Known once it registered or started from its saved state. */
  id: string;
}

/**
 * Starts `fleetplane agent` against the server at `url`, with its own fingerprint unless given;
 * resolves once it has an id. `spawn` lets the end-to-end fixtures track the process.
 */
export async function startAgent(
  url: string,
  options: AgentOptions,
  spawn: (args: string[], env: Record<string, string>) => Proc = fleetplane,
): Promise<AgentProcess> {
  const fingerprint = options.fingerprint ?? uniqueFingerprint();
  const args = ['agent', '--server', url, '--state-dir', options.stateDir];
  if (options.token) args.push('--token', options.token);
  if (options.key) args.push('--key', options.key);
  if (options.transport) args.push('--transport', options.transport);
  if (options.name) args.push('--name', options.name);
  if (options.maxJobs) args.push('--max-jobs', String(options.maxJobs));
  const proc = spawn(args, { FLEETPLANE_AGENT_FINGERPRINT: fingerprint });
  const started = await proc
    .waitFor(/(?:registered as|starting as) agent (\S+)/, 60_000)
    .catch(async (error: unknown) => {
      await stopProcess(proc);
      throw error;
    });
  return { proc, stateDir: options.stateDir, fingerprint, id: started[1] ?? '' };
}

/**
 * Waits until the server shows the agent online, holding a WebSocket unless told it polls over
 * HTTP; answers the agent's record.
 */
export async function untilOnline(
  server: Pick<TestServer, 'url'>,
  token: string,
  id: string,
  options: { connected?: boolean; timeoutMs?: number } = {},
): Promise<any> {
  const { connected = true, timeoutMs = 30_000 } = options;
  let last: any;
  try {
    return await eventually(
      async () => {
        last = await expectStatus(call(server, 'GET', `/api/v1/agents/${id}`, { token }), 200);
        return last.status === 'online' && last.connected === connected ? last : undefined;
      },
      { timeoutMs, what: `agent ${id} to be online${connected ? ' and connected' : ''}` },
    );
  } catch (error) {
    const seen = last ? ` (last seen as ${last.status}, connected: ${last.connected})` : '';
    throw new Error(`${(error as Error).message}${seen}`);
  }
}

/**
 * A test server with real agent processes, each enrolled into the owner's organisation with a
 * token of its own and keeping its state in a scratch dir that tests may use too. `close` stops
 * the agents, then the server, and removes the dir.
 */
export class ServerWithAgents {
  readonly agents: AgentProcess[] = [];

  private constructor(
    readonly server: TestServer,
    readonly owner: Session,
    readonly dir: string,
  ) {}

  /** A server, its owner (signed up as `label`) and one agent, online. */
  static async start(dialect: Dialect, label: string): Promise<ServerWithAgents> {
    const dir = mkdtempSync(path.join(os.tmpdir(), `fleetplane-${label}-`));
    const server = await startTestServer(dialect);
    const started = new ServerWithAgents(server, await signup(server, label), dir);
    try {
      const agent = await started.enroll('agent');
      await untilOnline(server, started.owner.token, agent.id);
      return started;
    } catch (error) {
      await started.close();
      throw error;
    }
  }

  /** The agent `start` brought online. */
  get agent(): AgentProcess {
    const [first] = this.agents;
    if (!first) throw new Error('no agent was started');
    return first;
  }

  /** Starts one more agent (`tokenBody`: its enrollment token's group, say); resolves once it registered. */
  async enroll(name: string, tokenBody: Record<string, unknown> = {}): Promise<AgentProcess> {
    const { secret } = await enrollmentToken(this.server, this.owner, { name, ...tokenBody });
    const agent = await startAgent(this.server.url, { token: secret, stateDir: path.join(this.dir, name) });
    this.agents.push(agent);
    return agent;
  }

  async close(): Promise<void> {
    for (const agent of this.agents) await stopProcess(agent.proc);
    await this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What a job printed, joined from its JSON chunks (a text answer that happens to be JSON would be parsed). */
export async function jobOutput(server: TestServer, owner: Session, jobId: string): Promise<string> {
  const output = await expectStatus(
    call(server, 'GET', `/api/v1/jobs/${jobId}/output?format=json`, { token: owner.token }),
    200,
  );
  return output.chunks.map((c: { data: string }) => c.data).join('');
}
