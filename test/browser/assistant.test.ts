import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeProvider, proposal } from '../assistant/fake-provider.js';
import { enrollmentToken, startAgent, untilOnline, type AgentProcess } from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/harness.js';
import { stopProcess } from '../support/processes.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console assistant', () => {
  const browser = useBrowser();
  let server: TestServer;
  let owner: Session;
  let fake: FakeProvider;
  let agent: AgentProcess;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-assistant-console-'));
    fake = await new FakeProvider().start();
    server = await startTestServer('sqlite', { config: { outboundAllow: ['loopback'] } });
    owner = await signup(server, 'assistant-console');
    await expectStatus(
      call(server, 'PUT', '/api/v1/settings/ai', {
        token: owner.token,
        body: { enabled: true, provider_url: fake.url, model: 'fake-model' },
      }),
      200,
    );
    const { secret } = await enrollmentToken(server, owner, { name: 'assistant' });
    agent = await startAgent(server.url, {
      token: secret,
      stateDir: path.join(dir, 'agent'),
      name: 'helper-box',
    });
    await untilOnline(server, owner.token, agent.id);
  });
  afterAll(async () => {
    if (agent) await stopProcess(agent.proc);
    await server?.close();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('assistant: a request becomes a labelled proposal, confirmed, run on the agent, its output explained', async () => {
    const page = await browser.open(server, '/assistant');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Assistant' }).waitFor();

    await page
      .getByRole('textbox', { name: 'Agent' })
      .or(page.getByRole('combobox', { name: 'Agent' }))
      .click();
    await page.getByRole('option', { name: /helper-box/ }).click();
    fake.next({ kind: 'answer', answer: proposal('echo console-assistant', 'caution') });
    await page.getByLabel('What should be done?').fill('say hello from the console');
    await page.getByRole('button', { name: 'Generate' }).click();
    const card = page.getByTestId('proposal');
    await card.getByTestId('proposal-command').getByText('echo console-assistant').waitFor();
    expect(await card.getByTestId('safety-badge').textContent()).toBe('caution');
    expect(fake.last.body.messages.at(-1)?.content).toBe('say hello from the console');
    await browser.shot(page, 'assistant-proposal');

    // caution: the run asks first
    await card.getByRole('button', { name: 'Run on agent' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Run this command?').waitFor();
    await dialog.getByRole('button', { name: 'Run it' }).click();
    const output = page.getByTestId('job-output');
    await expect
      .poll(() => output.getAttribute('data-output'), { timeout: 15_000 })
      .toContain('console-assistant');

    fake.next({ kind: 'answer', answer: proposal('echo all-good', 'safe') });
    await page.getByRole('button', { name: 'Explain this output' }).click();
    await expect.poll(() => page.getByTestId('proposal').count()).toBe(2);
    expect(fake.last.body.messages.at(-1)?.content).toContain('console-assistant');
    await expect.poll(() => page.getByTestId('conversation-link').count()).toBe(1);
    await browser.shot(page, 'assistant-follow-up');
  });
});
