import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console assets and SDK sign-in', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    owner = await signup(server, 'keeper');
  });
  afterAll(async () => {
    await server.close();
  });

  it('assets: created with a credential, given a robot value, never shown back, then deleted', async () => {
    const robot = await expectStatus(
      call(server, 'POST', '/api/v1/robots', {
        token: owner.token,
        body: { name: 'invoice bot', kind: 'runner' },
      }),
      201,
    );
    const page = await browser.open(server, '/assets');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Assets' }).waitFor();
    await page.getByText('No asset yet.').waitFor();

    await page.getByRole('button', { name: 'Create asset' }).click();
    await page.getByLabel(/^Name/).fill('erp-login');
    await page.getByLabel(/^Username/).fill('svc-erp');
    await page.getByLabel(/^Password/).fill('global-password-1');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await expect.poll(() => page.getByTestId('asset-row').count()).toBe(1);
    await expect.poll(() => page.getByTestId('asset-row').first().textContent()).toContain('svc-erp');

    await page.getByTestId('asset-row').first().getByRole('button', { name: 'Values' }).click();
    const dialog = page.getByRole('dialog', { name: 'Values of erp-login' });
    await dialog
      .getByTestId('global-value')
      .getByText(/username svc-erp/)
      .waitFor();
    await dialog.getByLabel('Robot').click();
    await page.getByRole('option', { name: 'invoice bot' }).click();
    // The robot form is the second of the dialog.
    await dialog
      .getByLabel(/^Username/)
      .nth(1)
      .fill('bot-erp');
    await dialog
      .getByLabel(/^Password/)
      .nth(1)
      .fill('robot-password-2');
    await dialog.getByRole('button', { name: 'Set robot value' }).click();
    await expect.poll(() => dialog.getByTestId('robot-value-row').count()).toBe(1);
    await expect
      .poll(() => dialog.getByTestId('robot-value-row').first().textContent())
      .toContain('invoice bot');

    const opened = await server.app.services.assets.openForJob(owner.orgId, robot.robot.id, ['erp-login']);
    expect(opened['erp-login']?.value).toEqual({ username: 'bot-erp', password: 'robot-password-2' });
    const html = await page.content();
    expect(html).not.toContain('global-password-1');
    expect(html).not.toContain('robot-password-2');
    await browser.shot(page, 'asset-values');

    await dialog.getByTestId('robot-value-row').first().getByRole('button', { name: 'Delete' }).click();
    await page
      .getByRole('dialog', { name: 'Delete this robot value?' })
      .getByRole('button', { name: 'Delete' })
      .click();
    await expect.poll(() => dialog.getByTestId('robot-value-row').count()).toBe(0);
    await page.keyboard.press('Escape');

    await page.getByTestId('asset-row').first().getByRole('button', { name: 'Delete' }).click();
    await page
      .getByRole('dialog', { name: 'Delete erp-login?' })
      .getByRole('button', { name: 'Delete' })
      .click();
    await page.getByText('No asset yet.').waitFor();
    const left = await expectStatus(call(server, 'GET', '/api/v1/assets', { token: owner.token }), 200);
    expect(left.items).toEqual([]);
  });

  it('sdk: the link an SDK shows leads, after sign-in, to an approval that signs the SDK in; revoked from the same page', async () => {
    const started = await expectStatus(
      call(server, 'POST', '/api/v1/sdk/device/start', { body: { client_name: 'notebook sdk' } }),
      200,
    );
    const link = new URL(started.verification_uri_complete);
    expect(link.pathname).toBe('/device');
    const page = await browser.open(server, `${link.pathname}${link.search}`);
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Sign in an SDK' }).waitFor();
    expect(await page.getByLabel('Code').inputValue()).toBe(started.user_code);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.getByTestId('device-decided').getByText('notebook sdk is signed in').waitFor();

    const issued = await expectStatus(
      call(server, 'POST', '/api/v1/sdk/device/token', { body: { device_code: started.device_code } }),
      200,
    );
    expect(issued.status).toBe('confirmed');
    const token = issued.access_token as string;
    await expectStatus(call(server, 'GET', '/api/v1/assets', { token }), 200);

    await page.reload();
    await expect.poll(() => page.getByTestId('sdk-token-row').count()).toBe(1);
    expect(await page.content()).not.toContain(token);
    await page.getByTestId('sdk-token-row').getByRole('button', { name: 'Revoke' }).click();
    await page
      .getByRole('dialog', { name: /Revoke notebook sdk/ })
      .getByRole('button', { name: 'Revoke' })
      .click();
    await page.getByTestId('sdk-token-row').getByText('revoked').waitFor();
    expectError(await call(server, 'GET', '/api/v1/assets', { token }), 401, 'unauthorized');

    // A wrong code is refused on the page, with the server's reason.
    await page.getByLabel('Code').fill('BBBB-BBBB');
    await page.getByRole('button', { name: 'Deny' }).click();
    await page
      .getByTestId('refusal')
      .getByText(/no sign-in waits for this code/)
      .waitFor();
  });
});
