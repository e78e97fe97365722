import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildZip, upload } from '../packages/zips.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { addMember, call, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';

/** A package whose entry point wants `count`, an integer: refused input shows under the field. */
async function invoicePackage(): Promise<Buffer> {
  const manifest = {
    name: 'invoice-bot',
    version: '1.4.0',
    entry_points: [
      {
        name: 'main',
        path: 'bin/main.mjs',
        language: 'node',
        input_schema: {
          type: 'object',
          properties: { count: { type: 'integer', minimum: 1 } },
          required: ['count'],
        },
      },
    ],
  };
  return buildZip([
    { name: 'fleetplane.json', data: JSON.stringify(manifest) },
    { name: 'bin/main.mjs', data: 'console.log("not run here: the test is the runner")' },
  ]);
}

/** Picks an option of a Mantine select in the open dialog: open it, click the option. */
async function pick(page: Page, label: string, option: string | RegExp): Promise<void> {
  await page.getByRole('dialog').getByRole('combobox', { name: label }).click();
  await page.getByRole('option', { name: option }).click();
}

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console process jobs', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  let viewer: Session;
  let processId: string;
  let robotId: string;
  let robotToken: string;
  const asOwner = (method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: owner.token, body });
  const asRunner = (method: string, route: string, body?: unknown) =>
    call(server, method, route, { body, headers: { 'x-robot-token': robotToken } });

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    owner = await signup(server, 'operator');
    viewer = await addMember(server, owner, 'viewer');
    await expectStatus(upload(server, owner.token, await invoicePackage()), 201);
    const process = await expectStatus(
      asOwner('POST', '/api/v1/processes', {
        name: 'double invoices',
        package_name: 'invoice-bot',
        entry_point: 'main',
        default_input: { count: 1 },
        robot_pool: 'finance',
      }),
      201,
    );
    processId = process.id;
    // a runner robot the test drives by hand over the runner API, so each job ends when it says
    const runner = await expectStatus(
      asOwner('POST', '/api/v1/robots', { name: 'ui-runner', kind: 'runner', pools: ['finance'] }),
      201,
    );
    robotId = runner.robot.id;
    const registered = await expectStatus(
      call(server, 'POST', '/api/v1/runner/register', {
        body: { name: 'ui-runner', machine_key: runner.machine_key },
      }),
      200,
    );
    robotToken = registered.robot_token;
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  /** The runner takes its next job, prints a line and reports `result` as the job's JSON output. */
  const runNextJob = async (line: string, result: unknown): Promise<string> => {
    const { job } = await expectStatus(asRunner('POST', '/api/v1/runner/jobs/claim'), 200);
    const base = { job_id: job.job_id, attempt: job.attempt };
    const { acks } = await expectStatus(
      asRunner('POST', `/api/v1/runner/jobs/${job.job_id}/events`, {
        events: [
          { type: 'ack', ...base },
          { type: 'output', ...base, seq: 0, stream: 'stdout', data: `${line}\n` },
          { type: 'result', ...base, status: 'succeeded', exit_code: 0, duration_ms: 1500, output: result },
        ],
      }),
      200,
    );
    expect(acks.map((ack: { outcome: string }) => ack.outcome)).toEqual(['applied', 'applied', 'applied']);
    return job.job_id;
  };

  it('process jobs: started from the modal on a robot, run by it live, its result and output shown; another reassigned and ended by hand', async () => {
    const page = await browser.open(server, '/process-jobs');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Process jobs' }).waitFor();
    await page.getByText('No process job yet.').waitFor();

    // the modal: the process's default input prefilled; input that is no object, then refused input
    await page.getByRole('button', { name: 'Start process' }).click();
    await pick(page, 'Process', 'double invoices (v1)');
    const input = page.getByRole('dialog').getByRole('textbox', { name: 'Input' });
    expect(JSON.parse(await input.inputValue())).toEqual({ count: 1 });
    await input.fill('[1, 2]');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.getByText('must be a JSON object').waitFor();
    await input.fill('{"count": "many"}');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.getByText('count: must be integer').waitFor();
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    await browser.shot(page, 'process-job-start-refused');
    expect((await expectStatus(asOwner('GET', '/api/v1/process-jobs'), 200)).items).toHaveLength(0);

    await pick(page, 'Robot', /^ui-runner/);
    await input.fill('{"count": 21}');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    const row = page.getByTestId('process-job-row');
    await expect.poll(() => row.count()).toBe(1);
    await expect.poll(() => row.getByTestId('job-status').textContent()).toBe('queued');
    expect(await row.textContent()).toContain('ui-runner');
    expect(await row.textContent()).toContain('1.4.0');

    // the robot runs it: the page hears the move from the events socket, no reload
    const firstId = await runNextJob('doubling 21', { doubled: 42 });
    await expect.poll(() => row.getByTestId('job-status').textContent()).toBe('succeeded');
    expect(await row.textContent()).toContain('2 s');
    const first = await expectStatus(asOwner('GET', `/api/v1/process-jobs/${firstId}`), 200);
    expect(first).toMatchObject({ robot_id: robotId, input: { count: 21 }, result: { doubled: 42 } });
    await browser.shot(page, 'process-jobs-list');

    // the status filter keeps the URL, and narrows the list
    await page.getByRole('combobox', { name: 'Status' }).click();
    await page.getByRole('option', { name: 'failed' }).click();
    await page.getByText('No process job matches these filters.').waitFor();
    expect(new URL(page.url()).searchParams.get('status')).toBe('failed');
    await page.getByRole('combobox', { name: 'Status' }).click();
    await page.getByRole('option', { name: 'succeeded' }).click();
    await expect.poll(() => row.count()).toBe(1);

    await row.getByRole('link', { name: 'double invoices' }).click();
    await page.waitForURL(`**/process-jobs/${firstId}`);
    await expect
      .poll(async () => JSON.parse((await page.getByTestId('process-job-result').textContent()) ?? ''))
      .toEqual({
        doubled: 42,
      });
    expect(JSON.parse((await page.getByTestId('process-job-input').textContent()) ?? '')).toEqual({
      count: 21,
    });
    await expect.poll(() => page.getByTestId('job-output').getAttribute('data-output')).toBe('doubling 21\n');
    expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
    await browser.shot(page, 'process-job-detail');

    // another, pooled (no robot picked), given to another pool, then ended by hand
    await page.getByRole('link', { name: 'Process jobs' }).click();
    await page.getByRole('button', { name: 'Start process' }).click();
    await pick(page, 'Process', 'double invoices (v1)');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await page.getByRole('combobox', { name: 'Status' }).click();
    await page.getByRole('option', { name: 'queued' }).click();
    await expect.poll(() => row.count()).toBe(1);
    expect(await row.textContent()).toContain('pool finance');
    await row.getByRole('link', { name: 'double invoices' }).click();
    await page.getByRole('heading', { name: 'double invoices' }).waitFor();
    const secondId = new URL(page.url()).pathname.split('/').pop() ?? '';

    await page.getByRole('button', { name: 'Reassign' }).click();
    await page.getByRole('dialog').getByText('A pool').click();
    await page.getByRole('dialog').getByRole('textbox', { name: 'Pool' }).fill('night-shift');
    await page.getByRole('dialog').getByRole('button', { name: 'Reassign' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await page.getByText('pool night-shift').waitFor();
    expect(await page.getByTestId('no-output').textContent()).toContain('once a robot starts');

    await page.getByRole('button', { name: 'Set status' }).click();
    await page.getByRole('dialog').getByRole('textbox', { name: 'Reason' }).fill('robot retired');
    await page.getByRole('dialog').getByRole('button', { name: 'Set status' }).click();
    await page.getByRole('button', { name: 'Mark failed' }).click();
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('failed');
    expect(await page.getByTestId('process-job-error').textContent()).toContain('set by hand: robot retired');
    expect(await page.getByRole('button', { name: 'Set status' }).count()).toBe(0);
    await browser.shot(page, 'process-job-failed-by-hand');
    const second = await expectStatus(asOwner('GET', `/api/v1/process-jobs/${secondId}`), 200);
    expect(second).toMatchObject({
      status: 'failed',
      pooled: true,
      robot_pool: 'night-shift',
      error: 'set by hand: robot retired',
    });
  });

  it('process jobs: a viewer sees jobs but no start, cancel, reassign or status; the owner cancels a waiting one', async () => {
    const waiting = await expectStatus(
      asOwner('POST', '/api/v1/process-jobs', {
        process_id: processId,
        robot_id: robotId,
        input: { count: 3 },
      }),
      201,
    );

    const asViewer = await browser.open(server, '/process-jobs');
    asViewer.setDefaultTimeout(20_000);
    await signIn(asViewer, viewer.email, viewer.password);
    await asViewer.getByRole('heading', { name: 'Process jobs' }).waitFor();
    await expect.poll(() => asViewer.getByTestId('process-job-row').count()).toBe(3);
    expect(await asViewer.getByRole('button', { name: 'Start process' }).count()).toBe(0);
    await asViewer.goto(`${server.url}/process-jobs/${waiting.id}`);
    await asViewer.getByRole('heading', { name: 'double invoices' }).waitFor();
    await expect.poll(() => asViewer.getByTestId('job-status').textContent()).toBe('queued');
    for (const action of ['Cancel', 'Reassign', 'Set status'])
      expect(await asViewer.getByRole('button', { name: action }).count()).toBe(0);

    const page = await browser.open(server, `/process-jobs/${waiting.id}`);
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'double invoices' }).waitFor();
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.getByRole('button', { name: 'Cancel job' }).click();
    await expect.poll(() => page.getByTestId('job-status').textContent()).toBe('canceled');
    // the viewer's page hears it too
    await expect.poll(() => asViewer.getByTestId('job-status').textContent()).toBe('canceled');
    const after = await expectStatus(asOwner('GET', `/api/v1/process-jobs/${waiting.id}`), 200);
    expect(after.status).toBe('canceled');
  });
});
