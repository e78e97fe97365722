import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { addMember, call, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { at, DAY, rows } from '../housekeeping/support.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console housekeeping', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  let viewer: Session;
  let other: Session;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    owner = await signup(server, 'instance');
    viewer = await addMember(server, owner, 'viewer');
    other = await signup(server, 'tenant');
    await expectStatus(
      call(server, 'PUT', '/api/v1/settings/general', {
        token: owner.token,
        body: { instance_name: 'Acme Fleet' },
      }),
      200,
    );
    // two expired sessions for the run to delete
    for (let i = 0; i < 2; i += 1) await rows(server).session(owner, at(new Date(), -DAY));
  });
  afterAll(async () => {
    await server.close();
  });

  it('console: the settings page shows housekeeping, runs it now and lists what the run deleted', async () => {
    const page = await browser.open(server, '/settings');
    await signIn(page, owner.email, owner.password);
    const panel = page.getByTestId('housekeeping');
    await panel.waitFor();
    // the instance's name is the console's title (it arrives with its own request)
    await page
      .getByTestId('instance-name')
      .filter({ hasText: /^Acme Fleet$/ })
      .waitFor();
    await page.waitForFunction("document.title === 'Acme Fleet'");
    await panel.getByText('No run yet.').waitFor();
    expect(await panel.getByTestId('housekeeping-next').textContent()).toMatch(
      /^Next run: .+ \(every 60 minutes\)$/,
    );

    await panel.getByRole('button', { name: 'Run now' }).click();
    const row = panel.getByTestId('housekeeping-run');
    await row.waitFor();
    expect(await row.textContent()).toContain('2 sessions');
    expect(await row.textContent()).toContain('succeeded');
    expect(await row.textContent()).toContain('Run now');
    await browser.shot(page, 'housekeeping');
    const runs = await expectStatus(
      call(server, 'GET', '/api/v1/system/housekeeping', { token: owner.token }),
      200,
    );
    expect(runs.items).toHaveLength(1);
    expect(runs.items[0]).toMatchObject({
      trigger: 'manual',
      requested_by: owner.userId,
      counts: { sessions: 2 },
    });
  });

  it('console: a viewer sees the runs without "Run now"; another organisation sees when it runs, not what it deleted', async () => {
    const page = await browser.open(server, '/settings');
    await signIn(page, viewer.email, viewer.password);
    const panel = page.getByTestId('housekeeping');
    await panel.getByTestId('housekeeping-run').waitFor();
    expect(await panel.getByRole('button', { name: 'Run now' }).count()).toBe(0);

    const tenant = await browser.open(server, '/settings');
    await signIn(tenant, other.email, other.password);
    const row = tenant.getByTestId('housekeeping').getByTestId('housekeeping-run');
    await row.waitFor();
    expect(await row.textContent()).not.toContain('sessions');
    // its owner may change its settings, not run the instance's housekeeping
    expect(await tenant.getByRole('button', { name: 'Save general' }).count()).toBe(1);
    expect(await tenant.getByRole('button', { name: 'Run now' }).count()).toBe(0);
  });
});
