import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageZip } from '../packages/zips.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console packages', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    owner = await signup(server, 'packager');
  });
  afterAll(async () => {
    await server.close();
  });

  it('packages: a zip uploaded in the page is listed, opened, deactivated and deleted; a refusal is shown', async () => {
    const page = await browser.open(server, '/packages');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Packages' }).waitFor();
    await page.getByText('No package yet.').waitFor();

    const upload = page.locator('input[type="file"]');
    await upload.setInputFiles({
      name: 'notes.zip',
      mimeType: 'application/zip',
      buffer: Buffer.from('not a zip'),
    });
    await expect.poll(() => page.getByTestId('upload-error').textContent()).toContain('not a zip archive');

    const zip = await packageZip({ name: 'invoice-bot', version: '1.4.0' });
    await upload.setInputFiles({ name: 'invoice-bot.zip', mimeType: 'application/zip', buffer: zip });
    await page.getByRole('cell', { name: 'invoice-bot' }).waitFor();
    expect(await page.getByTestId('package-row').count()).toBe(1);

    await page.getByRole('cell', { name: 'invoice-bot' }).click();
    const drawer = page.getByRole('dialog');
    await drawer.getByText('Entry points').waitFor();
    expect(await drawer.getByTestId('entry-point-row').count()).toBe(1);
    await drawer.getByText('"src/main.py"').waitFor();
    await browser.shot(page, 'package-drawer');

    await drawer.getByRole('button', { name: 'Deactivate' }).click();
    await drawer.getByRole('button', { name: 'Activate' }).waitFor();
    const [listed] = (
      await expectStatus(call(server, 'GET', '/api/v1/packages', { token: owner.token }), 200)
    ).items;
    expect(listed).toMatchObject({ name: 'invoice-bot', version: '1.4.0', active: false });

    await drawer.getByRole('button', { name: 'Delete' }).click();
    await page
      .getByRole('dialog', { name: /Delete invoice-bot 1.4.0/ })
      .getByRole('button', { name: 'Delete' })
      .click();
    await page.getByText('No package yet.').waitFor();
    expect((await call(server, 'GET', `/api/v1/packages/${listed.id}`, { token: owner.token })).status).toBe(
      404,
    );
  });
});
