import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { addMember, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console settings and schedules', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  let viewer: Session;
  let scriptId: string;
  let apiSchedule: { id: string };
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    owner = await signup(server, 'scheduler');
    viewer = await addMember(server, owner, 'viewer');
    await expectStatus(
      call(server, 'PUT', '/api/v1/settings/email', {
        token: owner.token,
        body: { smtp_host: 'api.example', smtp_password: 'hunter2' },
      }),
      200,
    );
    const script = await expectStatus(
      call(server, 'POST', '/api/v1/scripts', {
        token: owner.token,
        body: { name: 'nightly cleanup', language: 'bash', content: 'echo cleaned' },
      }),
      201,
    );
    scriptId = script.id;
    apiSchedule = await expectStatus(
      call(server, 'POST', '/api/v1/schedules', {
        token: owner.token,
        body: {
          name: 'made-by-api',
          action: { kind: 'script', script_id: scriptId },
          target: { all: true },
          interval_seconds: 3600,
        },
      }),
      201,
    );
  });
  afterAll(async () => {
    await server.close();
  });

  it('console: settings show secrets masked, refuse a bad value by field, and keep a secret not retyped', async () => {
    const page = await browser.open(server, '/settings');
    await signIn(page, owner.email, owner.password);
    const email = page.getByTestId('settings-email');
    await email.waitFor();
    expect(await email.getByLabel('SMTP host').inputValue()).toBe('api.example');
    expect(await email.getByLabel('SMTP password').inputValue()).toBe('********');

    const security = page.getByTestId('settings-security');
    await security.getByLabel('Minimum password length').fill('4');
    await security.getByRole('button', { name: 'Save security' }).click();
    await security.getByText('must be >= 8').waitFor();
    const kept = await expectStatus(
      call(server, 'GET', '/api/v1/settings/security', { token: owner.token }),
      200,
    );
    expect(kept.password_min_length).toBe(8);

    await email.getByLabel('SMTP host').fill('smtp.example');
    await email.getByLabel('SMTP port').fill('2525');
    await email.getByRole('button', { name: 'Save email' }).click();
    await expect
      .poll(async () => (await call(server, 'GET', '/api/v1/settings/email', { token: owner.token })).body)
      .toMatchObject({ smtp_host: 'smtp.example', smtp_port: 2525, smtp_password: '********' });
    await browser.shot(page, 'settings');
  });

  it('console: schedules list, create by cron, disable and a confirmed delete reach the API', async () => {
    const page = await browser.open(server, '/schedules');
    await signIn(page, owner.email, owner.password);
    const apiRow = page.getByTestId('schedule-row').filter({ hasText: 'made-by-api' });
    await apiRow.waitFor();
    expect(await apiRow.textContent()).toContain('all agents');
    expect(await apiRow.getByTestId('next-fire').textContent()).not.toBe('—');

    await page.getByRole('button', { name: 'Create schedule' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('made-in-page');
    await dialog.getByRole('combobox', { name: 'Script' }).click();
    await page.getByRole('option', { name: 'nightly cleanup' }).click();
    await dialog.getByLabel('Cron expression').fill('0 3 * * 99');
    await expect
      .poll(() => dialog.getByTestId('timing-preview').textContent())
      .toContain('Invalid value for dayOfWeek');
    await dialog.getByLabel('Cron expression').fill('0 3 * * *');
    await dialog.getByLabel('Time zone').fill('Europe/Paris');
    const preview = dialog.getByTestId('timing-preview');
    await expect.poll(() => preview.textContent()).toContain('At 03:00');
    expect(await preview.getByRole('listitem').count()).toBe(5);
    expect(await preview.getByRole('listitem').first().textContent()).toContain('3:00');
    await dialog.getByRole('combobox', { name: 'Target' }).click();
    await page.getByRole('option', { name: 'Agents with tags' }).click();
    await dialog.getByRole('combobox', { name: 'Tags' }).fill('web');
    await dialog.getByRole('combobox', { name: 'Tags' }).press('Enter');
    await dialog.getByRole('button', { name: 'Create', exact: true }).click();
    const pageRow = page.getByTestId('schedule-row').filter({ hasText: 'made-in-page' });
    await pageRow.waitFor();

    const list = await expectStatus(call(server, 'GET', '/api/v1/schedules', { token: owner.token }), 200);
    const created = list.items.find((s: { name: string }) => s.name === 'made-in-page');
    expect(created).toMatchObject({
      enabled: true,
      cron: '0 3 * * *',
      timezone: 'Europe/Paris',
      action: { kind: 'script', script_id: scriptId },
      target: { tags: ['web'] },
    });
    expect(created.next_fire_at).not.toBeNull();

    await pageRow.getByRole('button', { name: 'Edit' }).click();
    const editor = page.getByRole('dialog');
    await editor.getByText('Interval', { exact: true }).click();
    await editor.getByLabel('Every (seconds)').fill('7200');
    await expect.poll(() => editor.getByTestId('timing-preview').textContent()).toContain('every 2 hours');
    await editor.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => pageRow.textContent()).toContain('every 2 hours');
    expect(
      await expectStatus(call(server, 'GET', `/api/v1/schedules/${created.id}`, { token: owner.token }), 200),
    ).toMatchObject({ cron: null, timezone: null, interval_seconds: 7200, target: { tags: ['web'] } });

    // the switch's input is visually hidden: click its track, as a user does
    await apiRow.locator('.mantine-Switch-track').click();
    await expect.poll(async () => apiRow.getByTestId('next-fire').textContent()).toBe('—');
    const disabled = await expectStatus(
      call(server, 'GET', `/api/v1/schedules/${apiSchedule.id}`, { token: owner.token }),
      200,
    );
    expect(disabled).toMatchObject({ enabled: false, next_fire_at: null });

    await pageRow.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => pageRow.count()).toBe(0);
    expectError(
      await call(server, 'GET', `/api/v1/schedules/${created.id}`, { token: owner.token }),
      404,
      'not_found',
    );
    await browser.shot(page, 'schedules');
  });

  it('console: a viewer reads settings and schedules with no action, and the API refuses it', async () => {
    const page = await browser.open(server, '/schedules');
    await signIn(page, viewer.email, viewer.password);
    const row = page.getByTestId('schedule-row').filter({ hasText: 'made-by-api' });
    await row.waitFor();
    expect(await page.getByRole('button', { name: 'Create schedule' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Edit' }).count()).toBe(0);
    expect(await row.getByRole('switch').isDisabled()).toBe(true);

    await page.goto(`${server.url}/settings`);
    const general = page.getByTestId('settings-general');
    await general.waitFor();
    expect(await general.getByLabel('Instance name').isDisabled()).toBe(true);
    expect(await page.getByRole('button', { name: /^Save/ }).count()).toBe(0);
    await browser.shot(page, 'settings-viewer');

    expectError(
      await call(server, 'PUT', '/api/v1/settings/general', {
        token: viewer.token,
        body: { instance_name: 'forced' },
      }),
      403,
      'forbidden',
    );
    expectError(
      await call(server, 'POST', `/api/v1/schedules/${apiSchedule.id}/enable`, { token: viewer.token }),
      403,
      'forbidden',
    );
  });
});
