import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadPackage } from '../processes/support.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { addMember, call, expectStatus, type Session, signup } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';

/** Picks an option of a Mantine select by its label, as a person would: open it, click the option. */
async function pick(page: Page, label: RegExp, option: string): Promise<void> {
  await page.getByLabel(label).first().click();
  await page.getByRole('option', { name: option }).click();
}

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console processes', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  let viewer: Session;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    owner = await signup(server, 'publisher');
    viewer = await addMember(server, owner, 'viewer');
    await uploadPackage(server, owner, 'invoice-bot', '1.0.0');
    await uploadPackage(server, owner, 'invoice-bot', '1.2.0');
  });
  afterAll(async () => {
    await server.close();
  });

  it('processes: a process made in the page from a package entry point, refused by field, then saved with a new version', async () => {
    const page = await browser.open(server, '/processes');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Processes' }).waitFor();
    await page.getByText('No process yet.').waitFor();

    await page.getByRole('button', { name: 'Create process' }).click();
    await page.getByLabel(/^Name/).fill('nightly invoices');
    await pick(page, /^Package/, 'invoice-bot');
    await pick(page, /^Entry point/, 'report (python, src/report.py)');
    await page.getByTestId('input-schema').waitFor();
    // A count the entry point's schema refuses: the server's message lands under the input.
    await page.getByLabel(/^Default input/).fill('{"url": "https://example.test/in", "count": 99}');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => page.getByLabel(/^Default input/).getAttribute('aria-invalid')).toBe('true');
    await page.getByText('/count: must be <= 10').first().waitFor();
    await browser.shot(page, 'process-input-refused');

    await page.getByLabel(/^Default input/).fill('{"url": "https://example.test/in", "count": 2}');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('heading', { name: 'nightly invoices' }).waitFor();
    await expect.poll(() => page.getByTestId('resolution').textContent()).toContain('invoice-bot 1.2.0');
    const id = new URL(page.url()).pathname.split('/').pop() ?? '';
    const created = await expectStatus(
      call(server, 'GET', `/api/v1/processes/${id}`, { token: owner.token }),
      200,
    );
    expect(created).toMatchObject({
      package_name: 'invoice-bot',
      package_version: null,
      entry_point: 'report',
      default_input: { url: 'https://example.test/in', count: 2 },
      version: 1,
    });

    await page.getByLabel(/^Timeout/).fill('60');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('nightly invoices saved (v2)').waitFor();
    await expect.poll(() => page.getByTestId('version-row').count()).toBe(2);
    await browser.shot(page, 'process-detail');
    const saved = await expectStatus(
      call(server, 'GET', `/api/v1/processes/${id}`, { token: owner.token }),
      200,
    );
    expect(saved).toMatchObject({ timeout_seconds: 60, version: 2 });
  });

  it('processes: a viewer reads a process but cannot change or delete it; the owner deletes it', async () => {
    const list = await expectStatus(call(server, 'GET', '/api/v1/processes', { token: owner.token }), 200);
    const [process] = list.items;
    const asViewer = await browser.open(server, `/processes/${process.id}`);
    asViewer.setDefaultTimeout(20_000);
    await signIn(asViewer, viewer.email, viewer.password);
    await asViewer.getByRole('heading', { name: process.name }).waitFor();
    expect(await asViewer.getByLabel(/^Name/).isDisabled()).toBe(true);
    expect(await asViewer.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    expect(await asViewer.getByRole('button', { name: 'Save' }).count()).toBe(0);

    const page = await browser.open(server, `/processes/${process.id}`);
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: process.name }).waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No process yet.').waitFor();
    const after = await call(server, 'GET', `/api/v1/processes/${process.id}`, { token: owner.token });
    expect(after.status).toBe(404);
  });
});
