import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { writeFakeBuilds } from '../installers/support.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console installers', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  let buildsDir: string;
  beforeAll(async () => {
    buildsDir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-console-builds-'));
    writeFakeBuilds(buildsDir, '1.0.0');
    server = await startTestServer('sqlite', { config: { agentBuildsDir: buildsDir } });
    owner = await signup(server, 'installer');
  });
  afterAll(async () => {
    await server.close();
    rmSync(buildsDir, { recursive: true, force: true });
  });

  it('installers: from the enrollment page, a one-line command with a new token, a script download, a pasted token, a platform without a build', async () => {
    const page = await browser.open(server, '/enrollment');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Enrollment' }).waitFor();
    await page.getByRole('link', { name: 'Install agents' }).first().click();
    await page.getByRole('heading', { name: 'Install agents' }).waitFor();

    // Linux x64 is the default; a new token for three web machines.
    await page.getByRole('combobox', { name: 'Tags' }).fill('web');
    await page.getByRole('combobox', { name: 'Tags' }).press('Enter');
    await page.getByLabel('Uses').fill('3');
    await page.getByRole('button', { name: 'Show command' }).click();
    const command = (await page.getByTestId('install-command').textContent()) ?? '';
    const secret = /Bearer (fpe_[A-Za-z0-9_-]+)/.exec(command)?.[1] ?? '';
    expect(command).toBe(
      `curl -fsSL -H 'Authorization: Bearer ${secret}' '${server.url}/api/v1/installers/linux/x64/script' | sudo sh`,
    );
    await page.getByText('It holds a new enrollment token, shown this once.').waitFor();
    await browser.shot(page, 'installers');
    const tokens = await expectStatus(
      call(server, 'GET', '/api/v1/enrollment-tokens?limit=200', { token: owner.token }),
      200,
    );
    expect(tokens.items).toEqual([expect.objectContaining({ tags: ['web'], max_uses: 3, status: 'active' })]);
    // what the command fetches: the script with the token in it
    const script = await call(server, 'GET', '/api/v1/installers/linux/x64/script', { token: secret });
    expect(script.status).toBe(200);
    expect(script.body).toContain(`ENROLLMENT_TOKEN='${secret}'`);

    // macOS on Apple silicon: the x64 build under Rosetta; the script downloads with the pasted token.
    await page.getByText('macOS', { exact: true }).click();
    await page.getByText('arm64', { exact: true }).click();
    await page.getByText(/Rosetta 2/).waitFor();
    await page.getByText('Existing token', { exact: true }).click();
    await page.getByLabel('Enrollment token').fill(secret);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download script' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('fleetplane-install-darwin-arm64.sh');
    const saved = readFileSync(await download.path(), 'utf8');
    expect(saved).toContain(`ENROLLMENT_TOKEN='${secret}'`);
    expect(saved).toContain('launchctl bootstrap system');
    await page.getByRole('button', { name: 'Show command' }).click();
    expect(await page.getByTestId('install-command').textContent()).toContain(
      '/installers/darwin/arm64/script',
    );
    expect(await page.getByText('It holds a new enrollment token').count()).toBe(0);
    // no new token was made for the pasted one
    const after = await call(server, 'GET', '/api/v1/enrollment-tokens?limit=200', { token: owner.token });
    expect(after.body.items).toHaveLength(1);

    // Windows on arm64 has no build here: said so, nothing to fetch.
    await page.getByText('Windows', { exact: true }).click();
    await page.getByTestId('no-build').waitFor();
    expect(await page.getByRole('button', { name: 'Show command' }).isDisabled()).toBe(true);
    await page.getByText('x64', { exact: true }).click();
    await page.getByRole('button', { name: 'Show command' }).click();
    expect(await page.getByTestId('install-command').textContent()).toBe(
      `iwr -UseBasicParsing -Headers @{Authorization='Bearer ${secret}'} '${server.url}/api/v1/installers/windows/x64/script' | iex`,
    );
  });
});
