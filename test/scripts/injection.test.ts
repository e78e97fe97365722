import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobOutput, ServerWithAgents } from '../support/agents.js';
import { call, expectStatus, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { dialects, type TestServer } from '../support/harness.js';

/**
 * Hostile parameter values sent to a real agent process. The script only prints its parameter;
 * if any value were spliced into the script text, the output would differ and the marker files
 * would change: `keep` deleted, or `made` created.
 */
describe.each(dialects)('scripts: parameter values reach a real agent as inert data on %s', (dialect) => {
  let fixture: ServerWithAgents;
  let server: TestServer;
  let owner: Session;
  let agentId: string;
  let keep: string;
  let made: string;

  beforeAll(async () => {
    fixture = await ServerWithAgents.start(dialect, 'injection');
    ({ server, owner } = fixture);
    agentId = fixture.agent.id;
    keep = path.join(fixture.dir, 'keep');
    made = path.join(fixture.dir, 'made');
    writeFileSync(keep, 'still here');
  });
  afterAll(() => fixture?.close());

  const hostile = () => [
    `$(rm -rf ${keep})`,
    `; touch ${made}`,
    `$(Get-Process)`,
    `$(touch ${made})`,
    `\`touch ${made}\``,
    `'; touch ${made}; echo '`,
    `"; touch ${made}; echo "`,
    `first line\ntouch ${made}\n$(rm -rf ${keep})`,
    `\${IFS}$((1+1)) %s %n \\ * ~`,
  ];

  const outputOf = (jobId: string) => jobOutput(server, owner, jobId);

  it('scripts: each hostile value is printed exactly as given by a bash script, which runs as written', async () => {
    const content = `printf '%s\\n' "$FP_PARAM_TARGET"`;
    const script = await expectStatus(
      call(server, 'POST', '/api/v1/scripts', {
        token: owner.token,
        body: {
          name: 'echo target',
          language: 'bash',
          content,
          parameters: [{ name: 'target', type: 'string', required: true }],
        },
      }),
      201,
    );
    for (const value of hostile()) {
      const job = await expectStatus(
        call(server, 'POST', `/api/v1/scripts/${script.id}/run?wait=30`, {
          token: owner.token,
          body: { agent_id: agentId, parameters: { target: value } },
        }),
        200,
      );
      expect(job, value).toMatchObject({
        status: 'succeeded',
        exit_code: 0,
        command: content,
        script_version: 1,
      });
      expect(await outputOf(job.id), value).toBe(`${value}\n`);
    }
    expect(existsSync(keep)).toBe(true);
    expect(existsSync(made)).toBe(false);
  });

  it('scripts: a fan-out of an sh script gets the values, and the secret in clear on the agent only', async () => {
    const value = hostile().join('\n');
    const password = `p'"; touch ${made}; $(whoami)`;
    // The script prints the secret's bytes in hex: proof the agent got it exactly, without echoing it.
    const content = [
      `printf '%s\\n' "$FP_PARAM_TARGET"`,
      `printf '%s' "$FP_SECRET_PASSWORD" | od -An -tx1 | tr -d ' \\n'`,
    ].join('\n');
    const script = await expectStatus(
      call(server, 'POST', '/api/v1/scripts', {
        token: owner.token,
        body: {
          name: 'echo and check',
          language: 'sh',
          content,
          parameters: [
            { name: 'target', type: 'string', required: true },
            { name: 'password', type: 'secret', required: true },
          ],
        },
      }),
      201,
    );
    const created = await expectStatus(
      call(server, 'POST', `/api/v1/scripts/${script.id}/execute`, {
        token: owner.token,
        body: { target: { agent_ids: [agentId] }, parameters: { target: value, password } },
      }),
      202,
    );
    const finished = await eventually(
      async () => {
        const run = await expectStatus(
          call(server, 'GET', `/api/v1/runs/${created.id}`, { token: owner.token }),
          200,
        );
        return run.status === 'running' ? undefined : run;
      },
      { what: `run ${created.id}`, timeoutMs: 30_000 },
    );
    expect(finished).toMatchObject({ status: 'succeeded', source: 'script', counts: { succeeded: 1 } });
    const jobs = await expectStatus(
      call(server, 'GET', `/api/v1/runs/${created.id}/jobs`, { token: owner.token }),
      200,
    );
    const job = jobs.items[0];
    expect(job).toMatchObject({
      command: content,
      script_version: 1,
      env: { FP_SECRET_PASSWORD: '********' },
    });
    expect(await outputOf(job.id)).toBe(`${value}\n${Buffer.from(password).toString('hex')}`);
    expect(JSON.stringify([created, finished, jobs])).not.toContain(password);
    // The run shows the mask, not a sealed value (which would not hold the clear one either).
    for (const run of [created, finished]) expect(run.spec.env.FP_SECRET_PASSWORD).toBe('********');
    expect(existsSync(keep)).toBe(true);
    expect(existsSync(made)).toBe(false);
  });
});
