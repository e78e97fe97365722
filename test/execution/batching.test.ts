import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSpec } from '../../src/protocol/agent.js';
import { newId } from '../../src/server/lib/ids.js';
import { jobsRepo } from '../../src/server/modules/execution/jobs.repo.js';
import { jobOf } from '../../src/server/modules/execution/jobs.rows.js';
import { createAgent, enroll, enrollmentToken } from '../support/agents.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, HAND_DRIVEN, startTestServer, type TestServer } from '../support/harness.js';
import { SocketAgent } from '../support/socket-agent.js';
import { StatementCounter } from '../support/statements.js';

const AGENTS = 40;

/**
 * What agents do together is written together: a fan-out's jobs are claimed for all the agents
 * a node holds in one statement, and results arriving in the same moment share their statements,
 * while each agent is still answered for its own job. Unbatched, each would cost a few
 * statements per agent.
 */
describe.each(dialects)('execution: batched writes on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let agents: SocketAgent[];
  const counter = new StatementCounter();

  beforeAll(async () => {
    // no timer of the server's own runs during a count
    server = await startTestServer(dialect, {
      plugins: [counter],
      config: HAND_DRIVEN,
    });
    owner = await signup(server, 'batching');
    const { secret } = await enrollmentToken(server, owner);
    agents = await Promise.all(
      Array.from({ length: AGENTS }, async () =>
        SocketAgent.connect(server, (await enroll(server, owner, { secret })).agentToken),
      ),
    );
    // each socket's catch-up (cancels due, work waiting) runs after it opens: let it end first
    await eventually(
      async () =>
        (await counter.during(() => new Promise((resolve) => setTimeout(resolve, 200)))).statements.length ===
        0,
      { what: 'the agents’ catch-up to end' },
    );
  });
  afterAll(async () => {
    for (const agent of agents ?? []) agent.close();
    await server.close();
  });

  it('execution: a fan-out claims every connected agent’s job in one statement and its results share theirs', async () => {
    const claimed = await counter.during(async () => {
      const run = await expectStatus(
        call(server, 'POST', '/api/v1/runs', {
          token: owner.token,
          body: { target: { all: true }, job: { interpreter: 'sh', command: 'true' }, concurrency: AGENTS },
        }),
        202,
      );
      return { run, jobs: await Promise.all(agents.map((agent) => agent.next('job'))) };
    });
    const { run, jobs } = claimed.result;
    expect(new Set(jobs.map((frame) => frame.job.job_id)).size).toBe(AGENTS);
    // the admission, then one claim for the forty agents (two if a claim was under way)
    expect(claimed.statements.filter((s) => s === 'Update jobs').length).toBeLessThanOrEqual(3);

    const reported = await counter.during(async () => {
      jobs.forEach(({ job }: { job: JobSpec }, i) => {
        const agent = agents[i]!;
        agent.event({ type: 'ack', job_id: job.job_id, attempt: job.attempt });
        agent.event({
          type: 'output',
          job_id: job.job_id,
          attempt: job.attempt,
          seq: 0,
          stream: 'stdout',
          data: 'ok\n',
        });
        agent.event({
          type: 'result',
          job_id: job.job_id,
          attempt: job.attempt,
          status: 'succeeded',
          exit_code: 0,
          duration_ms: 5,
        });
      });
      return Promise.all(agents.map((agent) => agent.next('event_ack')));
    });
    for (const [i, ack] of reported.result.entries())
      expect(ack).toMatchObject({ job_id: jobs[i]!.job.job_id, event: 'result', outcome: 'applied' });
    // each job read three times, moved twice and given an output chunk: over 200 statements one by one
    expect(reported.statements.length).toBeLessThan(AGENTS);

    const finished = await eventually(
      async () => {
        const view = await expectStatus(
          call(server, 'GET', `/api/v1/runs/${run.id}`, { token: owner.token }),
          200,
        );
        return view.finished_at === null ? undefined : view;
      },
      { what: 'the run to finish' },
    );
    expect(finished).toMatchObject({ status: 'succeeded', counts: { total: AGENTS, succeeded: AGENTS } });
    const output = await expectStatus(
      call(server, 'GET', `/api/v1/jobs/${jobs[0]!.job.job_id}/output`, { token: owner.token }),
      200,
    );
    expect(JSON.stringify(output)).toContain('ok\\n');
  });

  it('execution: jobs inserted together keep every value, those they share sent once, the rest split to fit', async () => {
    const agentId = await createAgent(server, owner);
    const [template] = await server.app.services.jobs.prepare(
      owner.orgId,
      [{ id: agentId, os_type: 'ubuntu', interpreters: ['sh'] }],
      { interpreter: 'sh', command: 'true' },
      { runId: null, admitted: true, deadlineAt: null, createdBy: owner.userId },
    );
    // eleven columns differ from row to row: 3,000 rows are more than one statement's parameters
    const jobs = Array.from({ length: 3000 }, (_, i) => ({
      ...template!,
      id: newId(),
      command: `echo ${i}`,
      cwd: i % 2 ? `/tmp/${i}` : null,
      run_as: `user${i}`,
      env: { N: String(i) },
      timeout_seconds: 60 + i,
      max_attempts: 1 + (i % 3),
      output_cap_bytes: 1000 + i,
      task_index: i,
      task_name: `task ${i}`,
      created_at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)).toISOString(),
    }));
    await jobsRepo.insert(server.database.db, jobs);
    const stored = await server.database.db
      .selectFrom('jobs')
      .selectAll()
      .where('agent_id', '=', agentId)
      .orderBy('task_index')
      .execute();
    expect(stored.map(jobOf)).toEqual(jobs);
  });
});
