import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import {
  addMember,
  call,
  expectStatus,
  roleId,
  signup,
  uniqueEmail,
  type Session,
} from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console API keys and users & roles', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  let viewer: Session;
  let operator: Session;
  let apiKey: { id: string };
  let invite: { id: string; email: string };
  let custom: { id: string };
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    owner = await signup(server, 'keeper');
    viewer = await addMember(server, owner, 'viewer');
    operator = await addMember(server, owner, 'operator');
    const viewerRole = await roleId(server, owner.token, 'viewer');
    const created = await expectStatus(
      call(server, 'POST', '/api/v1/api-keys', {
        token: owner.token,
        body: { name: 'made-by-api', role_id: viewerRole },
      }),
      201,
    );
    apiKey = created.key;
    const invited = await expectStatus(
      call(server, 'POST', '/api/v1/access/invites', {
        token: owner.token,
        body: { email: uniqueEmail('pending'), role_id: viewerRole },
      }),
      201,
    );
    invite = invited.invite;
    custom = await expectStatus(
      call(server, 'POST', '/api/v1/access/roles', {
        token: owner.token,
        body: { name: 'auditor', permissions: ['agents:read'] },
      }),
      201,
    );
  }, 120_000);
  afterAll(async () => {
    await server.close();
  });

  it('console: a key created in the page is shown once and works, and revoking a key is confirmed', async () => {
    const page = await browser.open(server, '/api-keys');
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'API keys' }).waitFor();
    const apiRow = page.getByTestId('api-key-row').filter({ hasText: 'made-by-api' });
    await apiRow.getByText('viewer').waitFor();

    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByLabel('Name').fill('ci deploy');
    await page.getByRole('combobox', { name: 'Role' }).click();
    await page.getByRole('option', { name: 'operator' }).click();
    await page.getByRole('combobox', { name: 'Expires' }).click();
    await page.getByRole('option', { name: 'In 30 days' }).click();
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const secret = (await page.getByTestId('api-key-secret').textContent()) ?? '';
    await browser.shot(page, 'api-key-created');
    await page.getByRole('button', { name: 'Done' }).click();
    expect(await page.getByTestId('api-key-secret').count()).toBe(0);

    // the API holds what the form sent, the list shows only the prefix, and the key authenticates
    const list = await expectStatus(
      call(server, 'GET', '/api/v1/api-keys?limit=200', { token: owner.token }),
      200,
    );
    const made = list.items.find((k: { name: string }) => k.name === 'ci deploy');
    expect(made.role_id).toBe(await roleId(server, owner.token, 'operator'));
    expect(new Date(made.expires_at).getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(secret.startsWith(made.prefix)).toBe(true);
    expect(secret.length).toBeGreaterThan(made.prefix.length);
    const madeRow = page.getByTestId('api-key-row').filter({ hasText: 'ci deploy' });
    expect(await madeRow.textContent()).not.toContain(secret);
    await expectStatus(call(server, 'GET', '/api/v1/agents', { token: secret }), 200);

    await apiRow.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await apiRow.getByText('revoked').waitFor();
    const revoked = await expectStatus(
      call(server, 'GET', `/api/v1/api-keys/${apiKey.id}`, { token: owner.token }),
      200,
    );
    expect(revoked.revoked_at).not.toBeNull();
    await browser.shot(page, 'api-keys');
  });

  it('console: members, invites and custom roles are changed in the page and the API agrees', async () => {
    const page = await browser.open(server, '/users');
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Users & roles' }).waitFor();
    const operatorRow = page.getByTestId('member-row').filter({ hasText: operator.email });
    await expect.poll(() => operatorRow.getByTestId('member-roles').textContent()).toBe('operator');

    // set the operator's roles to the custom role
    await operatorRow.getByRole('button', { name: 'Roles' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('combobox', { name: 'Roles' }).click();
    await page.getByRole('option', { name: 'auditor' }).click();
    await page.getByRole('option', { name: 'operator' }).click();
    await dialog.getByRole('combobox', { name: 'Roles' }).press('Escape');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => operatorRow.getByTestId('member-roles').textContent()).toBe('auditor');
    const roles = await expectStatus(
      call(server, 'GET', `/api/v1/access/users/${operator.userId}/roles`, { token: owner.token }),
      200,
    );
    expect(roles.items.map((r: { name: string }) => r.name)).toEqual(['auditor']);

    // a custom role's box saves; a built-in role's box is read-only
    const box = page.getByRole('checkbox', { name: 'auditor runs:read' });
    // the box follows the saved role, so it turns checked only once the server agrees
    await box.click();
    await expect
      .poll(async () => {
        const role = await call(server, 'GET', `/api/v1/access/roles/${custom.id}`, { token: owner.token });
        return [...role.body.permissions].sort();
      })
      .toEqual(['agents:read', 'runs:read']);
    await expect.poll(() => box.isChecked()).toBe(true);
    expect(await page.getByRole('checkbox', { name: 'viewer agents:read' }).isChecked()).toBe(true);
    expect(await page.getByRole('checkbox', { name: 'viewer agents:read' }).isDisabled()).toBe(true);
    expect(await page.getByRole('checkbox', { name: 'viewer agents:delete' }).isChecked()).toBe(false);

    // invite someone; the token is shown once and the API lists the invite
    const email = uniqueEmail('invited');
    await page.getByRole('button', { name: 'Invite', exact: true }).click();
    await dialog.getByLabel('Email').fill(email);
    await dialog.getByRole('combobox', { name: 'Role' }).click();
    await page.getByRole('option', { name: 'viewer' }).click();
    await dialog.getByRole('button', { name: 'Invite' }).click();
    expect(await page.getByTestId('invite-token').textContent()).not.toBe('');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await page.getByTestId('invite-row').filter({ hasText: email }).getByText('pending').waitFor();
    const invites = await expectStatus(
      call(server, 'GET', '/api/v1/access/invites?limit=200', { token: owner.token }),
      200,
    );
    expect(invites.items.find((i: { email: string }) => i.email === email)?.status).toBe('pending');

    // revoke the invite made through the API
    const inviteRow = page.getByTestId('invite-row').filter({ hasText: invite.email });
    await inviteRow.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await inviteRow.getByText('revoked').waitFor();
    const afterRevoke = await expectStatus(
      call(server, 'GET', '/api/v1/access/invites?limit=200', { token: owner.token }),
      200,
    );
    expect(afterRevoke.items.find((i: { id: string }) => i.id === invite.id)?.status).toBe('revoked');

    // remove the member, confirmed
    await operatorRow.getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await expect.poll(() => operatorRow.count()).toBe(0);
    expect(
      (await call(server, 'GET', `/api/v1/access/users/${operator.userId}`, { token: owner.token })).status,
    ).toBe(404);
    await browser.shot(page, 'users');
  });

  it('console: a viewer sees keys, members and roles but no action', async () => {
    const page = await browser.open(server, '/api-keys');
    await signIn(page, viewer.email, viewer.password);
    await page.getByTestId('api-key-row').filter({ hasText: 'made-by-api' }).waitFor();
    expect(await page.getByRole('button', { name: 'Create key' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Revoke' }).count()).toBe(0);

    await page.getByRole('link', { name: 'Users & roles' }).click();
    await page.getByTestId('member-row').filter({ hasText: owner.email }).waitFor();
    await page.getByRole('checkbox', { name: 'auditor runs:read' }).waitFor();
    for (const name of ['Roles', 'Remove', 'Invite', 'Revoke', 'Create role'])
      expect(await page.getByRole('button', { name, exact: true }).count()).toBe(0);
    expect(await page.getByRole('checkbox', { name: 'auditor runs:read' }).isDisabled()).toBe(true);
    await browser.shot(page, 'users-viewer');
  });
});
