import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../support/agents.js';
import {
  addMember,
  auditOf,
  call,
  expectError,
  expectStatus,
  signup,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { createScript } from '../scripts/library.js';
import { commandTask, createProfile } from './support.js';

describe.each(dialects)('profiles: profiles and templates on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'profiles');
  });
  afterAll(async () => {
    await server.close();
  });

  const api = (method: string, route: string, body?: unknown, session = owner) =>
    call(server, method, route, { token: session.token, ...(body === undefined ? {} : { body }) });

  /** Task rows left for a profile, read from the database itself. */
  const storedTasks = async (profileId: string) =>
    (
      await server.database.db
        .selectFrom('profile_tasks')
        .select('id')
        .where('profile_id', '=', profileId)
        .execute()
    ).length;

  it('profiles: create with tasks, get, list, change and delete a profile, each audited', async () => {
    const created = await expectStatus(
      api('POST', '/api/v1/profiles', {
        name: 'web baseline',
        description: 'what every web server gets',
        target_os_type: 'linux',
        tasks: [commandTask('update', 'apt-get update'), { name: 'restart', action: 'reboot' }],
      }),
      201,
    );
    expect(created).toMatchObject({
      name: 'web baseline',
      description: 'what every web server gets',
      target_os_type: 'linux',
      is_template: false,
      task_count: 2,
      created_by: owner.userId,
    });
    expect(created.tasks).toMatchObject([
      { position: 0, name: 'update', action: 'command', interpreter: 'sh', content: 'apt-get update' },
      { position: 1, name: 'restart', action: 'reboot', content: null, continue_on_error: false },
    ]);
    expect(await expectStatus(api('GET', `/api/v1/profiles/${created.id}`), 200)).toEqual(created);

    const list = await expectStatus(api('GET', '/api/v1/profiles?q=BASELINE'), 200);
    expect(list.items).toMatchObject([{ id: created.id, task_count: 2 }]);
    expect(list.items[0].tasks).toBeUndefined();

    const changed = await expectStatus(
      api('PATCH', `/api/v1/profiles/${created.id}`, { description: 'new', target_os_type: null }),
      200,
    );
    expect(changed).toMatchObject({ name: 'web baseline', description: 'new', target_os_type: null });
    expect(changed.tasks).toHaveLength(2);

    await expectStatus(api('DELETE', `/api/v1/profiles/${created.id}`), 204);
    expectError(await api('GET', `/api/v1/profiles/${created.id}`), 404, 'not_found');
    // The tasks went with it (foreign key cascade).
    expect(await storedTasks(created.id)).toBe(0);

    const events = await auditOf(server, owner, 'profile', created.id);
    expect(events.map((e: any) => e.action)).toEqual(['created', 'modified', 'deleted']);
    expect(events[1]).toMatchObject({
      before: { description: 'what every web server gets' },
      after: { description: 'new' },
    });
  });

  it('profiles: names are unique among profiles (409 on create and rename), and apart from templates', async () => {
    const first = await createProfile(server, owner, { name: 'unique one' });
    const second = await createProfile(server, owner, { name: 'unique two' });
    expectError(await api('POST', '/api/v1/profiles', { name: 'unique one' }), 409, 'conflict');
    expectError(await api('PATCH', `/api/v1/profiles/${second.id}`, { name: 'unique one' }), 409, 'conflict');
    // A template may share a profile's name: they are listed apart.
    const template = await createProfile(server, owner, { name: 'unique one' }, 'templates');
    expectError(await api('POST', '/api/v1/templates', { name: 'unique one' }), 409, 'conflict');
    const other = await signup(server, 'elsewhere');
    await createProfile(server, other, { name: 'unique one' });
    expect((await expectStatus(api('GET', `/api/v1/profiles/${first.id}`), 200)).name).toBe('unique one');
    expect(template.is_template).toBe(true);
  });

  it('profiles: a template is never found as a profile, nor a profile as a template (404 across)', async () => {
    const profile = await createProfile(server, owner, { tasks: [commandTask('a', 'true')] });
    const template = await createProfile(server, owner, { tasks: [commandTask('a', 'true')] }, 'templates');
    const profileTask = profile.tasks[0].id;
    const templateTask = template.tasks[0].id;
    for (const [route, id, task] of [
      ['/api/v1/templates', profile.id, profileTask],
      ['/api/v1/profiles', template.id, templateTask],
    ] as const) {
      expectError(await api('GET', `${route}/${id}`), 404, 'not_found');
      expectError(await api('PATCH', `${route}/${id}`, { description: 'x' }), 404, 'not_found');
      expectError(await api('GET', `${route}/${id}/tasks`), 404, 'not_found');
      expectError(await api('GET', `${route}/${id}/tasks/${task}`), 404, 'not_found');
      expectError(await api('PUT', `${route}/${id}/tasks/bulk`, { tasks: [] }), 404, 'not_found');
      expectError(await api('DELETE', `${route}/${id}`), 404, 'not_found');
    }
    expectError(
      await api('POST', `/api/v1/profiles/${template.id}/apply`, { agent_ids: [template.id] }),
      404,
      'not_found',
    );
    expectError(await api('POST', `/api/v1/templates/${profile.id}/instantiate`, {}), 404, 'not_found');
    // A task id is found only under its own profile.
    expectError(await api('GET', `/api/v1/profiles/${profile.id}/tasks/${templateTask}`), 404, 'not_found');

    const profiles = await expectStatus(api('GET', '/api/v1/profiles?limit=200'), 200);
    const templates = await expectStatus(api('GET', '/api/v1/templates?limit=200'), 200);
    expect(profiles.items.map((p: any) => p.id)).not.toContain(template.id);
    expect(templates.items.map((p: any) => p.id)).not.toContain(profile.id);
    expect(templates.items.every((t: any) => t.is_template)).toBe(true);
    // Both still whole.
    expect((await expectStatus(api('GET', `/api/v1/templates/${template.id}`), 200)).tasks).toHaveLength(1);
    expect((await expectStatus(api('GET', `/api/v1/profiles/${profile.id}`), 200)).tasks).toHaveLength(1);
  });

  it('profiles: instantiating a template copies it and its tasks into an independent profile', async () => {
    const template = await createProfile(
      server,
      owner,
      {
        name: 'golden image',
        description: 'template',
        target_os_type: 'ubuntu',
        tasks: [commandTask('one', 'echo 1'), commandTask('two', 'echo 2', { continue_on_error: true })],
      },
      'templates',
    );
    const derived = await expectStatus(api('POST', `/api/v1/templates/${template.id}/instantiate`, {}), 201);
    expect(derived).toMatchObject({
      name: 'golden image',
      description: 'template',
      target_os_type: 'ubuntu',
      is_template: false,
      task_count: 2,
    });
    expect(derived.id).not.toBe(template.id);
    expect(derived.tasks.map((t: any) => [t.name, t.content, t.continue_on_error, t.profile_id])).toEqual([
      ['one', 'echo 1', false, derived.id],
      ['two', 'echo 2', true, derived.id],
    ]);
    expect(derived.tasks.map((t: any) => t.id)).not.toContain(template.tasks[0].id);
    // The derived name is taken now: a second copy needs a name of its own.
    expectError(await api('POST', `/api/v1/templates/${template.id}/instantiate`, {}), 409, 'conflict');
    const named = await expectStatus(
      api('POST', `/api/v1/templates/${template.id}/instantiate`, { name: 'golden copy' }),
      201,
    );
    expect(named.name).toBe('golden copy');

    // Editing the copy leaves the template alone, and deleting the template leaves the copy.
    await expectStatus(
      api('PATCH', `/api/v1/profiles/${derived.id}/tasks/${derived.tasks[0].id}`, {
        content: 'echo changed',
      }),
      200,
    );
    await expectStatus(api('DELETE', `/api/v1/profiles/${derived.id}/tasks/${derived.tasks[1].id}`), 204);
    const kept = await expectStatus(api('GET', `/api/v1/templates/${template.id}`), 200);
    expect(kept.tasks.map((t: any) => t.content)).toEqual(['echo 1', 'echo 2']);
    await expectStatus(api('DELETE', `/api/v1/templates/${template.id}`), 204);
    expect(await storedTasks(template.id)).toBe(0);
    const copy = await expectStatus(api('GET', `/api/v1/profiles/${derived.id}`), 200);
    expect(copy.tasks.map((t: any) => t.content)).toEqual(['echo changed']);

    const events = await auditOf(server, owner, 'profile', derived.id);
    expect(events[0]).toMatchObject({ action: 'created', after: { from_template: template.id } });
  });

  it('profiles: a script a profile or template uses cannot be deleted (409 naming them); once unused it can', async () => {
    const script = await createScript(server, owner, { name: 'shared script', parameters: [] });
    const task = { name: 'run it', action: 'script', script_id: script.id };
    const profile = await createProfile(server, owner, { name: 'uses the script', tasks: [task] });
    const template = await createProfile(
      server,
      owner,
      { name: 'template using it', tasks: [task] },
      'templates',
    );
    const refused = await api('DELETE', `/api/v1/scripts/${script.id}`);
    expectError(refused, 409, 'conflict');
    expect(refused.body.error.message).toContain('profile "uses the script"');
    expect(refused.body.error.message).toContain('template "template using it"');
    expect(refused.body.error.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'profile', id: profile.id, name: 'uses the script' }),
        expect.objectContaining({ field: 'template', id: template.id, name: 'template using it' }),
      ]),
    );
    await expectStatus(api('GET', `/api/v1/scripts/${script.id}`), 200);

    await expectStatus(api('DELETE', `/api/v1/profiles/${profile.id}`), 204);
    await expectStatus(api('PUT', `/api/v1/templates/${template.id}/tasks/bulk`, { tasks: [] }), 200);
    await expectStatus(api('DELETE', `/api/v1/scripts/${script.id}`), 204);
  });

  it('profiles: an agent takes a profile of its organisation, and a group an auto profile; never a template or a foreign one (422)', async () => {
    const profile = await createProfile(server, owner);
    const template = await createProfile(server, owner, {}, 'templates');
    const other = await signup(server, 'foreign');
    const foreign = await createProfile(server, other);
    const agentId = await createAgent(server, owner);

    const assigned = await expectStatus(
      api('PATCH', `/api/v1/agents/${agentId}`, { profile_id: profile.id }),
      200,
    );
    expect(assigned.profile_id).toBe(profile.id);
    for (const id of [template.id, foreign.id]) {
      const refused = await api('PATCH', `/api/v1/agents/${agentId}`, { profile_id: id });
      expectError(refused, 422, 'unprocessable');
      expect(refused.body.error.details).toEqual([{ field: 'profile_id', message: 'not found' }]);
    }
    const group = await expectStatus(
      api('POST', '/api/v1/agent-groups', { name: 'auto group', auto_profile_id: profile.id }),
      201,
    );
    expect(group.auto_profile_id).toBe(profile.id);
    for (const id of [template.id, foreign.id]) {
      expectError(
        await api('PATCH', `/api/v1/agent-groups/${group.id}`, { auto_profile_id: id }),
        422,
        'unprocessable',
      );
      expectError(
        await api('POST', '/api/v1/agent-groups', { name: 'x', auto_profile_id: id }),
        422,
        'unprocessable',
      );
    }
    const agentEvents = await auditOf(server, owner, 'agent', agentId);
    expect(agentEvents.at(-1)).toMatchObject({
      before: { profile_id: null },
      after: { profile_id: profile.id },
    });

    // Deleting the profile lets go of it everywhere.
    await expectStatus(api('DELETE', `/api/v1/profiles/${profile.id}`), 204);
    expect((await expectStatus(api('GET', `/api/v1/agents/${agentId}`), 200)).profile_id).toBeNull();
    expect(
      (await expectStatus(api('GET', `/api/v1/agent-groups/${group.id}`), 200)).auto_profile_id,
    ).toBeNull();
    const cleared = await expectStatus(api('PATCH', `/api/v1/agents/${agentId}`, { profile_id: null }), 200);
    expect(cleared.profile_id).toBeNull();
  });

  it('profiles: viewers read, operators apply, only editors change profiles and templates', async () => {
    const profile = await createProfile(server, owner, { tasks: [commandTask('a', 'true')] });
    const viewer = await addMember(server, owner, 'viewer');
    const operator = await addMember(server, owner, 'operator');
    await expectStatus(api('GET', `/api/v1/profiles/${profile.id}`, undefined, viewer), 200);
    await expectStatus(api('GET', `/api/v1/profiles/${profile.id}/tasks`, undefined, viewer), 200);
    for (const session of [viewer, operator]) {
      expectError(await api('POST', '/api/v1/profiles', { name: 'nope' }, session), 403, 'forbidden');
      expectError(
        await api('POST', `/api/v1/profiles/${profile.id}/tasks`, { name: 'x', action: 'reboot' }, session),
        403,
        'forbidden',
      );
      expectError(
        await api('DELETE', `/api/v1/profiles/${profile.id}`, undefined, session),
        403,
        'forbidden',
      );
    }
    const agentId = await createAgent(server, owner);
    expectError(
      await api('POST', `/api/v1/profiles/${profile.id}/apply`, { agent_ids: [agentId] }, viewer),
      403,
      'forbidden',
    );
    await expectStatus(
      api('POST', `/api/v1/profiles/${profile.id}/apply`, { agent_ids: [agentId] }, operator),
      202,
    );
  });
});
