import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll } from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console robots', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    owner = await signup(server, 'automator');
  });
  afterAll(async () => {
    await server.close();
  });

  const robotsNow = async () =>
    (await expectStatus(call(server, 'GET', '/api/v1/robots', { token: owner.token }), 200)).items as any[];
  const register = (name: string, machineKey: string) =>
    call(server, 'POST', '/api/v1/runner/register', { body: { name, machine_key: machineKey } });

  it('robots: a runner and an agent robot created in the page, keys shown once, filtered, edited, revoked and deleted', async () => {
    const agent = await enroll(server, owner, { facts: { hostname: 'bot-host' } });
    const page = await browser.open(server, '/robots');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Robots' }).waitFor();
    await page.getByText('No robot yet.').waitFor();

    // A runner: its one-time machine key is shown, and works once.
    await page.getByRole('button', { name: 'Create robot' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/^Name/).fill('invoice runner');
    await dialog.getByRole('combobox', { name: 'Pools' }).fill('finance');
    await dialog.getByRole('combobox', { name: 'Pools' }).press('Enter');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    const machineKey = (await page.getByTestId('robot-machine-key').textContent())?.trim() ?? '';
    expect(machineKey).toMatch(/^fprm_/);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.getByTestId('robot-row').count()).toBe(1);
    const [runner] = await robotsNow();
    expect(runner).toMatchObject({
      name: 'invoice runner',
      kind: 'runner',
      pools: ['finance'],
      has_token: false,
    });
    const registered = await expectStatus(register('invoice runner', machineKey), 200);
    await page.reload();
    await expect.poll(() => page.getByTestId('robot-status').first().textContent()).toBe('online');
    await page.getByText(`${registered.robot_token.slice(0, 12)}…`).waitFor();

    // An agent robot, on an agent picked by name.
    await page.getByRole('button', { name: 'Create robot' }).click();
    await dialog.getByLabel(/^Name/).fill('desk bot');
    await dialog.getByText('On one of our agents').click();
    await dialog.getByRole('combobox', { name: 'Agent' }).click();
    await page.getByRole('option', { name: /bot-host/ }).click();
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => page.getByTestId('robot-row').count()).toBe(2);
    const deskBot = (await robotsNow()).find((r) => r.name === 'desk bot');
    expect(deskBot).toMatchObject({ kind: 'agent', agent_id: agent.agentId, status: 'online' });
    await page
      .getByTestId('robot-row')
      .getByText(/agent bot-host/)
      .waitFor();
    await dialog.waitFor({ state: 'hidden' });
    await browser.shot(page, 'robots');

    // Filters: by kind, and by name.
    await page.getByRole('combobox', { name: 'Kind' }).click();
    await page.getByRole('option', { name: 'agent' }).click();
    await expect.poll(() => page.getByTestId('robot-row').count()).toBe(1);
    await page.getByTestId('robot-row').getByText('desk bot').waitFor();
    await page.getByRole('combobox', { name: 'Kind' }).click();
    await page.getByRole('option', { name: 'runner' }).click();
    await page.getByTestId('robot-row').getByText('invoice runner').waitFor();
    await page.getByLabel('Search robots').fill('desk');
    await page.getByText('No robot matches these filters.').waitFor();
    await page.getByLabel('Search robots').fill('INVOICE');
    await expect.poll(() => page.getByTestId('robot-row').count()).toBe(1);
    await page.reload();
    await expect.poll(() => page.getByTestId('robot-row').count()).toBe(2);

    // Edit the agent robot.
    const deskRow = page.getByTestId('robot-row').filter({ hasText: 'desk bot' });
    await deskRow.getByRole('button', { name: 'Edit' }).click();
    await dialog.getByLabel(/^Description/).fill('answers the help desk');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await deskRow.getByText('answers the help desk').waitFor();
    await dialog.waitFor({ state: 'hidden' });
    expect((await robotsNow()).find((r) => r.name === 'desk bot').description).toBe('answers the help desk');

    // Revoke the runner's token: refused at once.
    const runnerRow = page.getByTestId('robot-row').filter({ hasText: 'invoice runner' });
    await runnerRow.getByRole('button', { name: 'Revoke token' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await runnerRow.getByText('not registered').waitFor();
    const me = await call(server, 'GET', '/api/v1/runner/me', {
      headers: { 'x-robot-token': registered.robot_token },
    });
    expect(me.status).toBe(401);

    // A new machine key, shown once, registers the runner again.
    await runnerRow.getByRole('button', { name: 'New machine key' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Issue key' }).click();
    const newKey = (await page.getByTestId('robot-machine-key').textContent())?.trim() ?? '';
    expect(newKey).toMatch(/^fprm_/);
    expect(newKey).not.toBe(machineKey);
    await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
    await expectStatus(register('invoice runner', newKey), 200);

    // Delete the agent robot, confirmed.
    await deskRow.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.getByTestId('robot-row').count()).toBe(1);
    expect((await robotsNow()).map((r) => r.name)).toEqual(['invoice runner']);
  });
});
