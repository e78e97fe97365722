import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  enrollmentToken,
  jobOutput,
  ServerWithAgents,
  startAgent,
  untilOnline,
} from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { call, expectStatus } from '../support/client.js';
import { fleetplane } from '../support/processes.js';
import { starterCommands } from '../../src/server/modules/scripts/scripts.starter.js';

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
    await expect.poll(() => page.getByTestId('script-row').count()).toBe(starterCommands.length);
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
    await expect.poll(() => page.getByTestId('script-row').count()).toBe(starterCommands.length);

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

  it('console: Refresh facts on the agent page shows an interpreter installed since the agent started', async () => {
    const { server, owner } = fleet;
    // an agent whose PATH starts with a directory of the test's, where a program is installed later
    const bin = path.join(fleet.dir, 'refresh-bin');
    mkdirSync(bin);
    const { secret } = await enrollmentToken(server, owner, { name: 'refresh' });
    const agent = await startAgent(
      server.url,
      { token: secret, stateDir: path.join(fleet.dir, 'refresh') },
      (args, env) => fleetplane(args, { ...env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` }),
    );
    fleet.agents.push(agent);
    await untilOnline(server, owner.token, agent.id);

    const page = await browser.open(server, `/agents/${agent.id}`);
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    const interpreters = page.getByTestId('agent-interpreters');
    await expect.poll(() => interpreters.textContent()).toContain('sh');
    expect(await interpreters.textContent()).not.toContain('pwsh');

    writeFileSync(path.join(bin, 'pwsh'), '#!/bin/sh\nexit 0\n');
    chmodSync(path.join(bin, 'pwsh'), 0o755);
    await page.getByRole('button', { name: 'Refresh facts' }).click();
    await page.getByText('Facts asked for: the agent reports them now').waitFor();
    // no reload: the agent.facts event reads the agent again
    await expect.poll(() => interpreters.textContent()).toContain('pwsh');
    await browser.shot(page, 'agent-refresh-facts');
  });

  it('console: the connection filter lists connected agents or the others, in the URL', async () => {
    const { server, owner } = fleet;
    await createAgent(server, owner, 'windows');
    const count = async (connected: boolean) =>
      (
        await expectStatus(
          call(server, 'GET', `/api/v1/agents?connected=${connected}`, { token: owner.token }),
          200,
        )
      ).items.length as number;
    const [connected, others] = [await count(true), await count(false)];
    expect(connected).toBeGreaterThan(0);
    expect(others).toBeGreaterThan(0);

    const page = await browser.open(server, '/agents');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await expect.poll(() => page.getByTestId('agent-row').count()).toBe(connected + others);
    await page.getByRole('combobox', { name: 'Connection' }).click();
    await page.getByRole('option', { name: 'Not connected' }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('connected')).toBe('false');
    await expect.poll(() => page.getByTestId('agent-row').count()).toBe(others);
    await browser.shot(page, 'agents-not-connected');

    await page.goto(`${server.url}/agents?connected=true`);
    await expect.poll(() => page.getByTestId('agent-row').count()).toBe(connected);
  });

  it('console: the run form takes several commands, which run at once as one run', async () => {
    const { server, owner } = fleet;
    // agents are named after their host: the one to select gets a name of its own
    const name = 'several-commands-target';
    await expectStatus(
      call(server, 'PATCH', `/api/v1/agents/${fleet.agent.id}`, { token: owner.token, body: { name } }),
      200,
    );
    const page = await browser.open(server, '/agents');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByLabel(`Select ${name}`).check();
    await page.getByRole('button', { name: 'Run command', exact: true }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Command', { exact: true }).fill('echo first-of-two');
    await dialog.getByRole('button', { name: 'Add a command' }).click();
    await dialog.getByLabel('Name 2', { exact: true }).fill('second');
    await dialog.getByLabel('Command 2', { exact: true }).fill('echo second-of-two');
    await browser.shot(page, 'run-several-commands');
    await dialog.getByRole('button', { name: 'Run', exact: true }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]+$/);
    const runId = new URL(page.url()).pathname.split('/').pop() ?? '';

    await expect.poll(() => page.getByTestId('run-job-row').count()).toBe(2);
    await page.getByTestId('run-job-command').filter({ hasText: '2. second' }).waitFor();
    await page.getByTestId('run-job-command').filter({ hasText: '1. echo first-of-two' }).waitFor();
    const runJobs = async () =>
      (await expectStatus(call(server, 'GET', `/api/v1/runs/${runId}/jobs`, { token: owner.token }), 200))
        .items as { id: string; task_index: number; status: string }[];
    await expect
      .poll(async () => (await runJobs()).map((job) => job.status), { timeout: 20_000 })
      .toEqual(['succeeded', 'succeeded']);
    for (const job of await runJobs())
      expect(await jobOutput(server, owner, job.id)).toBe(
        job.task_index === 0 ? 'first-of-two\n' : 'second-of-two\n',
      );
    await browser.shot(page, 'run-several-commands-jobs');
  });
});
