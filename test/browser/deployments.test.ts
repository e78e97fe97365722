import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentToken, startAgent, untilOnline, type AgentProcess } from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { addMember, call, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { stopProcess } from '../support/processes.js';

/**
 * The deploy script typed into the page: it reports two steps with curl and its
 * FP_DEPLOYMENT_TOKEN (a second apart, so the page sees them move), prints a line, and publishes
 * its config on finish.
 */
const DEPLOY_SH = `#!/usr/bin/env bash
set -eu
api() { curl -fsS -X "$1" "$FP_SERVER_URL$2" -H "Authorization: Bearer $FP_DEPLOYMENT_TOKEN" -H 'Content-Type: application/json' -d "$3" > /dev/null; }
api POST /api/v1/steps '{"name": "build", "state": "running"}'
sleep 1
api POST /api/v1/steps '{"name": "build", "state": "success", "message": "built"}'
echo "shop deployed by the console test"
api POST /api/v1/steps '{"name": "restart", "state": "running"}'
sleep 1
api POST /api/v1/steps '{"name": "restart", "state": "success", "message": "restarted"}'
api PUT /api/v1/deployments/finish '{"status": "success", "config": {"url": "http://shop.internal"}}'
`;

/** Picks an option of a Mantine select by its label, as a person would: open it, click the option. */
async function pick(page: Page, label: string, option: RegExp): Promise<void> {
  await page.getByRole('combobox', { name: label }).click();
  await page.getByRole('option', { name: option }).click();
}

/** Replaces the text of the page's code editor, pasted in one piece (no auto-indent or closing quotes). */
async function pasteCode(page: Page, text: string): Promise<void> {
  const editor = page.getByTestId('code-editor').locator('.cm-content');
  await editor.click();
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

const shot = (browser: ReturnType<typeof useBrowser>, page: Page, name: string) =>
  browser.shot(page, name, path.join('/tmp/shots', `deployments-${name}.png`));

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console deployments', () => {
  const browser = useBrowser();
  let dir: string;
  let server: TestServer;
  let owner: Session;
  let agent: AgentProcess | undefined;
  let agentName: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-console-deployments-'));
    // a services directory with one good folder and one the sync refuses
    const servicesDir = path.join(dir, 'services');
    mkdirSync(path.join(servicesDir, 'billing'), { recursive: true });
    writeFileSync(path.join(servicesDir, 'billing', 'deploy.sh'), 'echo billing\n');
    writeFileSync(
      path.join(servicesDir, 'billing', 'service.json'),
      JSON.stringify({ script: 'deploy.sh', steps: ['build'], runs_on: { type: 'server' } }),
    );
    mkdirSync(path.join(servicesDir, 'broken'));
    writeFileSync(path.join(servicesDir, 'broken', 'service.json'), '{ not json');
    server = await startTestServer('sqlite', { config: { servicesDir } });
    owner = await signup(server, 'deployer');
    const { secret } = await enrollmentToken(server, owner, { name: 'shop machines' });
    agent = await startAgent(server.url, { token: secret, stateDir: path.join(dir, 'agent') });
    const online = await untilOnline(server, owner.token, agent.id);
    agentName = online.name;
  }, 90_000);
  afterAll(async () => {
    if (agent) await stopProcess(agent.proc);
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('services: a service made in the page runs on the real agent; deployed, its steps and status move live', async () => {
    const page = await browser.open(server, '/services');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Services' }).waitFor();
    await page.getByText('No service yet.').waitFor();

    // sync: the good folder is created, the broken one reported with its reason
    await page.getByRole('button', { name: 'Sync from directory' }).click();
    const report = page.getByTestId('sync-report');
    await report.waitFor();
    await page.waitForTimeout(300); // the modal's fade-in, for the screenshot
    await report.getByText('created (1)').waitFor();
    await report.getByText('invalid (1)').waitFor();
    expect(await report.textContent()).toContain('broken');
    await shot(browser, page, 'sync-report');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('service-row').count()).toBe(1);

    await page.getByRole('link', { name: 'Create service' }).click();
    await page.getByRole('heading', { name: 'New service' }).waitFor();
    await page.getByLabel(/^Name/).fill('shop');
    await page.getByLabel(/^Description/).fill('The web shop');
    await pasteCode(page, DEPLOY_SH);
    const steps = page.getByRole('combobox', { name: 'Steps' });
    await steps.fill('build');
    await steps.press('Enter');
    await steps.fill('restart');
    await steps.press('Enter');
    await pick(page, 'Agent', new RegExp(`^${agentName} `));
    await page.getByLabel(/^Environment/).fill('REGION=eu');
    await page.getByLabel(/^Config schema/).fill('{"type": "object", "required": ["url"]}');
    // leaving the field formats the JSON (the form grows) before Create is clicked
    await page.getByLabel(/^Config schema/).press('Tab');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { name: 'shop' }).waitFor();
    const serviceId = new URL(page.url()).pathname.split('/').pop() ?? '';
    const saved = await expectStatus(
      call(server, 'GET', `/api/v1/services/${serviceId}`, { token: owner.token }),
      200,
    );
    expect(saved).toMatchObject({
      name: 'shop',
      steps: ['build', 'restart'],
      runs_on: { type: 'agent', agent_id: agent?.id },
      env: { REGION: 'eu' },
      script: { interpreter: 'bash', content: DEPLOY_SH },
      config_schema: { type: 'object', required: ['url'] },
    });
    await shot(browser, page, 'service');

    // deploy from the page: the deployment's page opens and follows it live
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page
      .getByRole('dialog')
      .getByLabel(/^Environment/)
      .fill('VERSION=1.2.3');
    await page.getByRole('button', { name: 'Deploy now' }).click();
    await page.waitForURL('**/deployments/*');
    await page.getByText('Deployment', { exact: true }).waitFor();
    const stepState = (name: string) =>
      page.locator(`[data-testid="step-row"][data-step="${name}"]`).getByTestId('step-state').textContent();
    await expect.poll(() => stepState('build'), { timeout: 30_000 }).toBe('success');
    await expect.poll(() => stepState('restart'), { timeout: 30_000 }).toBe('success');
    await expect
      .poll(() => page.getByTestId('deployment-status').textContent(), { timeout: 30_000 })
      .toBe('succeeded');
    await expect
      .poll(() => page.getByTestId('job-output').getAttribute('data-output'), { timeout: 15_000 })
      .toContain('shop deployed by the console test');
    // and the terminal shows it, once scrolled into view (xterm draws only what is seen)
    await page.getByTestId('job-output').scrollIntoViewIfNeeded();
    await expect
      .poll(() => page.getByTestId('job-output').locator('.xterm-rows').textContent())
      .toContain('shop deployed by the console test');
    await expect
      .poll(() => page.getByTestId('deployment-config').textContent())
      .toContain('http://shop.internal');
    expect(await page.getByTestId('deployment-env').textContent()).toContain('VERSION=1.2.3');
    await shot(browser, page, 'detail');

    const deploymentId = new URL(page.url()).pathname.split('/').pop() ?? '';
    const deployment = await expectStatus(
      call(server, 'GET', `/api/v1/deployments/${deploymentId}`, { token: owner.token }),
      200,
    );
    expect(deployment.status).toBe('succeeded');
    expect(deployment.origin).toBe('console');
    expect(deployment.targets[0].steps.map((s: { state: string }) => s.state)).toEqual([
      'success',
      'success',
    ]);

    // the list shows it, filtered by its service
    await page.getByRole('link', { name: '← Deployments' }).click();
    await page.getByRole('heading', { name: 'Deployments' }).waitFor();
    await expect.poll(() => page.getByTestId('deployment-row').count()).toBe(1);
    await page.getByRole('combobox', { name: 'Status' }).click();
    await page.getByRole('option', { name: 'failed' }).click();
    await expect.poll(() => page.getByTestId('deployment-row').count()).toBe(0);
    await page.getByText('No deployment matches these filters.').waitFor();
    await shot(browser, page, 'list');
  });

  it('service tokens: one created in the page shows its secret once, then only masked', async () => {
    const list = await expectStatus(
      call(server, 'GET', '/api/v1/services?search=shop', { token: owner.token }),
      200,
    );
    const [service] = list.items;
    const page = await browser.open(server, `/services/${service.id}`);
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'shop' }).waitFor();
    await page.getByText('No service token yet.').waitFor();

    await page.getByRole('button', { name: 'Create service token' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/^Origin/).fill('github');
    await dialog.getByLabel(/^Expires in/).fill('30');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    const secret = (await page.getByTestId('deploy-token-secret').textContent()) ?? '';
    expect(secret).toMatch(/^fpst_/);
    await shot(browser, page, 'token-secret');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.getByTestId('deploy-token-row').count()).toBe(1);
    const row = page.getByTestId('deploy-token-row');
    expect(await row.textContent()).toContain('active');
    expect(await row.textContent()).not.toContain(secret);
    expect(await page.getByTestId('deploy-token-secret').count()).toBe(0);

    // the secret deploys the service from CI: an open list of deployments takes it in, live
    const deployments = await browser.open(server, '/deployments');
    deployments.setDefaultTimeout(20_000);
    await signIn(deployments, owner.email, owner.password);
    await deployments.getByRole('heading', { name: 'Deployments' }).waitFor();
    await expect.poll(() => deployments.getByTestId('deployment-row').count()).toBe(1);
    const started = await call(server, 'POST', '/api/v1/deployments', {
      token: secret,
      body: { service: 'shop', origin: 'github' },
    });
    expect(started.status).toBe(201);
    await expect.poll(() => deployments.getByTestId('deployment-row').count()).toBe(2);
    const newest = deployments.getByTestId('deployment-row').first();
    expect(await newest.textContent()).toContain('github');
    expect(await newest.textContent()).toContain('1 of 1');
    await expect
      .poll(() => newest.getByTestId('deployment-status').textContent(), { timeout: 30_000 })
      .toBe('succeeded');
    await browser.shot(deployments, 'list', '/tmp/shots/deployments-list-live.png');

    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await expect.poll(() => row.textContent()).toContain('revoked');
    await shot(browser, page, 'tokens');
    const refused = await call(server, 'GET', '/api/v1/deployments', { token: secret });
    expect(refused.status).toBe(401);

    // discovery: a config token made in the page, and what the services published
    await page.getByRole('link', { name: 'Discovery' }).click();
    await page.getByRole('heading', { name: 'Discovery' }).waitFor();
    await expect.poll(() => page.getByTestId('deployed-service-row').count()).toBe(1);
    expect(await page.getByTestId('deployed-service-row').textContent()).toContain('http://shop.internal');
    await page.getByRole('button', { name: 'Create config token' }).click();
    await page
      .getByRole('dialog')
      .getByLabel(/^Origin/)
      .fill('gitlab');
    await page.getByRole('dialog').getByRole('button', { name: 'Create', exact: true }).click();
    const configSecret = (await page.getByTestId('deploy-token-secret').textContent()) ?? '';
    expect(configSecret).toMatch(/^fpct_/);
    await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.getByTestId('deploy-token-row').count()).toBe(1);
    const discovered = await expectStatus(
      call(server, 'GET', '/api/v1/deployed-services', { token: configSecret }),
      200,
    );
    expect(discovered.items.map((item: { service_name: string }) => item.service_name)).toEqual(['shop']);
    await shot(browser, page, 'discovery');
  });

  it('a service whose deployment runs is not deleted (409 on the page); Cancel stops the deployment', async () => {
    const service = await expectStatus(
      call(server, 'POST', '/api/v1/services', {
        token: owner.token,
        body: {
          name: 'slow',
          script: { interpreter: 'bash', content: 'echo waiting\nsleep 60\n' },
          steps: ['wait'],
          runs_on: { type: 'agent', agent_id: agent?.id },
        },
      }),
      201,
    );
    const running = await expectStatus(
      call(server, 'POST', '/api/v1/deployments', { token: owner.token, body: { service_id: service.id } }),
      201,
    );

    const page = await browser.open(server, `/services/${service.id}`);
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'slow' }).waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    const refused = page.getByTestId('delete-refused');
    await refused.waitFor();
    expect(await refused.textContent()).toContain('Not deleted');
    await shot(browser, page, 'delete-refused');
    await expectStatus(call(server, 'GET', `/api/v1/services/${service.id}`, { token: owner.token }), 200);

    // the service's own deployments: the list filtered by it
    await page.getByRole('main').getByRole('link', { name: 'Deployments', exact: true }).click();
    await page.getByRole('heading', { name: 'Deployments' }).waitFor();
    await expect.poll(() => page.getByTestId('deployment-row').count()).toBe(1);
    await page.getByTestId('deployment-row').getByRole('link', { name: 'slow' }).click();
    await page.waitForURL(`**/deployments/${running.id}`);
    await page.getByTestId('job-output').scrollIntoViewIfNeeded();
    await expect
      .poll(() => page.getByTestId('job-output').locator('.xterm-rows').textContent(), { timeout: 20_000 })
      .toContain('waiting');
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel deployment' }).click();
    await expect
      .poll(() => page.getByTestId('deployment-status').textContent(), { timeout: 20_000 })
      .toBe('failed');
    expect(await page.getByRole('button', { name: 'Cancel', exact: true }).count()).toBe(0);
    await shot(browser, page, 'canceled');
    const after = await expectStatus(
      call(server, 'GET', `/api/v1/deployments/${running.id}`, { token: owner.token }),
      200,
    );
    expect(after.status).toBe('failed');
  });

  it('a viewer reads services and deployments but changes, deploys and cancels nothing', async () => {
    const viewer = await addMember(server, owner, 'viewer');
    const list = await expectStatus(
      call(server, 'GET', '/api/v1/services?search=shop', { token: owner.token }),
      200,
    );
    const [service] = list.items;
    const page = await browser.open(server, `/services/${service.id}`);
    page.setDefaultTimeout(20_000);
    await signIn(page, viewer.email, viewer.password);
    await page.getByRole('heading', { name: 'shop' }).waitFor();
    expect(await page.getByLabel(/^Name/).isDisabled()).toBe(true);
    expect(await page.getByTestId('code-editor').locator('.cm-content').getAttribute('contenteditable')).toBe(
      'false',
    );
    for (const name of ['Deploy', 'Delete', 'Save', 'Create service token'])
      expect(await page.getByRole('button', { name, exact: true }).count()).toBe(0);
    await expect.poll(() => page.getByTestId('deploy-token-row').count()).toBe(1);
    expect(await page.getByTestId('deploy-token-row').getByRole('button', { name: 'Revoke' }).count()).toBe(
      0,
    );

    await page.getByRole('main').getByRole('link', { name: 'Deployments', exact: true }).click();
    await expect.poll(() => page.getByTestId('deployment-row').count()).toBe(2);
    await page.getByTestId('deployment-row').first().getByRole('link', { name: 'shop' }).click();
    await page.getByText('Deployment', { exact: true }).waitFor();
    await expect.poll(() => page.getByTestId('step-row').count()).toBe(2);
    expect(await page.getByRole('button', { name: 'Cancel', exact: true }).count()).toBe(0);
  });
});
