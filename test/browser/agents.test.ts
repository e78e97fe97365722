import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, ServerWithAgents } from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { addMember, call, expectError, type Session } from '../support/client.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console agents', () => {
  const browser = useBrowser();
  let fleet: ServerWithAgents;
  let viewer: Session;
  beforeAll(async () => {
    fleet = await ServerWithAgents.start('sqlite', 'console');
    // two machine records beside the real agent, for a fleet worth showing
    await createAgent(fleet.server, fleet.owner, 'windows_server', ['web', 'eu-west']);
    await createAgent(fleet.server, fleet.owner, 'macos', ['build']);
    viewer = await addMember(fleet.server, fleet.owner, 'viewer');
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it('console: a command run from the agent page streams its output', async () => {
    const page = await browser.open(fleet.server, '/agents');
    await signIn(page, fleet.owner.email, fleet.owner.password);
    await page.getByRole('heading', { name: 'Agents' }).waitFor();
    await expect.poll(() => page.getByTestId('agent-row').count()).toBe(3);
    await browser.shot(page, 'agents');
    // the README's picture, refreshed on demand only: a run of the suite leaves git clean
    if (process.env.UPDATE_DOCS_SCREENSHOTS)
      await browser.shot(page, 'agents', path.resolve('docs', 'console-agents.png'));

    await page.goto(`${fleet.server.url}/agents/${fleet.agent.id}`);
    await page.getByLabel('Command').fill('echo hello-from-console');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const output = page.getByTestId('job-output');
    await expect
      .poll(() => output.getAttribute('data-output'), { timeout: 20_000 })
      .toContain('hello-from-console');
    await page.getByTestId('command-job').getByText('succeeded').waitFor({ timeout: 20_000 });
    // the terminal shows it, not only the data the page holds
    await page.locator('.xterm-rows', { hasText: 'hello-from-console' }).waitFor();
    await browser.shot(page, 'agent-command');
  });

  it('console: a viewer sees no action it cannot perform, and the API refuses it', async () => {
    const page = await browser.open(fleet.server, '/agents');
    await signIn(page, viewer.email, viewer.password);
    await page.getByRole('heading', { name: 'Agents' }).waitFor();
    await expect.poll(() => page.getByTestId('agent-row').count()).toBe(3);
    for (const name of ['Run command', 'Tag', 'Delete'])
      expect(await page.getByRole('button', { name, exact: true }).count()).toBe(0);
    await page.goto(`${fleet.server.url}/agents/${fleet.agent.id}`);
    await page.getByText('Hostname').waitFor();
    expect(await page.getByLabel('Command').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Uninstall' }).count()).toBe(0);
    await browser.shot(page, 'agent-viewer');

    const run = await call(fleet.server, 'POST', '/api/v1/runs', {
      token: viewer.token,
      body: { target: { agent_ids: [fleet.agent.id] }, job: { interpreter: 'sh', command: 'true' } },
    });
    expectError(run, 403, 'forbidden');
    const remove = await call(fleet.server, 'DELETE', `/api/v1/agents/${fleet.agent.id}`, {
      token: viewer.token,
    });
    expectError(remove, 403, 'forbidden');
  });
});
