import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobOutput, ServerWithAgents } from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { call, expectStatus } from '../support/client.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console agent requests', () => {
  const browser = useBrowser();
  let fleet: ServerWithAgents;
  beforeAll(async () => {
    fleet = await ServerWithAgents.start('sqlite', 'agent-requests');
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it('scripts: a new organisation lists its starter commands per OS, filters by tag, and runs one on an agent', async () => {
    const { server, owner } = fleet;
    const page = await browser.open(server, '/scripts?kind=command');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Scripts' }).waitFor();
    await expect.poll(() => page.getByTestId('script-row').count()).toBe(21);
    const linuxRow = page.getByTestId('script-row').filter({ hasText: 'Uptime and last boot (Linux)' });
    await linuxRow.getByText('Linux', { exact: true }).waitFor();
    await linuxRow.getByText('starter', { exact: true }).waitFor();
    await browser.shot(page, 'starter-commands');

    // A tag on a row filters the list by it, in the URL.
    await page
      .getByTestId('script-row')
      .filter({ hasText: 'Disk usage (Windows)' })
      .getByRole('button', { name: 'windows' })
      .click();
    await expect.poll(() => new URL(page.url()).searchParams.get('tag')).toBe('windows');
    await expect.poll(() => page.getByTestId('script-row').count()).toBe(7);
    expect(await page.getByTestId('script-row').filter({ hasText: '(Linux)' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Clear the tag filter' }).click();
    await expect.poll(() => page.getByTestId('script-row').count()).toBe(21);

    await page.getByRole('link', { name: 'Uptime and last boot (Linux)' }).click();
    await page.getByRole('heading', { name: 'Uptime and last boot (Linux)' }).waitFor();
    await page.getByRole('button', { name: 'Run on an agent' }).click();
    const modal = page.getByRole('dialog');
    await modal.getByLabel(/^Agent/).click();
    await page.getByRole('option').first().click();
    await modal.getByRole('button', { name: 'Run', exact: true }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]+$/);
    const jobId = new URL(page.url()).pathname.split('/').pop() ?? '';
    const jobOf = () =>
      expectStatus(call(server, 'GET', `/api/v1/jobs/${jobId}`, { token: owner.token }), 200);
    await expect.poll(async () => (await jobOf()).status, { timeout: 20_000 }).toBe('succeeded');
    expect(await jobOutput(server, owner, jobId)).toMatch(/last boot: \S/);
  });
});
