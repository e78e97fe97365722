import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Receiver } from '../alerts/support.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console alerts', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  const receiver = new Receiver();
  beforeAll(async () => {
    await receiver.start();
    server = await startTestServer('sqlite', { config: { outboundAllow: ['loopback'] } });
    owner = await signup(server, 'oncall');
  });
  afterAll(async () => {
    await server.close();
    await receiver.close();
  });

  const get = (route: string) => expectStatus(call(server, 'GET', route, { token: owner.token }), 200);

  it('alerts: a channel and a rule created in the page, the channel tested, the fired alert acknowledged', async () => {
    const queue = await expectStatus(
      call(server, 'POST', '/api/v1/queues', { token: owner.token, body: { name: 'invoices' } }),
      201,
    );
    for (const n of [1, 2, 3])
      await expectStatus(
        call(server, 'POST', `/api/v1/queues/${queue.id}/items`, {
          token: owner.token,
          body: { content: { n } },
        }),
        201,
      );
    const page = await browser.open(server, '/alerts');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Alerts' }).waitFor();
    await page.getByText('No alert.').waitFor();

    // A webhook channel, tested: the receiver's answer is shown.
    await page.getByRole('tab', { name: 'Channels' }).click();
    await page.getByRole('button', { name: 'New channel' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/^Name/).fill('ops hook');
    await dialog.getByLabel(/^URL/).fill(`${receiver.url}/ops`);
    await dialog.getByRole('button', { name: 'Create channel' }).click();
    await expect.poll(() => page.getByTestId('channel-row').count()).toBe(1);
    await page.getByTestId('channel-row').getByText(`${receiver.url}/********`).waitFor();
    await page.getByRole('button', { name: 'Test' }).click();
    await page.getByTestId('channel-test-result').getByText('answered 200').waitFor();
    expect(receiver.at('/ops').map((r) => r.body.event)).toEqual(['alert.test']);

    // A backlog rule on the queue, notifying the channel.
    await page.getByRole('tab', { name: 'Rules' }).click();
    await page.getByRole('button', { name: 'New rule' }).click();
    await dialog.getByLabel(/^Name/).fill('invoices pile up');
    await dialog.getByRole('combobox', { name: 'Kind' }).click();
    await page.getByRole('option', { name: 'Queue backlog' }).click();
    await dialog.getByRole('combobox', { name: 'Queue' }).click();
    await page.getByRole('option', { name: 'invoices' }).click();
    await dialog.getByLabel(/^More than items waiting/).fill('2');
    await dialog.getByRole('combobox', { name: 'Notify' }).click();
    await page.getByRole('option', { name: 'ops hook (webhook)' }).click();
    await dialog.getByRole('button', { name: 'Create rule' }).click();
    await expect.poll(() => page.getByTestId('rule-row').count()).toBe(1);
    const rules = await get('/api/v1/alert-rules');
    expect(rules.items[0]).toMatchObject({
      name: 'invoices pile up',
      kind: 'queue_backlog',
      params: { queue_id: queue.id, items: 2 },
    });
    await browser.shot(page, 'alert-rules');

    // The evaluator fires it; the page shows it, and it is acknowledged there.
    await server.app.services.alerting.evaluator.evaluate();
    expect(receiver.at('/ops').map((r) => r.body.event)).toEqual(['alert.test', 'alert.fired']);
    await page.getByRole('tab', { name: 'Alerts' }).click();
    await page.getByTestId('alert-row').getByText('invoices', { exact: true }).waitFor();
    await page.getByTestId('alert-state').getByText('firing').waitFor();
    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByTestId('alert-state').getByText('acknowledged').waitFor();
    await page.getByText(`by ${owner.email}`).waitFor();
    const alerts = await get('/api/v1/alerts');
    expect(alerts.items[0]).toMatchObject({ state: 'acknowledged', acknowledged_by: owner.email });
    await page.getByTestId('alert-row').getByText('invoices', { exact: true }).click();
    await page.getByTestId('alert-history').getByText('acknowledged').waitFor();
    await browser.shot(page, 'alerts');
  });
});
