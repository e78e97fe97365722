import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, ServerWithAgents } from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { addMember, call, expectError, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';
import { commandTask, createProfile } from '../profiles/support.js';
import { createScript } from '../scripts/library.js';

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console agents', () => {
  const browser = useBrowser();
  let fleet: ServerWithAgents;
  let viewer: Session;
  let machines: string[];
  beforeAll(async () => {
    fleet = await ServerWithAgents.start('sqlite', 'console');
    // two machine records beside the real agent, for a fleet worth showing
    machines = [
      await createAgent(fleet.server, fleet.owner, 'windows_server', ['web', 'eu-west']),
      await createAgent(fleet.server, fleet.owner, 'macos', ['build']),
    ];
    viewer = await addMember(fleet.server, fleet.owner, 'viewer');
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  it('console: a command run from the agent page streams its output', async () => {
    const page = await browser.open(fleet.server, '/agents');
    await signIn(page, fleet.owner.email, fleet.owner.password);
    await page.getByRole('heading', { name: 'Agents' }).waitFor();
    await expect.poll(() => page.getByTestId('agent-row').count()).toBe(3);
    await browser.shot(page, 'agents');
    // the README's picture, refreshed on demand only: a run of the suite leaves git clean
    if (process.env.UPDATE_DOCS_SCREENSHOTS)
      await browser.shot(page, 'agents', path.resolve('docs', 'console-agents.png'));

    await page.goto(`${fleet.server.url}/agents/${fleet.agent.id}`);
    await page.getByLabel('Command').fill('echo hello-from-console');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const output = page.getByTestId('job-output');
    await expect
      .poll(() => output.getAttribute('data-output'), { timeout: 20_000 })
      .toContain('hello-from-console');
    await page.getByTestId('command-job').getByText('succeeded').waitFor({ timeout: 20_000 });
    // the terminal shows it, not only the data the page holds
    await page.locator('.xterm-rows', { hasText: 'hello-from-console' }).waitFor();
    await browser.shot(page, 'agent-command');
  });

  it('console: a viewer sees no action it cannot perform, and the API refuses it', async () => {
    const page = await browser.open(fleet.server, '/agents');
    await signIn(page, viewer.email, viewer.password);
    await page.getByRole('heading', { name: 'Agents' }).waitFor();
    await expect.poll(() => page.getByTestId('agent-row').count()).toBe(3);
    for (const name of ['Run command', 'Run script', 'Apply profile', 'Tag', 'Move to group', 'Delete'])
      expect(await page.getByRole('button', { name, exact: true }).count()).toBe(0);
    await page.goto(`${fleet.server.url}/agents/${fleet.agent.id}`);
    await page.getByText('Hostname').waitFor();
    expect(await page.getByLabel('Command').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Uninstall' }).count()).toBe(0);
    await browser.shot(page, 'agent-viewer');

    const run = await call(fleet.server, 'POST', '/api/v1/runs', {
      token: viewer.token,
      body: { target: { agent_ids: [fleet.agent.id] }, job: { interpreter: 'sh', command: 'true' } },
    });
    expectError(run, 403, 'forbidden');
    const remove = await call(fleet.server, 'DELETE', `/api/v1/agents/${fleet.agent.id}`, {
      token: viewer.token,
    });
    expectError(remove, 403, 'forbidden');
  });

  it('console: two agents selected are moved to a group, and the list shows them in it', async () => {
    const group = await call(fleet.server, 'POST', '/api/v1/agent-groups', {
      token: fleet.owner.token,
      body: { name: 'web-servers' },
    });
    expect(group.status).toBe(201);
    const nameOf = async (id: string) =>
      (await call(fleet.server, 'GET', `/api/v1/agents/${id}`, { token: fleet.owner.token })).body
        .name as string;
    const page = await browser.open(fleet.server, '/agents');
    await signIn(page, fleet.owner.email, fleet.owner.password);
    await expect.poll(() => page.getByTestId('agent-row').count()).toBe(3);
    const move = page.getByRole('button', { name: 'Move to group' });
    expect(await move.isDisabled()).toBe(true);
    for (const id of machines) await page.getByLabel(`Select ${await nameOf(id)}`).check();
    await move.click();
    const dialog = page.getByRole('dialog', { name: 'Move 2 agent(s) to a group' });
    await dialog.getByLabel('Group').click();
    await page.getByRole('option', { name: 'web-servers' }).click();
    await browser.shot(page, 'agents-move-to-group');
    await dialog.getByRole('button', { name: 'Move', exact: true }).click();
    await page.getByText('2 agent(s) moved to web-servers').waitFor();
    await dialog.waitFor({ state: 'hidden' });

    const groupOf = async (id: string) =>
      (await call(fleet.server, 'GET', `/api/v1/agents/${id}`, { token: fleet.owner.token })).body.group_id;
    for (const id of machines) expect(await groupOf(id)).toBe(group.body.id);
    expect(await groupOf(fleet.agent.id)).toBeNull();
    // the selection is cleared, and the group filter shows the two
    expect(await move.isDisabled()).toBe(true);
    await page.goto(`${fleet.server.url}/agents?group_id=${group.body.id}`);
    await expect.poll(() => page.getByTestId('agent-row').count()).toBe(2);
    await browser.shot(page, 'agents-moved-to-group');
  });

  it('console: the selected agent runs a script with its parameter and gets a profile applied, each opening its run', async () => {
    await createScript(fleet.server, fleet.owner, {
      name: 'say-it',
      content: 'echo "said=$FP_PARAM_WORD"',
      parameters: [{ name: 'word', type: 'string', required: true }],
    });
    await createProfile(fleet.server, fleet.owner, {
      name: 'base-setup',
      tasks: [commandTask('mark', 'echo profile-applied')],
    });
    const api = (route: string) =>
      call(fleet.server, 'GET', route, { token: fleet.owner.token }).then((reply) => reply.body);
    const { name } = await api(`/api/v1/agents/${fleet.agent.id}`);
    /** The one job of the run the page opened, once it succeeded, with its output. */
    const finishedJobOf = async (runUrl: string) => {
      const runId = runUrl.split('/').pop() ?? '';
      const job = await eventually(
        async () => {
          const [only] = (await api(`/api/v1/runs/${runId}/jobs`)).items;
          return only?.status === 'succeeded' ? only : undefined;
        },
        { what: 'the run started from the agents page to succeed' },
      );
      expect(job.agent_id).toBe(fleet.agent.id);
      return (await call(fleet.server, 'GET', `/api/v1/jobs/${job.id}/output`, { token: fleet.owner.token }))
        .body as string;
    };

    const page = await browser.open(fleet.server, '/agents');
    await signIn(page, fleet.owner.email, fleet.owner.password);
    await page.getByLabel(`Select ${name}`).check();
    await page.getByRole('button', { name: 'Run script' }).click();
    const runScript = page.getByRole('dialog');
    await runScript.getByLabel('Script or saved command').click();
    await page.getByRole('option', { name: 'say-it' }).click();
    await runScript.getByLabel('word').fill('from-the-selection');
    await runScript.getByRole('button', { name: 'Execute' }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    expect(await finishedJobOf(page.url())).toContain('said=from-the-selection');

    await page.goto(`${fleet.server.url}/agents`);
    await page.getByLabel(`Select ${name}`).check();
    await page.getByRole('button', { name: 'Apply profile' }).click();
    const apply = page.getByRole('dialog', { name: 'Apply a profile' });
    await apply.getByLabel('Profile').click();
    await page.getByRole('option', { name: 'base-setup' }).click();
    await apply.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    expect(await finishedJobOf(page.url())).toContain('profile-applied');
  });
});
