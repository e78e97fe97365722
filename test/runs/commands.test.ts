import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobOutput, untilOnline, ServerWithAgents } from '../support/agents.js';
import { call, expectError, expectStatus } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects } from '../support/harness.js';

interface Job {
  id: string;
  agent_id: string;
  task_index: number;
  task_name: string;
  status: string;
  started_at: string;
  finished_at: string;
}

/** Three commands that each take a second: run one after another they take three. */
const COMMANDS = [0, 1, 2].map((n) => ({
  name: `step ${n}`,
  interpreter: 'sh',
  command: `sleep 1; echo "command ${n} on $(hostname)"`,
}));

describe.each(dialects)('runs: several commands in one run (%s)', (dialect) => {
  let fixture: ServerWithAgents;
  const api = (method: string, route: string, body?: unknown) =>
    call(fixture.server, method, route, {
      token: fixture.owner.token,
      ...(body === undefined ? {} : { body }),
    });

  beforeAll(async () => {
    fixture = await ServerWithAgents.start(dialect, 'commands');
    const second = await fixture.enroll('second');
    await untilOnline(fixture.server, fixture.owner.token, second.id);
  }, 120_000);
  afterAll(async () => {
    await fixture?.close();
  });

  it(
    'runs: 2 agents × 3 commands are one run of 6 jobs, each command on each agent at once',
    { timeout: 60_000 },
    async () => {
      const agentIds = fixture.agents.map((agent) => agent.id);
      const created = await expectStatus(
        api('POST', '/api/v1/runs', {
          name: 'three at once',
          target: { agent_ids: agentIds },
          commands: COMMANDS,
        }),
        202,
      );
      expect(created.counts.total).toBe(6);
      expect(created.spec).toMatchObject({
        parallel: true,
        tasks: COMMANDS.map((command, index) => ({
          index,
          name: command.name,
          job: { command: command.command },
        })),
      });
      const run = await eventually(
        async () => {
          const seen = await expectStatus(api('GET', `/api/v1/runs/${created.id}`), 200);
          return seen.finished_at ? seen : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, what: 'the run to finish' },
      );
      expect(run.status).toBe('succeeded');
      expect(run.counts).toMatchObject({ total: 6, succeeded: 6 });

      const jobs: Job[] = (await expectStatus(api('GET', `/api/v1/runs/${created.id}/jobs?limit=50`), 200))
        .items;
      expect(jobs.map((job) => `${job.agent_id}/${job.task_index}`).sort()).toEqual(
        agentIds.flatMap((id) => [0, 1, 2].map((n) => `${id}/${n}`)).sort(),
      );
      for (const job of jobs) {
        expect(job.task_name).toBe(`step ${job.task_index}`);
        expect(await jobOutput(fixture.server, fixture.owner, job.id)).toMatch(
          new RegExp(`^command ${job.task_index} on `),
        );
      }
      // On each agent the three one-second commands overlapped: all started before any ended, and
      // the three together took well under the three seconds they take one after another.
      for (const agentId of agentIds) {
        const mine = jobs.filter((job) => job.agent_id === agentId);
        const starts = mine.map((job) => Date.parse(job.started_at));
        const ends = mine.map((job) => Date.parse(job.finished_at));
        expect(Math.max(...starts)).toBeLessThan(Math.min(...ends));
        expect(Math.max(...ends) - Math.min(...starts)).toBeLessThan(2_500);
      }
    },
  );

  it('runs: commands are refused as one command would be, and take the place of job', async () => {
    const target = { agent_ids: [fixture.agent.id] };
    expectError(
      await api('POST', '/api/v1/runs', { target, commands: [COMMANDS[0]] }),
      400,
      'validation_failed',
    );
    expectError(
      await api('POST', '/api/v1/runs', {
        target,
        commands: [...COMMANDS, { interpreter: 'sh', command: '' }],
      }),
      400,
      'validation_failed',
    );
    const both = await api('POST', '/api/v1/runs', {
      target,
      commands: COMMANDS,
      job: { interpreter: 'sh', command: 'true' },
    });
    expectError(both, 422, 'unprocessable');
    expectError(await api('POST', '/api/v1/runs', { target }), 422, 'unprocessable');

    // a Linux agent has no cmd: the command that cannot run is named
    const refused = await api('POST', '/api/v1/runs', {
      target,
      commands: [
        { interpreter: 'sh', command: 'date' },
        { interpreter: 'cmd', command: 'ver' },
      ],
    });
    expectError(refused, 422, 'unprocessable');
    expect(refused.body.error.details.map((d: { field: string }) => d.field)).toEqual(['commands.1']);
  });
});
