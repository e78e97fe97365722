import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditOf, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { createScript } from '../scripts/library.js';
import { commandTask, createProfile } from './support.js';

const SECRET = 'tok-S3CRET-in-a-task';

describe.each(dialects)('profiles: tasks on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'tasks');
  });
  afterAll(async () => {
    await server.close();
  });

  const api = (method: string, route: string, body?: unknown, session = owner) =>
    call(server, method, route, { token: session.token, ...(body === undefined ? {} : { body }) });
  const names = async (kind: string, id: string) =>
    (await expectStatus(api('GET', `/api/v1/${kind}/${id}/tasks`), 200)).items.map((t: any) => [
      t.position,
      t.name,
    ]);

  for (const kind of ['profiles', 'templates'] as const) {
    it(`profiles: task create, get, change and delete on ${kind}, positions kept 0…n-1, each audited`, async () => {
      const profile = await createProfile(server, owner, {}, kind);
      const path = `/api/v1/${kind}/${profile.id}/tasks`;
      const first = await expectStatus(api('POST', path, commandTask('first', 'echo 1')), 201);
      expect(first).toMatchObject({
        profile_id: profile.id,
        position: 0,
        action: 'command',
        timeout_seconds: null,
      });
      await expectStatus(api('POST', path, { name: 'last', action: 'reboot', timeout_seconds: 60 }), 201);
      const middle = await expectStatus(
        api('POST', path, { ...commandTask('middle', 'echo 2'), position: 1 }),
        201,
      );
      expect(middle.position).toBe(1);
      expect(await names(kind, profile.id)).toEqual([
        [0, 'first'],
        [1, 'middle'],
        [2, 'last'],
      ]);
      expect(await expectStatus(api('GET', `${path}/${middle.id}`), 200)).toEqual(middle);

      const changed = await expectStatus(
        api('PATCH', `${path}/${middle.id}`, { description: 'the middle one', continue_on_error: true }),
        200,
      );
      expect(changed).toMatchObject({
        description: 'the middle one',
        continue_on_error: true,
        content: 'echo 2',
      });
      // A new action drops the fields it does not use.
      const rebooting = await expectStatus(api('PATCH', `${path}/${middle.id}`, { action: 'reboot' }), 200);
      expect(rebooting).toMatchObject({
        action: 'reboot',
        content: null,
        interpreter: null,
        continue_on_error: true,
      });

      await expectStatus(api('DELETE', `${path}/${first.id}`), 204);
      expectError(await api('GET', `${path}/${first.id}`), 404, 'not_found');
      expect(await names(kind, profile.id)).toEqual([
        [0, 'middle'],
        [1, 'last'],
      ]);
      const entity = kind === 'profiles' ? 'profile_task' : 'template_task';
      expect((await auditOf(server, owner, entity, middle.id)).map((e: any) => e.action)).toEqual([
        'created',
        'modified',
        'modified',
      ]);
      expect((await auditOf(server, owner, entity, first.id)).map((e: any) => e.action)).toEqual([
        'created',
        'deleted',
      ]);
    });
  }

  it('profiles: each action requires its own fields and refuses the others (422, nothing saved)', async () => {
    const profile = await createProfile(server, owner);
    const path = `/api/v1/profiles/${profile.id}/tasks`;
    const cases: [Record<string, unknown>, string[]][] = [
      [{ name: 'x', action: 'command' }, ['content', 'interpreter']],
      [
        { name: 'x', action: 'command', content: 'ls', interpreter: 'sh', destination: '/tmp/x' },
        ['destination'],
      ],
      [{ name: 'x', action: 'script' }, ['script_id']],
      [{ name: 'x', action: 'reboot', content: 'now' }, ['content']],
      [{ name: 'x', action: 'file_copy', content: 'hi' }, ['destination']],
      [{ name: 'x', action: 'file_copy', destination: '/etc/motd' }, ['content']],
      [
        {
          name: 'x',
          action: 'file_copy',
          destination: '/etc/motd',
          content: 'a',
          source_url: 'https://x.test/a',
        },
        ['content'],
      ],
      [{ name: 'x', action: 'file_copy', destination: 'relative/path', content: 'a' }, ['destination']],
      [
        { name: 'x', action: 'file_copy', destination: '/tmp/a', source_url: 'file:///etc/passwd' },
        ['source_url'],
      ],
      [{ name: 'x', action: 'file_copy', destination: '/tmp/a', content: 'x'.repeat(32_001) }, ['content']],
    ];
    for (const [body, fields] of cases) {
      const reply = await api('POST', path, body);
      expectError(reply, 422, 'unprocessable');
      expect(
        reply.body.error.details.map((d: any) => d.field).sort(),
        JSON.stringify(body).slice(0, 200),
      ).toEqual(fields.sort());
    }
    // A NUL never reaches these rules: the validation edge refuses it, naming the field.
    const nul = await api('POST', path, {
      name: 'x',
      action: 'file_copy',
      destination: '/tmp/a\u0000b',
      content: 'a',
    });
    expectError(nul, 400, 'validation_failed');
    expect(nul.body.error.details.map((d: any) => d.field)).toEqual(['body.destination']);
    // Windows paths are absolute too.
    for (const destination of ['C:\\ProgramData\\app.ini', 'D:/x', '\\\\server\\share\\f'])
      await expectStatus(
        api('POST', path, { name: 'w', action: 'file_copy', destination, content: 'x' }),
        201,
      );
    await expectStatus(
      api('POST', path, {
        name: 'u',
        action: 'file_copy',
        destination: '/opt/a',
        source_url: 'https://example.test/a',
      }),
      201,
    );
    // Malformed bodies are 400.
    expectError(await api('POST', path, { name: 'x', action: 'format_disk' }), 400, 'validation_failed');
    expectError(await api('POST', path, { name: 'x', action: 'reboot', extra: 1 }), 400, 'validation_failed');
    expect((await names('profiles', profile.id)).length).toBe(4);
  });

  it('profiles: script tasks take a script of the organisation and parameters checked like a script run (422)', async () => {
    const script = await createScript(server, owner);
    const other = await signup(server, 'other-org');
    const foreign = await createScript(server, other);
    const profile = await createProfile(server, owner);
    const path = `/api/v1/profiles/${profile.id}/tasks`;
    const foreignReply = await api('POST', path, {
      name: 'x',
      action: 'script',
      script_id: foreign.id,
      parameters: {},
    });
    expectError(foreignReply, 422, 'unprocessable');
    expect(foreignReply.body.error.details).toEqual([
      { field: 'script_id', message: 'no such script in this organisation' },
    ]);
    const bad = await api('POST', path, {
      name: 'deploy',
      action: 'script',
      script_id: script.id,
      parameters: { replicas: 'two', stage: 'qa', unknown: 1 },
    });
    expectError(bad, 422, 'unprocessable');
    expect(bad.body.error.details.map((d: any) => d.field).sort()).toEqual([
      'parameters.replicas',
      'parameters.stage',
      'parameters.unknown',
      'parameters.version',
    ]);
    const task = await expectStatus(
      api('POST', path, {
        name: 'deploy',
        action: 'script',
        script_id: script.id,
        parameters: { version: '1.2.3', api_token: SECRET },
      }),
      201,
    );
    // A secret value is stored sealed for the run, never shown, nor written to the audit log.
    expect(task.parameters).toEqual({ version: '1.2.3', api_token: '********' });
    const shown = [
      await api('GET', `/api/v1/profiles/${profile.id}`),
      await api('GET', `${path}/${task.id}`),
      await api('GET', `/api/v1/audit?entity_id=${task.id}`),
      await api('GET', `/api/v1/audit?entity_id=${profile.id}`),
    ];
    expect(JSON.stringify(shown.map((r) => r.body))).not.toContain(SECRET);
    // The mask itself is asserted: a stored value is sealed, so an answer that forgot to mask it
    // would not hold the clear value either.
    const masked = { version: '1.2.3', api_token: '********' };
    const [inProfile, alone, taskEvents, profileEvents] = shown.map((r) => r.body);
    expect(inProfile.tasks.find((t: { id: string }) => t.id === task.id).parameters).toEqual(masked);
    expect(alone.parameters).toEqual(masked);
    expect(taskEvents.items.map((e: any) => e.after.parameters)).toEqual([masked]);
    expect(JSON.stringify(profileEvents.items)).not.toContain('v1:');
    const stored = await server.database.db
      .selectFrom('profile_tasks')
      .select('parameters')
      .where('id', '=', task.id)
      .executeTakeFirstOrThrow();
    expect(stored.parameters).not.toContain(SECRET);
    expect(JSON.parse(stored.parameters)).toMatchObject({
      version: '1.2.3',
      api_token: expect.stringMatching(/^v1:/),
    });

    // A client sending back what it read (the mask) keeps the secret; a new value replaces it.
    const storedToken = async () =>
      JSON.parse(
        (
          await server.database.db
            .selectFrom('profile_tasks')
            .select('parameters')
            .where('id', '=', task.id)
            .executeTakeFirstOrThrow()
        ).parameters,
      ).api_token as string;
    const echoed = await expectStatus(
      api('PATCH', `${path}/${task.id}`, {
        name: 'deploy 2',
        parameters: { ...task.parameters, version: '2.0' },
      }),
      200,
    );
    expect(echoed.parameters).toEqual({ version: '2.0', api_token: '********' });
    expect(await storedToken()).toBe(JSON.parse(stored.parameters).api_token);
    await expectStatus(
      api('PATCH', `${path}/${task.id}`, { parameters: { version: '2.0', api_token: 'a-new-secret' } }),
      200,
    );
    expect(await storedToken()).not.toBe(JSON.parse(stored.parameters).api_token);
  });

  it('profiles: reorder takes every task id once, in the new order (else 422)', async () => {
    const profile = await createProfile(server, owner, {
      tasks: ['a', 'b', 'c'].map((n) => commandTask(n, `echo ${n}`)),
    });
    const [a, b, c] = profile.tasks.map((t: any) => t.id);
    const path = `/api/v1/profiles/${profile.id}/tasks/order`;
    const reordered = await expectStatus(api('PUT', path, { task_ids: [c, a, b] }), 200);
    expect(reordered.items.map((t: any) => [t.position, t.name])).toEqual([
      [0, 'c'],
      [1, 'a'],
      [2, 'b'],
    ]);
    for (const task_ids of [[c, a], [c, a, a], [c, a, b, profile.id], []]) {
      const reply = await api('PUT', path, { task_ids });
      expectError(reply, 422, 'unprocessable');
    }
    expect(await names('profiles', profile.id)).toEqual([
      [0, 'c'],
      [1, 'a'],
      [2, 'b'],
    ]);
    const events = await auditOf(server, owner, 'profile', profile.id);
    expect(events.at(-1)).toMatchObject({ before: { task_ids: [a, b, c] }, after: { task_ids: [c, a, b] } });
  });

  it('profiles: bulk replace swaps every task at once; a bad task anywhere leaves the old tasks intact', async () => {
    const script = await createScript(server, owner, { parameters: [{ name: 'n', type: 'number' }] });
    const profile = await createProfile(server, owner, {
      tasks: [commandTask('old one', 'echo 1'), commandTask('old two', 'echo 2')],
    });
    const path = `/api/v1/profiles/${profile.id}/tasks/bulk`;
    const before = await expectStatus(api('GET', `/api/v1/profiles/${profile.id}/tasks`), 200);

    const good = [
      { name: 'new one', action: 'script', script_id: script.id, parameters: { n: 1 } },
      commandTask('new two', 'echo two'),
    ];
    const badBatches: [unknown[], number, string][] = [
      [
        [...good, { name: 'bad', action: 'script', script_id: script.id, parameters: { n: 'x' } }],
        422,
        'tasks.2.parameters.n',
      ],
      [
        [{ name: 'bad', action: 'file_copy', destination: 'nope', content: 'x' }, ...good],
        422,
        'tasks.0.destination',
      ],
      [[...good, { name: 'bad', action: 'script', script_id: profile.id }], 422, 'tasks.2.script_id'],
      [[...good, { name: 'bad', action: 'explode' }], 400, ''],
      [Array.from({ length: 101 }, (_, i) => commandTask(`t${i}`, 'true')), 400, ''],
    ];
    for (const [tasks, status, field] of badBatches) {
      const reply = await api('PUT', path, { tasks });
      expectError(reply, status, status === 400 ? 'validation_failed' : 'unprocessable');
      if (field) expect(reply.body.error.details.map((d: any) => d.field)).toContain(field);
      expect(await expectStatus(api('GET', `/api/v1/profiles/${profile.id}/tasks`), 200)).toEqual(before);
    }

    const replaced = await expectStatus(api('PUT', path, { tasks: good }), 200);
    expect(replaced.items.map((t: any) => [t.position, t.name, t.action])).toEqual([
      [0, 'new one', 'script'],
      [1, 'new two', 'command'],
    ]);
    expect(replaced.items.map((t: any) => t.id)).not.toContain(before.items[0].id);
    const events = await auditOf(server, owner, 'profile', profile.id);
    expect(events.at(-1)).toMatchObject({
      action: 'modified',
      before: { tasks: [{ name: 'old one' }, { name: 'old two' }] },
      after: { tasks: [{ name: 'new one' }, { name: 'new two' }] },
    });
    expect((await expectStatus(api('PUT', path, { tasks: [] }), 200)).items).toEqual([]);
  });

  it('profiles: a profile holds at most 100 tasks', async () => {
    const profile = await createProfile(server, owner, {
      tasks: Array.from({ length: 100 }, (_, i) => commandTask(`t${i}`, 'true')),
    });
    expect(profile.task_count).toBe(100);
    expectError(
      await api('POST', `/api/v1/profiles/${profile.id}/tasks`, { name: 'x', action: 'reboot' }),
      422,
      'unprocessable',
    );
  });
});
