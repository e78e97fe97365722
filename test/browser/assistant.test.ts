import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeProvider, proposal } from '../assistant/fake-provider.js';
import { enrollmentToken, startAgent, untilOnline, type AgentProcess } from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { call, expectStatus, signup, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
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
    const { secret } = await enrollmentToken(server, owner, { name: 'assistant', tags: ['helpers'] });
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

  it('assistant: a proposal saved as a script with its parameters, run on a tag after confirming, usage shown', async () => {
    const page = await browser.open(server, '/assistant');
    page.setDefaultTimeout(20_000);
    await signIn(page, owner.email, owner.password);
    await page.getByRole('heading', { name: 'Assistant' }).waitFor();

    // for an OS and shell, not an agent: running it on many needs no agent of the conversation
    await page.getByText('An OS and shell').click();
    fake.next({
      kind: 'answer',
      answer: proposal('ls /var/log', 'caution', {
        parameters: [{ name: 'directory', value: '/var/log', description: 'where to look' }],
      }),
    });
    await page.getByLabel('What should be done?').fill('list the logs');
    await page.getByRole('button', { name: 'Generate' }).click();
    const card = page.getByTestId('proposal');
    await card.getByTestId('proposal-command').getByText('ls /var/log').waitFor();

    // the header shows the model and the caller's usage as the API counts it
    const status = await expectStatus(
      call(server, 'GET', '/api/v1/assistant/status', { token: owner.token }),
      200,
    );
    const { prompt_tokens, completion_tokens, requests } = status.usage;
    expect(requests).toBeGreaterThan(0);
    const usage = page.getByTestId('assistant-usage');
    await expect
      .poll(() => usage.textContent())
      .toContain(
        `${prompt_tokens + completion_tokens} tokens in ${requests} ${requests === 1 ? 'request' : 'requests'}`,
      );
    expect(await usage.getByTestId('assistant-model').textContent()).toBe('fake-model');

    await card.getByRole('button', { name: 'Save as script' }).click();
    const saveDialog = page.getByRole('dialog', { name: 'Save as script' });
    expect(await saveDialog.getByTestId('save-parameters').textContent()).toContain('directory');
    await saveDialog.getByLabel('Name').fill('logs from the assistant');
    await saveDialog.getByText('Script', { exact: true }).click();
    await saveDialog.getByRole('button', { name: 'Save' }).click();
    const scriptLink = card
      .getByTestId('saved-script')
      .getByRole('link', { name: 'logs from the assistant' });
    const scriptId = (await scriptLink.getAttribute('href'))?.replace('/scripts/', '');
    const script = await expectStatus(
      call(server, 'GET', `/api/v1/scripts/${scriptId}`, { token: owner.token }),
      200,
    );
    expect(script).toMatchObject({ kind: 'script', language: 'bash', content: 'ls /var/log' });
    expect(script.parameters).toEqual([
      { name: 'directory', type: 'string', description: 'where to look', default: '/var/log' },
    ]);

    // caution: after picking the tag, the run asks first, as on one agent
    await card.getByRole('button', { name: 'Run on many' }).click();
    const runDialog = page.getByRole('dialog', { name: 'Run on many agents' });
    await runDialog.getByRole('combobox', { name: 'Tags' }).fill('helpers');
    await runDialog.getByRole('combobox', { name: 'Tags' }).press('Enter');
    await runDialog.getByRole('button', { name: 'Run', exact: true }).click();
    const confirm = page.getByRole('dialog', { name: 'Run this command?' });
    await confirm.getByRole('button', { name: 'Run it' }).click();
    const runLink = card.getByTestId('proposal-run').getByRole('link', { name: 'open the run' });
    const runId = (await runLink.getAttribute('href'))?.replace('/runs/', '');
    const run = await expectStatus(call(server, 'GET', `/api/v1/runs/${runId}`, { token: owner.token }), 200);
    expect(run).toMatchObject({ source: 'assistant', target: { tags: ['helpers'] } });
    expect(run.spec).toMatchObject({ interpreter: 'bash', command: 'ls /var/log' });
    // the tagged agent runs it to the end
    const finished = await eventually(
      async () => {
        const now = await expectStatus(
          call(server, 'GET', `/api/v1/runs/${runId}`, { token: owner.token }),
          200,
        );
        return now.finished_at ? now : undefined;
      },
      { what: `run ${runId} to end` },
    );
    expect(finished).toMatchObject({ status: 'succeeded', counts: { total: 1, succeeded: 1 } });
    await expect.poll(() => card.getByRole('button', { name: 'Run on many' }).count()).toBe(0);
    await browser.shot(page, 'assistant-saved-and-run');
  });
});
