import { call, expectStatus, uniqueName, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import type { TestServer } from '../support/harness.js';

/** A command task run by `sh`; override any field. */
export function commandTask(name: string, content: string, overrides: Record<string, unknown> = {}) {
  return { name, action: 'command', interpreter: 'sh', content, ...overrides };
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
