import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentToken, facts, register } from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { addMember, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console enrollment and audit', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  let viewer: Session;
  let apiToken: { id: string; secret: string };
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    owner = await signup(server, 'enroller');
    viewer = await addMember(server, owner, 'viewer');
    apiToken = await enrollmentToken(server, owner, { name: 'made-by-api', tags: ['db'] });
  });
  afterAll(async () => {
    await server.close();
  });

  it('console: a token created in the page shows its secret and commands once, and revoking it is confirmed', async () => {
    const page = await browser.open(server, '/enrollment');
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Enrollment' }).waitFor();
    await page.getByTestId('token-row').filter({ hasText: 'made-by-api' }).waitFor();

    await page.getByRole('button', { name: 'Create token' }).click();
    await page.getByLabel('Name').fill('web servers');
    await page.getByRole('combobox', { name: 'Tags' }).fill('web');
    await page.getByRole('combobox', { name: 'Tags' }).press('Enter');
    await page.getByLabel('Uses').fill('3');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const secret = (await page.getByTestId('enrollment-secret').textContent()) ?? '';
    expect(secret).toMatch(/^fpe_/);
    expect(await page.getByTestId('enroll-command-linux').textContent()).toBe(
      `npx fleetplane agent --server '${server.url}' --token '${secret}'`,
    );
    await page.getByRole('tab', { name: 'Windows' }).click();
    expect(await page.getByTestId('enroll-command-windows').textContent()).toBe(
      `npx fleetplane agent --server "${server.url}" --token "${secret}"`,
    );
    await browser.shot(page, 'enrollment-created');
    await page.getByRole('button', { name: 'Done' }).click();

    // the API holds what the form sent, and the secret works: a machine enrolls with it
    const list = await expectStatus(
      call(server, 'GET', '/api/v1/enrollment-tokens?limit=200', { token: owner.token }),
      200,
    );
    const created = list.items.find((t: { name: string }) => t.name === 'web servers');
    expect(created).toMatchObject({ tags: ['web'], max_uses: 3, status: 'active' });
    expect(secret.startsWith(created.prefix)).toBe(true);
    await expectStatus(register(server, { enrollment_token: secret, facts: facts() }), 200);

    const row = page.getByTestId('token-row').filter({ hasText: 'made-by-api' });
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await row.getByText('revoked').waitFor();
    expect(await row.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    const revoked = await expectStatus(
      call(server, 'GET', `/api/v1/enrollment-tokens/${apiToken.id}`, { token: owner.token }),
      200,
    );
    expect(revoked.status).toBe('revoked');
    await browser.shot(page, 'enrollment');

    // the audit page finds the revocation by its filters and shows what it changed
    await page.goto(`${server.url}/audit?entity_id=${apiToken.id}`);
    await page.getByRole('heading', { name: 'Audit' }).waitFor();
    await expect.poll(() => page.getByTestId('audit-row').count()).toBe(2);
    await page.getByRole('combobox', { name: 'Action' }).click();
    await page.getByRole('option', { name: 'status_changed' }).click();
    await expect.poll(() => page.getByTestId('audit-row').count()).toBe(1);
    expect(new URL(page.url()).searchParams.get('action')).toBe('status_changed');
    await page.getByTestId('audit-row').getByRole('button', { name: 'Changes' }).click();
    const diff = page.getByTestId('audit-diff');
    await diff.waitFor();
    const fields = await diff.locator('tbody tr td:first-child').allTextContents();
    expect(fields).toEqual(['revoked_at', 'status']);
    expect(await diff.locator('tbody tr').nth(1).textContent()).toContain('"revoked"');
    await browser.shot(page, 'audit');
  });

  it('console: a viewer sees tokens but no action, and the API refuses it', async () => {
    const page = await browser.open(server, '/enrollment');
    await signIn(page, viewer.email, viewer.password);
    await page.getByTestId('token-row').filter({ hasText: 'made-by-api' }).waitFor();
    expect(await page.getByRole('button', { name: 'Create token' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    await browser.shot(page, 'enrollment-viewer');

    // a viewer may not read the audit log: the page says the server's reason
    await page.goto(`${server.url}/audit`);
    await page.getByRole('heading', { name: 'Audit' }).waitFor();
    await page.getByRole('alert').waitFor();
    expect(await page.getByTestId('audit-row').count()).toBe(0);

    const created = await call(server, 'POST', '/api/v1/enrollment-tokens', {
      token: viewer.token,
      body: { name: 'forced' },
    });
    expectError(created, 403, 'forbidden');
    expectError(await call(server, 'GET', '/api/v1/audit', { token: viewer.token }), 403, 'forbidden');
  });
});
