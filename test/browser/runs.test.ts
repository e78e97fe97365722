import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedAgent } from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { addMember, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console runs', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  let viewer: Session;
  let agents: ScriptedAgent[];
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    owner = await signup(server);
    viewer = await addMember(server, owner, 'viewer');
    // agents the test drives by hand, so each job ends when the test says
    agents = [await ScriptedAgent.enroll(server, owner), await ScriptedAgent.enroll(server, owner)];
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const startRun = async (name: string, agentIds: string[]): Promise<string> => {
    const run = await expectStatus(
      call(server, 'POST', '/api/v1/runs', {
        token: owner.token,
        body: { name, target: { agent_ids: agentIds }, job: { interpreter: 'sh', command: 'true' } },
      }),
      202,
    );
    return run.id as string;
  };

  it('runs: a run is listed, its progress moves live, its jobs filter, and cancel reaches the API', async () => {
    const [first, second] = agents;
    if (!first || !second) throw new Error('two agents expected');
    const runId = await startRun('nightly-patch', [first.id, second.id]);

    const page = await browser.open(server, '/runs');
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    await expect.poll(() => page.getByTestId('run-row').count()).toBe(1);
    await page.getByRole('link', { name: 'nightly-patch' }).click();
    await page.getByRole('heading', { name: 'nightly-patch' }).waitFor();
    await expect.poll(() => page.getByTestId('run-job-row').count()).toBe(2);
    await expect.poll(() => page.getByTestId('run-finished').textContent()).toBe('0 of 2 finished');
    // each job row names its agent, as the API now answers it
    for (const agent of [first, second]) {
      const { name } = await expectStatus(
        call(server, 'GET', `/api/v1/agents/${agent.id}`, { token: owner.token }),
        200,
      );
      await page.getByTestId('run-job-row').getByRole('link', { name, exact: true }).waitFor();
    }

    // one agent finishes its job: the page hears it from the events socket, no reload
    const job = await first.next();
    await first.finish(job, 'succeeded', 0);
    await expect
      .poll(() => page.getByTestId('run-finished').textContent(), { timeout: 10_000 })
      .toBe('1 of 2 finished');
    await browser.shot(page, 'run-detail');

    await page.getByRole('combobox', { name: 'Job status' }).click();
    await page.getByRole('option', { name: 'succeeded' }).click();
    await expect.poll(() => page.getByTestId('run-job-row').count()).toBe(1);
    await page.getByTestId('run-job-row').getByRole('link', { name: 'Output' }).click();
    await page.waitForURL(`**/jobs/${job.job_id}`);
    await page.goBack();

    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.getByRole('button', { name: 'Cancel run' }).click();
    await page.getByTestId('run-status').getByText('canceled').waitFor();
    const run = await expectStatus(call(server, 'GET', `/api/v1/runs/${runId}`, { token: owner.token }), 200);
    expect(run.status).toBe('canceled');
    const jobs = await expectStatus(
      call(server, 'GET', `/api/v1/runs/${runId}/jobs`, { token: owner.token }),
      200,
    );
    expect(jobs.items.map((j: { status: string }) => j.status).sort()).toEqual(['canceled', 'succeeded']);

    // the list's status filter
    await page.goto(`${server.url}/runs?status=running`);
    await page.getByText('No run is running.').waitFor();
  });

  it('runs: a viewer sees a run but no cancel, and the API refuses it', async () => {
    const runId = await startRun(
      'viewer-visible',
      agents.map((agent) => agent.id),
    );
    const page = await browser.open(server, `/runs/${runId}`);
    await signIn(page, viewer.email, viewer.password);
    await page.getByRole('heading', { name: 'viewer-visible' }).waitFor();
    await expect.poll(() => page.getByTestId('run-job-row').count()).toBe(2);
    expect(await page.getByRole('button', { name: 'Cancel', exact: true }).count()).toBe(0);
    await browser.shot(page, 'run-viewer');
    expectError(
      await call(server, 'POST', `/api/v1/runs/${runId}/cancel`, { token: viewer.token }),
      403,
      'forbidden',
    );
  });
});
