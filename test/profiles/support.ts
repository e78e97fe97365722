import { call, type Session } from '../support/client.js';
import type { TestServer } from '../support/harness.js';
import { enroll, expectStatus } from '../fleet/fleet.js';
import { eventually } from '../support/eventually.js';

export const METRICS = { cpu_percent: 1, memory_percent: 1, disk_percent: 1, uptime_seconds: 1 };

/** A command task run by `sh`; override any field. */
export function commandTask(name: string, content: string, overrides: Record<string, unknown> = {}) {
  return { name, action: 'command', interpreter: 'sh', content, ...overrides };
}

export function uniqueName(label: string): string {
  return `${label}-${Math.random().toString(36).slice(2, 10)}`;
}

export async function createProfile(
  server: TestServer,
  owner: Session,
  body: Record<string, unknown> = {},
  kind: 'profiles' | 'templates' = 'profiles',
): Promise<any> {
  return expectStatus(
    call(server, 'POST', `/api/v1/${kind}`, {
      token: owner.token,
      body: { name: uniqueName(kind), ...body },
    }),
    201,
  );
}

export async function apply(
  server: TestServer,
  owner: Session,
  profileId: string,
  body: Record<string, unknown>,
): Promise<any> {
  return expectStatus(
    call(server, 'POST', `/api/v1/profiles/${profileId}/apply`, { token: owner.token, body }),
    202,
  );
}

export async function getRun(server: TestServer, owner: Session, runId: string): Promise<any> {
  return expectStatus(call(server, 'GET', `/api/v1/runs/${runId}`, { token: owner.token }), 200);
}

/** The run once it has finished. */
export function finishedRun(server: TestServer, owner: Session, runId: string): Promise<any> {
  return eventually(
    async () => {
      const run = await getRun(server, owner, runId);
      return run.finished_at === null ? undefined : run;
    },
    { what: `run ${runId} to finish`, timeoutMs: 30_000 },
  );
}

/** A run's jobs for one agent, in task order: the per-agent, per-task view. */
export async function tasksOf(server: TestServer, owner: Session, runId: string, agentId: string) {
  const jobs = await expectStatus(
    call(server, 'GET', `/api/v1/runs/${runId}/jobs?limit=200`, { token: owner.token }),
    200,
  );
  return (jobs.items as any[])
    .filter((j) => j.agent_id === agentId)
    .sort((a, b) => (a.task_index as number) - (b.task_index as number));
}

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
    facts: Record<string, unknown> = {},
  ): Promise<ScriptedAgent> {
    const { agentId, agentToken } = await enroll(server, owner, { facts });
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
