import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobOutput, ServerWithAgents, untilOnline } from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { addMember, call, expectError, expectStatus, type Session } from '../support/client.js';

const AGENT_NAMES = ['alpha-box', 'beta-box'];

/** Replaces the whole text of the page's code editor by typing, as a person would. */
async function typeCode(page: Page, text: string): Promise<void> {
  const editor = page.getByTestId('code-editor').locator('.cm-content');
  await editor.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await page.keyboard.type(text);
}

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console scripts', () => {
  const browser = useBrowser();
  let fleet: ServerWithAgents;
  let viewer: Session;
  let agentIds: string[];
  let scriptId = '';
  beforeAll(async () => {
    fleet = await ServerWithAgents.start('sqlite', 'scripts');
    const second = await fleet.enroll('second');
    await untilOnline(fleet.server, fleet.owner.token, second.id);
    agentIds = fleet.agents.map((agent) => agent.id);
    // both run on this machine, so both would be named after its hostname: names that tell them apart
    for (const [i, id] of agentIds.entries())
      await expectStatus(
        call(fleet.server, 'PATCH', `/api/v1/agents/${id}`, {
          token: fleet.owner.token,
          body: { name: AGENT_NAMES[i] },
        }),
        200,
      );
    viewer = await addMember(fleet.server, fleet.owner, 'viewer');
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it('scripts: a script written in the page, with a parameter, runs on two agents with the value given', async () => {
    const { server, owner } = fleet;
    // Scripts only: the organisation's starter saved commands are not scripts.
    const page = await browser.open(server, '/scripts?kind=script');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Scripts' }).waitFor();
    await page.getByText('No script yet.').waitFor();
    await browser.shot(page, 'scripts-empty');

    await page.getByRole('link', { name: 'Create script' }).click();
    await page.getByRole('heading', { name: 'New script' }).waitFor();
    await page.getByLabel(/^Name/).fill('greet-fleet');
    await typeCode(page, 'echo "greeting=$FP_PARAM_GREETING"');
    await page.getByRole('button', { name: 'Add parameter' }).click();
    // a name the server refuses: its error lands on the row's name input
    await page.getByLabel('Parameter 1 name').fill('9 bad');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => page.getByLabel('Parameter 1 name').getAttribute('aria-invalid')).toBe('true');
    await page.getByTestId('refusal').waitFor();
    await browser.shot(page, 'script-field-error');

    await page.getByLabel('Parameter 1 name').fill('greeting');
    await page.getByLabel('Parameter 1 required').check();
    await page.getByRole('button', { name: 'Add parameter' }).click();
    await page.getByLabel('Parameter 2 name').fill('token');
    await page.getByLabel('Parameter 2 type').click();
    await page.getByRole('option', { name: 'secret' }).click();
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { name: 'greet-fleet' }).waitFor();
    scriptId = new URL(page.url()).pathname.split('/').pop() ?? '';
    const created = await expectStatus(
      call(server, 'GET', `/api/v1/scripts/${scriptId}`, { token: owner.token }),
      200,
    );
    expect(created.content).toBe('echo "greeting=$FP_PARAM_GREETING"');
    expect(created.parameters).toEqual([
      { name: 'greeting', type: 'string', required: true },
      { name: 'token', type: 'secret' },
    ]);
    // the code is highlighted as shell: a string token in the editor
    await page.getByTestId('code-editor').locator('.cm-line span').first().waitFor();
    await browser.shot(page, 'script-editor');

    await page.getByRole('button', { name: 'Execute on agents' }).click();
    const modal = page.getByRole('dialog');
    await modal.getByLabel(/^Agents/).click();
    for (const name of AGENT_NAMES) await page.getByRole('option', { name }).click();
    await modal.getByLabel(/^Agents/).press('Escape');
    await modal.getByLabel('greeting').fill('hello-from-the-form');
    expect(await modal.getByLabel('token').getAttribute('type')).toBe('password');
    await modal.getByLabel('token').fill('s3cret-value');
    await browser.shot(page, 'script-execute');
    await modal.getByRole('button', { name: 'Execute' }).click();

    await page.waitForURL(/\/runs\/[0-9a-f-]+$/);
    const runId = new URL(page.url()).pathname.split('/').pop() ?? '';
    await expect
      .poll(() => page.getByTestId('run-finished').textContent(), { timeout: 30_000 })
      .toBe('2 of 2 finished');
    await expect.poll(() => page.getByTestId('run-job-row').getByText('succeeded').count()).toBe(2);
    await browser.shot(page, 'script-run');

    const jobs = await expectStatus(
      call(server, 'GET', `/api/v1/runs/${runId}/jobs`, { token: owner.token }),
      200,
    );
    expect(jobs.items.map((job: { agent_id: string }) => job.agent_id).sort()).toEqual([...agentIds].sort());
    for (const job of jobs.items as { id: string; status: string }[]) {
      expect(job.status).toBe('succeeded');
      expect(await jobOutput(server, owner, job.id)).toContain('greeting=hello-from-the-form');
    }
  });

  it('scripts: run on one agent opens the job, and a second version shows its diff', async () => {
    const { server, owner } = fleet;
    const page = await browser.open(server, `/scripts/${scriptId}`);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'greet-fleet' }).waitFor();

    await page.getByRole('button', { name: 'Run on an agent' }).click();
    const modal = page.getByRole('dialog');
    await modal.getByLabel(/^Agent/).click();
    await page.getByRole('option', { name: /beta-box/ }).click();
    await modal.getByLabel('greeting').fill('just-one');
    await modal.getByRole('button', { name: 'Run', exact: true }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]+$/);
    const jobId = new URL(page.url()).pathname.split('/').pop() ?? '';
    const jobOf = () =>
      expectStatus(call(server, 'GET', `/api/v1/jobs/${jobId}`, { token: owner.token }), 200);
    await expect.poll(async () => (await jobOf()).status, { timeout: 20_000 }).toBe('succeeded');
    const job = await jobOf();
    expect(job.agent_id).toBe(agentIds[1]);
    expect(await jobOutput(server, owner, jobId)).toContain('greeting=just-one');

    await page.goto(`${server.url}/scripts/${scriptId}`);
    await page.getByRole('heading', { name: 'greet-fleet' }).waitFor();
    await page.getByText('One version so far').waitFor();
    await typeCode(page, 'echo "changed=$FP_PARAM_GREETING"');
    // leaving with the change unsaved asks first; staying keeps it
    await page.getByRole('link', { name: 'Scripts', exact: true }).click();
    const leave = page.getByRole('dialog', { name: 'Leave without saving?' });
    await leave.getByRole('button', { name: 'Stay' }).click();
    await leave.waitFor({ state: 'detached' });
    expect(new URL(page.url()).pathname).toBe(`/scripts/${scriptId}`);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('v2', { exact: true }).first().waitFor();
    await expect.poll(() => page.getByTestId('version-row').count()).toBe(2);
    const diff = page.getByTestId('version-diff');
    await diff.locator('.cm-changedLine', { hasText: 'changed=' }).waitFor();
    await diff.locator('.cm-changedLine', { hasText: 'greeting=' }).waitFor();
    await browser.shot(page, 'script-versions');

    // the editors follow the console's colour scheme
    const background = () =>
      page
        .getByTestId('code-editor')
        .locator('.cm-editor')
        .evaluate((editor) => editor.ownerDocument.defaultView?.getComputedStyle(editor).backgroundColor);
    const light = await background();
    await page.getByRole('button', { name: 'Switch to dark theme' }).click();
    await expect.poll(background).not.toBe(light);
    await browser.shot(page, 'script-editor-dark');

    const versions = await expectStatus(
      call(server, 'GET', `/api/v1/scripts/${scriptId}/versions`, { token: owner.token }),
      200,
    );
    expect(versions.items.map((v: { version: number; content: string }) => [v.version, v.content])).toEqual([
      [2, 'echo "changed=$FP_PARAM_GREETING"'],
      [1, 'echo "greeting=$FP_PARAM_GREETING"'],
    ]);
  });

  it('scripts: a viewer sees no action it cannot perform, and the API refuses it', async () => {
    const { server } = fleet;
    const page = await browser.open(server, '/scripts?kind=script');
    await signIn(page, viewer.email, viewer.password);
    await page.getByRole('heading', { name: 'Scripts' }).waitFor();
    await expect.poll(() => page.getByTestId('script-row').count()).toBe(1);
    expect(await page.getByRole('link', { name: 'Create script' }).count()).toBe(0);
    await page.getByRole('link', { name: 'greet-fleet' }).click();
    await page.getByRole('heading', { name: 'greet-fleet' }).waitFor();
    await page.getByTestId('code-editor').locator('.cm-content').waitFor();
    for (const name of ['Run on an agent', 'Execute on agents', 'Delete', 'Save', 'Add parameter'])
      expect(await page.getByRole('button', { name, exact: true }).count()).toBe(0);
    expect(await page.getByTestId('code-editor').locator('.cm-content').getAttribute('contenteditable')).toBe(
      'false',
    );
    await browser.shot(page, 'script-viewer');

    const execute = await call(server, 'POST', `/api/v1/scripts/${scriptId}/execute`, {
      token: viewer.token,
      body: { target: { agent_ids: agentIds }, parameters: { greeting: 'nope' } },
    });
    expectError(execute, 403, 'forbidden');
    const update = await call(server, 'PATCH', `/api/v1/scripts/${scriptId}`, {
      token: viewer.token,
      body: { content: 'echo taken' },
    });
    expectError(update, 403, 'forbidden');
  });

  it('scripts: delete asks first, then the script is gone', async () => {
    const { server, owner } = fleet;
    const page = await browser.open(server, `/scripts/${scriptId}`);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'greet-fleet' }).waitFor();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Keep' }).click();
    await page.getByRole('dialog').waitFor({ state: 'hidden' });
    await expectStatus(call(server, 'GET', `/api/v1/scripts/${scriptId}`, { token: owner.token }), 200);

    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete', exact: true }).click();
    await page.waitForURL(/\/scripts$/);
    // The library still lists the starter commands, and no longer the script.
    await page.getByRole('link', { name: 'Disk usage (Linux)' }).waitFor();
    expect(await page.getByRole('link', { name: 'greet-fleet' }).count()).toBe(0);
    const gone = await call(server, 'GET', `/api/v1/scripts/${scriptId}`, { token: owner.token });
    expectError(gone, 404, 'not_found');
  });
});
