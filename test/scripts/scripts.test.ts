import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { createScript, scriptBody } from './library.js';

describe.each(dialects)('scripts: the library on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'library');
  });
  afterAll(async () => {
    await server.close();
  });

  const get = (route: string, session = owner) => call(server, 'GET', route, { token: session.token });
  const patch = (id: string, body: unknown) =>
    call(server, 'PATCH', `/api/v1/scripts/${id}`, { token: owner.token, body });

  it('scripts: create, get, list, change and delete a script, each audited', async () => {
    const created = await createScript(server, owner, { name: 'crud script' });
    expect(created).toMatchObject({
      name: 'crud script',
      kind: 'script',
      language: 'bash',
      target_os_type: null,
      tags: ['web'],
      timeout_seconds: 120,
      version: 1,
      created_by: owner.userId,
    });
    expect(created.parameters[3]).toEqual({
      name: 'stage',
      type: 'enum',
      values: ['dev', 'prod'],
      default: 'dev',
    });
    expect(await expectStatus(get(`/api/v1/scripts/${created.id}`), 200)).toEqual(created);
    const listed = await expectStatus(get('/api/v1/scripts?q=CRUD'), 200);
    expect(listed.items.map((s: { id: string }) => s.id)).toEqual([created.id]);

    const changed = await expectStatus(
      patch(created.id, { description: 'new words', target_os_type: 'linux' }),
      200,
    );
    expect(changed).toMatchObject({ description: 'new words', target_os_type: 'linux', version: 1 });
    const cleared = await expectStatus(
      patch(created.id, { target_os_type: null, timeout_seconds: null }),
      200,
    );
    expect(cleared).toMatchObject({ target_os_type: null, timeout_seconds: null });

    expect(
      (await call(server, 'DELETE', `/api/v1/scripts/${created.id}`, { token: owner.token })).status,
    ).toBe(204);
    expectError(await get(`/api/v1/scripts/${created.id}`), 404, 'not_found');
    expectError(await get(`/api/v1/scripts/${created.id}/versions`), 404, 'not_found');
    const events = await auditOf(server, owner, 'script', created.id);
    expect(events.map((e: { action: string }) => e.action)).toEqual([
      'created',
      'modified',
      'modified',
      'deleted',
    ]);
  });

  it('scripts: a name is unique in the organisation (409), on create and on rename, but not across organisations', async () => {
    const first = await createScript(server, owner, { name: 'unique name' });
    const again = await call(server, 'POST', '/api/v1/scripts', {
      token: owner.token,
      body: scriptBody({ name: 'unique name' }),
    });
    expectError(again, 409, 'conflict');
    const second = await createScript(server, owner, { name: 'other name' });
    expectError(await patch(second.id, { name: 'unique name' }), 409, 'conflict');
    expect((await expectStatus(get(`/api/v1/scripts/${second.id}`), 200)).name).toBe('other name');
    await expectStatus(patch(first.id, { name: 'unique name' }), 200);
    const elsewhere = await signup(server, 'elsewhere');
    await createScript(server, elsewhere, { name: 'unique name' });
  });

  it('scripts: each change to what runs keeps a version; old versions stay readable', async () => {
    const script = await createScript(server, owner, { content: 'echo one' });
    await expectStatus(patch(script.id, { content: 'echo two' }), 200);
    await expectStatus(patch(script.id, { tags: ['web', 'prod'], description: 'only words' }), 200);
    const third = await expectStatus(patch(script.id, { language: 'sh', content: 'echo three' }), 200);
    expect(third.version).toBe(3);
    // The same parameters in another key order are no change.
    const reordered = script.parameters.map((p: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(p).reverse()),
    );
    expect((await expectStatus(patch(script.id, { parameters: reordered }), 200)).version).toBe(3);

    const versions = await expectStatus(get(`/api/v1/scripts/${script.id}/versions`), 200);
    expect(versions.items.map((v: any) => [v.version, v.language, v.content])).toEqual([
      [3, 'sh', 'echo three'],
      [2, 'bash', 'echo two'],
      [1, 'bash', 'echo one'],
    ]);
    const first = await expectStatus(get(`/api/v1/scripts/${script.id}/versions/1`), 200);
    expect(first).toMatchObject({
      script_id: script.id,
      version: 1,
      content: 'echo one',
      created_by: owner.userId,
    });
    expect(first.parameters).toEqual(script.parameters);
    expectError(await get(`/api/v1/scripts/${script.id}/versions/4`), 404, 'not_found');
    const paged = await expectStatus(get(`/api/v1/scripts/${script.id}/versions?limit=2`), 200);
    expect(paged.items).toHaveLength(2);
    const rest = await expectStatus(
      get(`/api/v1/scripts/${script.id}/versions?limit=2&cursor=${paged.next_cursor}`),
      200,
    );
    expect(rest.items.map((v: { version: number }) => v.version)).toEqual([1]);
  });

  it('scripts: saved commands are one-line scripts listed with kind=command; filters combine', async () => {
    const org = await signup(server, 'filters');
    const command = await createScript(server, org, {
      name: 'quota usage',
      kind: 'command',
      content: 'df -h "$FP_PARAM_PATH"',
      parameters: [{ name: 'path', type: 'string', default: '/' }],
      tags: ['ops'],
    });
    const ps = await createScript(server, org, {
      name: 'services',
      language: 'powershell',
      content: 'Get-Service',
      tags: ['ops'],
    });
    const long = await createScript(server, org, {
      name: 'long script',
      content: 'echo a\necho b',
      tags: ['build'],
    });
    const ids = async (query: string) =>
      (await expectStatus(get(`/api/v1/scripts?${query}&limit=100`, org), 200)).items.map(
        (s: { id: string }) => s.id,
      );
    // The organisation came with its starter commands (test/scripts/starter.test.ts), older than these.
    const starters = await ids('tag=starter');
    const windowsStarters = await ids('tag=windows');
    expect(await ids('kind=command')).toEqual([command.id, ...starters]);
    expect(await ids('language=powershell')).toEqual([ps.id, ...windowsStarters]);
    expect(await ids('tag=ops')).toEqual([ps.id, command.id]);
    expect(await ids('tag=ops&kind=script')).toEqual([ps.id]);
    expect(await ids('q=quota')).toEqual([command.id]);
    const all = [long.id, ps.id, command.id, ...starters];
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const page = await expectStatus(get(`/api/v1/scripts?limit=10${query}`, org), 200);
      seen.push(...page.items.map((s: { id: string }) => s.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.sort()).toEqual(all.sort());

    const multiLine = await call(server, 'POST', '/api/v1/scripts', {
      token: org.token,
      body: scriptBody({ kind: 'command', content: 'echo a\necho b' }),
    });
    expectError(multiLine, 422, 'unprocessable');
    expect(multiLine.body.error.details).toEqual([{ field: 'content', message: expect.any(String) }]);
    expectError(
      await call(server, 'PATCH', `/api/v1/scripts/${command.id}`, {
        token: org.token,
        body: { content: 'echo a\necho b' },
      }),
      422,
      'unprocessable',
    );
  });

  it('scripts: a malformed body is 400 and unsound parameter definitions are 422, nothing created', async () => {
    const post = (overrides: Record<string, unknown>) =>
      call(server, 'POST', '/api/v1/scripts', {
        token: owner.token,
        body: scriptBody({ name: 'malformed', ...overrides }),
      });
    for (const bad of [
      { language: 'ruby' },
      { kind: 'macro' },
      { content: '' },
      { parameters: [{ name: '1st', type: 'string' }] },
      { parameters: [{ name: 'a-b', type: 'string' }] },
      { parameters: [{ name: 'x', type: 'date' }] },
      { parameters: [{ name: 'x', type: 'string', secret: true }] },
      { target_os_type: 'plan9' },
      { surprise: 1 },
    ])
      expectError(await post(bad), 400, 'validation_failed');

    const unsound = await post({
      parameters: [
        { name: 'level', type: 'enum' },
        { name: 'count', type: 'number', default: 'three' },
        { name: 'LEVEL', type: 'string' },
        { name: 'password', type: 'secret', default: 'hunter2' },
        { name: 'flag', type: 'boolean', values: ['yes'] },
        { name: 'mode', type: 'enum', values: ['a', 'b'], default: 'c' },
      ],
    });
    expectError(unsound, 422, 'unprocessable');
    expect(unsound.body.error.details.map((d: { field: string }) => d.field)).toEqual([
      'parameters.0.values',
      'parameters.1.default',
      'parameters.2.name',
      'parameters.3.default',
      'parameters.4.values',
      'parameters.5.default',
    ]);
    expect(JSON.stringify(unsound.body)).not.toContain('hunter2');
    const listed = await expectStatus(get('/api/v1/scripts?q=malformed'), 200);
    expect(listed.items).toEqual([]);
  });

  it('scripts: viewers read, operators run, only editors change the library', async () => {
    const script = await createScript(server, owner);
    const viewer = await addMember(server, owner, 'viewer');
    const operator = await addMember(server, owner, 'operator');
    await expectStatus(get(`/api/v1/scripts/${script.id}`, viewer), 200);
    for (const session of [viewer, operator]) {
      expectError(
        await call(server, 'POST', '/api/v1/scripts', { token: session.token, body: scriptBody() }),
        403,
        'forbidden',
      );
      expectError(
        await call(server, 'DELETE', `/api/v1/scripts/${script.id}`, { token: session.token }),
        403,
        'forbidden',
      );
    }
    const run = (session: Session) =>
      call(server, 'POST', `/api/v1/scripts/${script.id}/run`, {
        token: session.token,
        body: { agent_id: script.id, parameters: { version: '1' } },
      });
    expectError(await run(viewer), 403, 'forbidden');
    // Past the guard: the id names no agent.
    expectError(await run(operator), 404, 'not_found');
  });
});
