import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console queues', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    owner = await signup(server, 'dispatcher');
  });
  afterAll(async () => {
    await server.close();
  });

  it('queues: a queue created in the page, items added one and in bulk, counted, filtered and deleted', async () => {
    const page = await browser.open(server, '/queues');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Queues' }).waitFor();
    await page.getByText('No queue yet.').waitFor();

    await page.getByRole('button', { name: 'Create queue' }).click();
    await page.getByLabel(/^Name/).fill('supplier invoices');
    await page.getByLabel(/^Max retries/).fill('2');
    await page.getByLabel(/^Unique references/).check();
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('link', { name: 'supplier invoices' }).click();
    await page.getByRole('heading', { name: 'supplier invoices' }).waitFor();
    const queues = await expectStatus(call(server, 'GET', '/api/v1/queues', { token: owner.token }), 200);
    expect(queues.items).toEqual([
      expect.objectContaining({ name: 'supplier invoices', max_retries: 2, unique_references: true }),
    ]);
    const queueId = queues.items[0].id as string;

    // One item: JSON that is not an object cannot be sent.
    await page.getByRole('button', { name: 'Add item' }).click();
    await page.getByLabel(/^Content/).fill('[1, 2]');
    await page.getByText('the content is a JSON object').waitFor();
    await page.getByLabel(/^Content/).fill('{"invoice": "A-1", "amount": 120}');
    await page.getByLabel(/^Reference/).fill('A-1');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByText('Item added').waitFor();
    await expect.poll(() => page.getByTestId('item-row').count()).toBe(1);

    // In bulk: a reference the queue holds refuses the whole batch, with the reference named.
    await page.getByRole('button', { name: 'Add in bulk' }).click();
    await page
      .getByLabel(/^Items/)
      .fill(
        '[{"content": {"invoice": "B-2"}, "reference": "B-2"}, {"content": {"invoice": "A-1"}, "reference": "A-1"}]',
      );
    await page.getByRole('button', { name: 'Add 2 items' }).click();
    await page.getByTestId('refusal').getByText('A-1').first().waitFor();
    await page
      .getByLabel(/^Items/)
      .fill('[{"content": {"invoice": "B-2"}, "reference": "B-2", "priority": "high"}, {"invoice": "C-3"}]');
    await page.getByRole('button', { name: 'Add 2 items' }).click();
    await page.getByText('2 items added').waitFor();
    await expect.poll(() => page.getByTestId('item-row').count()).toBe(3);
    await expect.poll(() => page.getByTestId('stat-new').textContent()).toContain('3');

    // One taken and finished through the API: the cards and the status filter follow.
    const claimed = await expectStatus(
      call(server, 'POST', `/api/v1/queues/${queueId}/items/claim`, { token: owner.token }),
      200,
    );
    expect(claimed.reference).toBe('B-2');
    await expectStatus(
      call(server, 'POST', `/api/v1/queue-items/${claimed.id}/complete`, { token: owner.token, body: {} }),
      200,
    );
    await page.reload();
    await expect.poll(() => page.getByTestId('stat-successful').textContent()).toContain('1');
    await expect.poll(() => page.getByTestId('stat-new').textContent()).toContain('2');
    await page.getByRole('combobox', { name: 'Status' }).click();
    await page.getByRole('option', { name: 'successful' }).click();
    await expect.poll(() => page.getByTestId('item-row').count()).toBe(1);
    await expect.poll(() => page.getByTestId('item-row').first().textContent()).toContain('B-2');
    await browser.shot(page, 'queue-detail');

    // A new item is deleted from its row.
    await page.getByRole('combobox', { name: 'Status' }).click();
    await page.getByRole('option', { name: 'new' }).click();
    await expect.poll(() => page.getByTestId('item-row').count()).toBe(2);
    await page.getByTestId('item-row').first().getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.getByTestId('item-row').count()).toBe(1);
    const deleted = await expectStatus(
      call(server, 'GET', `/api/v1/queues/${queueId}/items?status=deleted`, { token: owner.token }),
      200,
    );
    expect(deleted.items).toHaveLength(1);

    // the queue's settings changed in the page reach the API
    await page.getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Description').fill('paid on Fridays');
    await dialog.getByLabel('SLA (min)').fill('45');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(async () => {
        const queue = await expectStatus(
          call(server, 'GET', `/api/v1/queues/${queueId}`, { token: owner.token }),
          200,
        );
        return [queue.description, queue.sla_minutes];
      })
      .toEqual(['paid on Fridays', 45]);
  });
});
