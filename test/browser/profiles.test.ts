import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServerWithAgents } from '../support/agents.js';
import { browserAvailable, signIn, useBrowser } from '../support/browser.js';
import { addMember, call, expectError, expectStatus, type Session } from '../support/client.js';
import { eventually } from '../support/eventually.js';

interface TaskRow {
  id: string;
  name: string;
  content: string | null;
}
interface JobRow {
  status: string;
  task_name: string | null;
  task_index: number | null;
  started_at: string | null;
}

// The console is the same on either database (the API under it is tested on both): SQLite only.
describe.runIf(browserAvailable)('console profiles', () => {
  const browser = useBrowser();
  let fleet: ServerWithAgents;
  let viewer: Session;
  let profileId = '';
  beforeAll(async () => {
    fleet = await ServerWithAgents.start('sqlite', 'profiles');
    viewer = await addMember(fleet.server, fleet.owner, 'viewer');
  }, 120_000);
  afterAll(async () => {
    await fleet?.close();
  });

  const get = <T>(route: string, token = fleet.owner.token) =>
    expectStatus<T>(call<T>(fleet.server, 'GET', route, { token }), 200);
  const taskNames = async (id: string) =>
    (await get<{ items: TaskRow[] }>(`/api/v1/profiles/${id}/tasks`)).items.map((task) => task.name);
  const shownNames = (page: Page) => page.getByTestId('task-name').allTextContents();

  async function addCommandTask(page: Page, name: string, command: string) {
    await page.getByRole('button', { name: 'Add task', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a task' });
    await dialog.getByLabel('Task name').fill(name);
    await dialog.getByLabel('Command').fill(command);
    await dialog.getByRole('button', { name: 'Add task' }).click();
    await dialog.waitFor({ state: 'detached' });
  }

  /** Drags one task's handle onto another's with pointer moves in steps, as dnd-kit needs. */
  async function drag(page: Page, from: string, to: string) {
    const source = await page.getByRole('button', { name: `Move ${from}` }).boundingBox();
    const target = await page.getByRole('button', { name: `Move ${to}` }).boundingBox();
    if (!source || !target) throw new Error('task handles not shown');
    await page.mouse.move(source.x + source.width / 2, source.y + source.height / 2);
    await page.mouse.down();
    await page.mouse.move(source.x + source.width / 2, source.y + source.height / 2 + 10, { steps: 5 });
    await page.mouse.move(target.x + target.width / 2, target.y + target.height / 2, { steps: 15 });
    await page.mouse.up();
  }

  it('profiles: built in the page, reordered by drag and keyboard, bulk edited, applied in order', async () => {
    const page = await browser.open(fleet.server, '/profiles');
    await signIn(page, fleet.owner.email, fleet.owner.password);
    await page.getByRole('heading', { name: 'Profiles & templates' }).waitFor();
    await page.getByText('No profile yet.').waitFor();
    await browser.shot(page, 'profiles-empty');

    await page.getByRole('button', { name: 'Create profile' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('web-setup');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/profiles\/[0-9a-f-]{36}$/);
    profileId = page.url().split('/').pop() ?? '';
    await page.getByRole('heading', { name: 'web-setup' }).waitFor();
    await page.getByText('No task yet.').waitFor();

    await addCommandTask(page, 'first', 'echo one');
    await addCommandTask(page, 'second', 'echo two');
    await addCommandTask(page, 'third', 'echo three');
    await expect.poll(() => shownNames(page)).toEqual(['first', 'second', 'third']);
    expect(await taskNames(profileId)).toEqual(['first', 'second', 'third']);

    // a refusal from the server shows under its field: a timeout is at most a day
    await page.getByRole('button', { name: 'Edit second' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit task' });
    const timeout = edit.getByLabel('Timeout (seconds)');
    await timeout.fill('100000');
    await edit.getByRole('button', { name: 'Save task' }).click();
    await edit.getByTestId('refusal').waitFor();
    await expect.poll(() => timeout.getAttribute('aria-invalid')).toBe('true');
    await browser.shot(page, 'profile-task-error');
    await timeout.fill('');
    await edit.getByRole('button', { name: 'Save task' }).click();
    await edit.waitFor({ state: 'detached' });

    // the pointer: third dropped on first's place
    await drag(page, 'third', 'first');
    await expect.poll(() => taskNames(profileId)).toEqual(['third', 'first', 'second']);
    await expect.poll(() => shownNames(page)).toEqual(['third', 'first', 'second']);

    // the keyboard: first moved down one
    // each key waits for what the list announces, as a screen reader user hears it
    const announced = (text: string) => page.getByText(text).waitFor({ state: 'attached' });
    const handle = page.getByRole('button', { name: 'Move first' });
    await handle.press('Space');
    // picked up, it is over its own place: the last thing the list says
    await announced('first is over place 2.');
    // the sensor starts listening a timer after the pickup: a key pressed sooner is lost, so it is
    // pressed again until the move is heard (first ends last, where more presses keep it)
    const heard = (text: string) =>
      page
        .getByText(text)
        .waitFor({ state: 'attached', timeout: 2_000 })
        .then(
          () => true,
          () => false,
        );
    for (let tries = 0; tries < 5; tries++) {
      await page.keyboard.press('ArrowDown');
      if (await heard('first is over place 3.')) break;
    }
    await announced('first is over place 3.');
    await page.keyboard.press('Space');
    await expect.poll(() => taskNames(profileId)).toEqual(['third', 'second', 'first']);
    await browser.shot(page, 'profile-detail');

    // bulk edit: a bad task anywhere changes nothing, and the server says where
    await page.getByRole('button', { name: 'Bulk edit' }).click();
    const bulk = page.getByRole('dialog', { name: 'Bulk edit tasks' });
    const json = bulk.getByLabel('Tasks (JSON)');
    const tasks = JSON.parse(await json.inputValue()) as { name: string; content?: string }[];
    expect(tasks.map((task) => task.name)).toEqual(['third', 'second', 'first']);
    await json.fill(JSON.stringify([...tasks, { name: 'broken', action: 'command' }], null, 2));
    await bulk.getByRole('button', { name: 'Save all tasks' }).click();
    await bulk
      .getByTestId('refusal')
      .getByText(/tasks\.3\.content/)
      .waitFor();
    expect(await taskNames(profileId)).toEqual(['third', 'second', 'first']);
    await browser.shot(page, 'profile-bulk-edit');
    const edited = tasks.map((task) =>
      task.name === 'second' ? { ...task, content: 'echo two-bulk' } : task,
    );
    await json.fill(JSON.stringify(edited, null, 2));
    await bulk.getByRole('button', { name: 'Save all tasks' }).click();
    await bulk.waitFor({ state: 'detached' });
    const saved = (await get<{ items: TaskRow[] }>(`/api/v1/profiles/${profileId}/tasks`)).items;
    expect(saved.map((task) => [task.name, task.content])).toEqual([
      ['third', 'echo three'],
      ['second', 'echo two-bulk'],
      ['first', 'echo one'],
    ]);

    // apply to the real agent: the run page follows, and the run succeeds
    const agent = await get<{ name: string }>(`/api/v1/agents/${fleet.agent.id}`);
    await page.getByRole('button', { name: 'Apply', exact: true }).click();
    const apply = page.getByRole('dialog', { name: 'Apply a profile' });
    await apply.getByLabel('Agents').click();
    await page.getByRole('option', { name: agent.name }).click();
    await browser.shot(page, 'profile-apply');
    await apply.getByRole('button', { name: 'Apply', exact: true }).click();
    await page.waitForURL(/\/runs\/[0-9a-f-]{36}$/);
    const runId = page.url().split('/').pop() ?? '';
    await page.getByTestId('run-status').getByText('succeeded').waitFor({ timeout: 60_000 });
    await browser.shot(page, 'profile-run');

    const run = await get<{ status: string; source: string }>(`/api/v1/runs/${runId}`);
    expect(run).toMatchObject({ status: 'succeeded', source: 'profile' });
    const jobs = (await get<{ items: JobRow[] }>(`/api/v1/runs/${runId}/jobs`)).items;
    const byStart = [...jobs].sort((a, b) => (a.started_at ?? '').localeCompare(b.started_at ?? ''));
    expect(byStart.map((job) => [job.task_index, job.task_name, job.status])).toEqual([
      [0, 'third', 'succeeded'],
      [1, 'second', 'succeeded'],
      [2, 'first', 'succeeded'],
    ]);
  }, 180_000);

  it('templates: made in the page, instantiated into a profile; a task secret set there reaches the agent, the target OS is kept', async () => {
    const page = await browser.open(fleet.server, '/profiles?tab=templates');
    await signIn(page, fleet.owner.email, fleet.owner.password);
    await page.getByText('No template yet.').waitFor();
    await page.getByRole('button', { name: 'Create template' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('base-template');
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/templates\/[0-9a-f-]{36}$/);
    await addCommandTask(page, 'prepare', 'echo prepared');
    await expect.poll(() => shownNames(page)).toEqual(['prepare']);
    await browser.shot(page, 'template-detail');

    await page.getByRole('button', { name: 'Create profile from template' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Profile name').fill('from-template');
    await dialog.getByRole('button', { name: 'Create profile' }).click();
    await page.waitForURL(/\/profiles\/[0-9a-f-]{36}$/);
    await page.getByRole('heading', { name: 'from-template' }).waitFor();
    await expect.poll(() => shownNames(page)).toEqual(['prepare']);
    const created = page.url().split('/').pop() ?? '';
    expect(await taskNames(created)).toEqual(['prepare']);

    // a secret variable set in the page reaches the agent, and is never shown again
    await page.getByRole('button', { name: 'Edit prepare' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit task' });
    await edit.getByLabel('Command').fill('echo "key=$PREP_KEY"');
    await edit.getByRole('button', { name: 'Add secret' }).click();
    await edit.getByLabel('Secret 1 name').fill('PREP_KEY');
    await edit.getByLabel('Secret 1 value').fill('s3cret-from-the-page');
    await edit.getByRole('button', { name: 'Save task' }).click();
    await edit.waitFor({ state: 'detached' });
    const [task] = (
      await get<{ items: (TaskRow & { secret_env: object })[] }>(`/api/v1/profiles/${created}/tasks`)
    ).items;
    expect(task?.secret_env).toEqual({ PREP_KEY: '********' });
    // edited again without retyping it, the secret is kept
    await page.getByRole('button', { name: 'Edit prepare' }).click();
    await expect
      .poll(() => edit.getByLabel('Secret 1 value').getAttribute('placeholder'))
      .toBe('kept as stored');
    await edit.getByRole('button', { name: 'Save task' }).click();
    await edit.waitFor({ state: 'detached' });
    const run = await expectStatus<{ id: string }>(
      call(fleet.server, 'POST', `/api/v1/profiles/${created}/apply`, {
        token: fleet.owner.token,
        body: { target: { agent_ids: [fleet.agent.id] } },
      }),
      202,
    );
    const job = await eventually(
      async () => {
        const [only] = (await get<{ items: (JobRow & { id: string })[] }>(`/api/v1/runs/${run.id}/jobs`))
          .items;
        return only?.status === 'succeeded' ? only : undefined;
      },
      { what: 'the applied profile to succeed' },
    );
    const output = await call<string>(fleet.server, 'GET', `/api/v1/jobs/${job.id}/output`, {
      token: fleet.owner.token,
    });
    expect(output.body).toContain('key=s3cret-from-the-page');

    // the target OS is kept with the profile
    await page.getByRole('combobox', { name: 'Target OS' }).click();
    await page.getByRole('option', { name: 'windows', exact: true }).click();
    await page.getByRole('button', { name: 'Save details' }).click();
    await expect
      .poll(
        async () =>
          (await get<{ target_os_type: string | null }>(`/api/v1/profiles/${created}`)).target_os_type,
      )
      .toBe('windows');

    // deleting asks first, then the profile is gone
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await page.getByRole('button', { name: 'Delete profile' }).click();
    await page.waitForURL(/\/profiles$/);
    expectError(
      await call(fleet.server, 'GET', `/api/v1/profiles/${created}`, { token: fleet.owner.token }),
      404,
      'not_found',
    );
    await page.getByRole('link', { name: 'web-setup' }).waitFor();
    await browser.shot(page, 'profiles-list');
    // the tab lives in the URL
    await page.getByRole('tab', { name: 'Templates' }).click();
    await page.waitForURL(/\/profiles\?tab=templates$/);
    await page.getByRole('link', { name: 'base-template' }).waitFor();
    expect(await page.getByRole('link', { name: 'web-setup' }).count()).toBe(0);
  });

  it('profiles: a viewer sees no action, and the API refuses one forced', async () => {
    const page = await browser.open(fleet.server, '/profiles');
    await signIn(page, viewer.email, viewer.password);
    await page.getByRole('link', { name: 'web-setup' }).click();
    await page.getByRole('heading', { name: 'web-setup' }).waitFor();
    await expect.poll(() => page.getByTestId('task-row').count()).toBe(3);
    for (const name of ['Apply', 'Delete', 'Bulk edit', 'Add task', 'Edit', 'Move first'])
      expect(await page.getByRole('button', { name }).count()).toBe(0);
    expect(await page.getByLabel('Name').count()).toBe(0);
    await browser.shot(page, 'profile-viewer');
    await page.goto(`${fleet.server.url}/profiles`);
    await page.getByRole('link', { name: 'web-setup' }).waitFor();
    expect(await page.getByRole('button', { name: 'Create profile' }).count()).toBe(0);

    const apply = await call(fleet.server, 'POST', `/api/v1/profiles/${profileId}/apply`, {
      token: viewer.token,
      body: { agent_ids: [fleet.agent.id] },
    });
    expectError(apply, 403, 'forbidden');
    const tasks = await get<{ items: TaskRow[] }>(`/api/v1/profiles/${profileId}/tasks`);
    const reorder = await call(fleet.server, 'PUT', `/api/v1/profiles/${profileId}/tasks/order`, {
      token: viewer.token,
      body: { task_ids: tasks.items.map((task) => task.id).reverse() },
    });
    expectError(reorder, 403, 'forbidden');
  });
});
