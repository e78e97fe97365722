import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { WebhookReceiver } from '../webhooks/receiver.js';
import { systemClock } from '../../src/server/lib/clock.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console webhooks', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await new WebhookReceiver(systemClock).start();
    server = await startTestServer('sqlite', { config: { outboundAllow: ['loopback'] } });
    owner = await signup(server, 'integrator');
  });
  afterAll(async () => {
    await server.close();
    await receiver.close();
  });

  const hooksNow = async () =>
    (await expectStatus(call(server, 'GET', '/api/v1/webhooks', { token: owner.token }), 200)).items as any[];

  it('webhooks: created with the event picker, secret shown once, tested, a failed delivery redelivered, paused and resumed', async () => {
    const page = await browser.open(server, '/webhooks');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    await page.getByText('No webhook yet.').waitFor();

    await page.getByRole('button', { name: 'Add webhook' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/^Payload URL/).fill(`${receiver.url}/console`);
    await dialog.getByLabel(/^Description/).fill('chat bridge');
    const events = dialog.getByRole('combobox', { name: 'Events' });
    await events.click();
    await page.getByRole('option', { name: 'job.finished', exact: true }).click();
    await page.getByRole('option', { name: 'agent.*', exact: true }).click();
    // the open dropdown covers the button: closed by leaving the field
    await dialog.getByLabel(/^Description/).click();
    await dialog.getByRole('button', { name: 'Add webhook' }).click();
    const secret = (await page.getByTestId('webhook-secret').textContent())?.trim() ?? '';
    expect(secret).toMatch(/^whsec_/);
    await dialog.getByRole('button', { name: 'Done' }).click();
    await expect.poll(() => page.getByTestId('webhook-row').count()).toBe(1);
    const [hook] = await hooksNow();
    expect(hook).toMatchObject({
      url: `${receiver.url}/console`,
      events: ['job.finished', 'agent.*'],
      status: 'active',
    });
    await browser.shot(page, 'webhooks');

    // The receiver fails the first try: the delivery shows its failed attempt, and is redelivered.
    receiver.endpoint('/console', secret, 1);
    await page.getByRole('link', { name: `${receiver.url}/console` }).click();
    await page.getByText('No delivery here yet.').waitFor();
    await page.getByRole('button', { name: 'Send test' }).click();
    await page.getByTestId('delivery-row').getByText('webhook.ping').waitFor();
    await page.getByTestId('delivery-row').getByText('500').waitFor({ timeout: 10_000 });
    await page.getByTestId('delivery-row').click();
    await expect.poll(() => page.getByTestId('delivery-attempt').count()).toBe(1);
    await page.getByTestId('delivery-attempt').getByText('500', { exact: true }).waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Redeliver' }).click();
    await expect.poll(() => page.getByTestId('delivery-row').count()).toBe(2);
    await page.getByTestId('delivery-row').first().getByText('delivered').waitFor({ timeout: 10_000 });
    expect(receiver.requests.filter((r) => r.path === '/console').map((r) => r.status)).toEqual([500, 200]);
    await page.getByRole('radiogroup').getByText('delivered', { exact: true }).click();
    await expect.poll(() => page.getByTestId('delivery-row').count()).toBe(1);
    await browser.shot(page, 'webhook-deliveries');

    // Pause, then resume.
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByText('paused by hand').waitFor();
    expect((await hooksNow())[0].status).toBe('paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.getByRole('button', { name: 'Pause' }).waitFor();
    expect((await hooksNow())[0].status).toBe('active');
  });
});
