import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enroll, ScriptedAgent } from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { HAND_DRIVEN, startTestServer, TestClock, type TestServer } from '../support/harness.js';

const MINUTE = 60_000;

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console fleet', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  let agent: ScriptedAgent;

  /**
   * Heartbeats heard half an hour ago (the server's clock is set back, then brought to the real
   * time the browser reads by), rolled up: the fleet has a history to show.
   */
  beforeAll(async () => {
    const clock = new TestClock(new Date(Date.now() - 30 * MINUTE));
    server = await startTestServer('sqlite', { clock, config: HAND_DRIVEN });
    owner = await signup(server, 'operator');
    agent = await ScriptedAgent.enroll(server, owner);
    const windows = (await enroll(server, owner, { facts: { os_type: 'windows' } })).agentId;
    await expectStatus(
      call(server, 'POST', `/api/v1/agents/${agent.id}/jobs`, {
        token: owner.token,
        body: { interpreter: 'bash', command: 'true' },
      }),
      202,
    );
    await agent.finish(await agent.next(), 'succeeded', 0);
    const { liveness, metricsRollup } = server.app.services;
    const metrics = (cpu: number) => ({
      cpu_percent: cpu,
      memory_percent: 50,
      disk_percent: 70,
      uptime_seconds: 60,
    });
    liveness.record(agent.id, metrics(20));
    liveness.record(windows, metrics(60));
    await liveness.flush();
    clock.advance(2 * MINUTE);
    liveness.record(agent.id, metrics(40));
    await liveness.flush();
    clock.advance(Date.now() - clock.now().getTime());
    await metricsRollup.run();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('fleet: the page shows agents, usage, uptime and outcomes over the window chosen', async () => {
    const page = await browser.open(server, '/');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('link', { name: 'Fleet', exact: true }).click();
    await page.getByRole('heading', { name: 'Fleet', exact: true }).waitFor();
    await expect.poll(() => page.getByTestId('fleet-agents-total').textContent()).toBe('2');
    expect(await page.getByTestId('fleet-agents-online').textContent()).toBe('2');
    expect(await page.getByTestId('fleet-os-windows').textContent()).toBe('windows: 1/1');
    // 20, 60 and 40 heard
    expect(await page.getByTestId('fleet-cpu').textContent()).toBe('40.0 %');
    expect(await page.getByTestId('fleet-disk').textContent()).toBe('70.0 %');
    expect(await page.getByTestId('fleet-jobs-rate').textContent()).toBe('100.0 % succeeded');
    expect(await page.getByTestId('fleet-jobs').textContent()).toContain('succeeded: 1');
    // a flat line has no height, so it is never "visible" to the browser: it is there, with its points
    await page
      .getByTestId('fleet-chart')
      .locator('[data-series="CPU"] polyline')
      .waitFor({ state: 'attached' });

    await page.getByText('1h', { exact: true }).click();
    await expect.poll(() => new URL(page.url()).searchParams.get('window')).toBe('1h');
    // the last hour holds all of it too; its series is per minute: two minutes heard
    await expect.poll(() => page.getByTestId('fleet-cpu').textContent()).toBe('40.0 %');
    await expect
      .poll(() =>
        page.getByTestId('fleet-chart').locator('[data-series="CPU"] polyline').getAttribute('points'),
      )
      .toMatch(/^\S+ \S+$/);
    await browser.shot(page, 'fleet');
  });

  it("fleet: an agent's page charts its metrics history, raw for an hour and per minute for a day", async () => {
    const page = await browser.open(server, `/agents/${agent.id}`);
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Metrics history' }).waitFor();
    await expect.poll(() => page.getByTestId('agent-metrics-step').textContent()).toBe('every heartbeat');
    const cpu = page.getByTestId('agent-metrics-chart').locator('[data-series="CPU"] polyline');
    // two heartbeats of this agent
    await expect.poll(() => cpu.getAttribute('points')).toMatch(/^\S+ \S+$/);
    await page.getByText('24h', { exact: true }).click();
    await expect.poll(() => page.getByTestId('agent-metrics-step').textContent()).toBe('per minute');
    await expect.poll(() => cpu.getAttribute('points')).toMatch(/^\S+ \S+$/);
  });
});
