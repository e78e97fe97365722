import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedAgent } from '../support/agents.js';
import { auditOf, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { apply, commandTask, createProfile } from './support.js';

const MASK = '********';
const SECRET = 'task-S3CRET-$(id)-1';
const OTHER = 'task-0THER-secret-2';

/** A task's `secret_env`: sealed in its row, masked wherever it is shown, kept when sent back masked. */
describe.each(dialects)('profiles: task secret_env on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'task-secrets');
  });
  afterAll(async () => {
    await server.close();
  });

  const api = (method: string, route: string, body?: unknown) =>
    call(server, method, route, { token: owner.token, ...(body === undefined ? {} : { body }) });
  const storedTask = (id: string) =>
    server.database.db.selectFrom('profile_tasks').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  /** What an agent receives for the profile's one task, applied now. */
  const claimedEnv = async (profileId: string) => {
    const agent = await ScriptedAgent.enroll(server, owner);
    await apply(server, owner, profileId, { agent_ids: [agent.id] });
    return (await agent.next()).env;
  };

  it('profiles: a task secret_env is sealed in its row, masked in the task, profile and audit, and kept on edit', async () => {
    const profile = await createProfile(server, owner);
    const tasks = `/api/v1/profiles/${profile.id}/tasks`;
    const created = await expectStatus(
      api(
        'POST',
        tasks,
        commandTask('deploy', 'true', { secret_env: { DB_PASS: SECRET, OTHER_KEY: OTHER } }),
      ),
      201,
    );
    expect(created.secret_env).toEqual({ DB_PASS: MASK, OTHER_KEY: MASK });
    const detail = await expectStatus(api('GET', `/api/v1/profiles/${profile.id}`), 200);
    expect(detail.tasks[0].secret_env).toEqual({ DB_PASS: MASK, OTHER_KEY: MASK });
    const row = await storedTask(created.id);
    expect(row.secret_env).not.toContain(SECRET);
    expect(row.secret_env).not.toContain(OTHER);
    expect(JSON.parse(row.secret_env).DB_PASS).toMatch(/^v1:/);

    // Another field changed: the secrets stay as stored.
    await expectStatus(api('PATCH', `${tasks}/${created.id}`, { name: 'deploy it' }), 200);
    expect(await claimedEnv(profile.id)).toEqual({ DB_PASS: SECRET, OTHER_KEY: OTHER });

    // Sent back as read: the masked value keeps its secret; a name left out is dropped; a new one is added.
    const edited = await expectStatus(
      api('PATCH', `${tasks}/${created.id}`, { secret_env: { DB_PASS: MASK, NEW_TOKEN: 'fresh-value-3' } }),
      200,
    );
    expect(edited.secret_env).toEqual({ DB_PASS: MASK, NEW_TOKEN: MASK });
    expect(await claimedEnv(profile.id)).toEqual({ DB_PASS: SECRET, NEW_TOKEN: 'fresh-value-3' });

    await expectStatus(
      api('PATCH', `${tasks}/${created.id}`, { secret_env: { DB_PASS: 'replaced-4' } }),
      200,
    );
    expect(await claimedEnv(profile.id)).toEqual({ DB_PASS: 'replaced-4' });

    const events = await auditOf(server, owner, 'profile_task', created.id);
    expect(events.map((e: any) => e.action)).toEqual(['created', 'modified', 'modified', 'modified']);
    expect(events[0].after.secret_env).toEqual({ DB_PASS: MASK, OTHER_KEY: MASK });
    expect(events[2].before.secret_env).toEqual({ DB_PASS: MASK, OTHER_KEY: MASK });
    expect(events[2].after.secret_env).toEqual({ DB_PASS: MASK, NEW_TOKEN: MASK });
    const text = JSON.stringify(events);
    for (const value of [SECRET, OTHER, 'fresh-value-3', 'replaced-4']) expect(text).not.toContain(value);
    const auditRows = await server.database.db.selectFrom('audit_events').selectAll().execute();
    expect(JSON.stringify(auditRows)).not.toContain(SECRET);

    // The run's plan keeps them sealed too, and shows them masked.
    const runs = await expectStatus(api('GET', '/api/v1/runs?limit=200'), 200);
    expect(runs.items[0].spec.tasks[0].job.secret_env).toEqual({ DB_PASS: MASK });
    const specs = await server.database.db.selectFrom('runs').select('spec').execute();
    expect(JSON.stringify(specs)).not.toContain(SECRET);
  });

  it('profiles: bulk replace keeps a secret given back masked with its task id, and refuses one without', async () => {
    const profile = await createProfile(server, owner, {
      tasks: [commandTask('deploy', 'true', { secret_env: { DB_PASS: SECRET } })],
    });
    const bulk = `/api/v1/profiles/${profile.id}/tasks/bulk`;
    const [read] = (await expectStatus(api('GET', `/api/v1/profiles/${profile.id}/tasks`), 200)).items;
    expect(read.secret_env).toEqual({ DB_PASS: MASK });
    const asRead = commandTask('deploy it', read.content, { secret_env: read.secret_env });

    const refused = await api('PUT', bulk, { tasks: [asRead] });
    expectError(refused, 422, 'unprocessable');
    expect(refused.body.error.details).toEqual([
      expect.objectContaining({ field: 'tasks.0.secret_env.DB_PASS' }),
    ]);
    const stranger = await api('PUT', bulk, { tasks: [{ ...asRead, id: profile.id }] });
    expectError(stranger, 422, 'unprocessable');
    expect(await claimedEnv(profile.id)).toEqual({ DB_PASS: SECRET });

    const replaced = await expectStatus(api('PUT', bulk, { tasks: [{ ...asRead, id: read.id }] }), 200);
    expect(replaced.items[0]).toMatchObject({ name: 'deploy it', secret_env: { DB_PASS: MASK } });
    expect(await claimedEnv(profile.id)).toEqual({ DB_PASS: SECRET });
  });

  it('templates: an instantiated profile keeps the sealed secret_env of the template task', async () => {
    const template = await createProfile(
      server,
      owner,
      { tasks: [commandTask('t', 'true', { secret_env: { AUTH_HEADER: SECRET } })] },
      'templates',
    );
    expect(template.tasks[0].secret_env).toEqual({ AUTH_HEADER: MASK });
    const copy = await expectStatus(api('POST', `/api/v1/templates/${template.id}/instantiate`, {}), 201);
    expect(copy.tasks[0].secret_env).toEqual({ AUTH_HEADER: MASK });
    expect(await claimedEnv(copy.id)).toEqual({ AUTH_HEADER: SECRET });
  });

  it('profiles: secret_env on a reboot or file_copy task, a reserved or doubled name, or a bad name is refused', async () => {
    const profile = await createProfile(server, owner);
    const tasks = `/api/v1/profiles/${profile.id}/tasks`;
    const secretEnv = { secret_env: { TOKEN: 'x' } };
    const refusals: [unknown, string][] = [
      [{ name: 'r', action: 'reboot', ...secretEnv }, 'secret_env'],
      [{ name: 'f', action: 'file_copy', destination: '/tmp/x', content: 'x', ...secretEnv }, 'secret_env'],
      [commandTask('c', 'true', { secret_env: { FP_PARAM_X: 'x' } }), 'secret_env.FP_PARAM_X'],
      [commandTask('c', 'true', { secret_env: { token: 'a', TOKEN: 'b' } }), 'secret_env.TOKEN'],
    ];
    for (const [body, field] of refusals) {
      const reply = await api('POST', tasks, body);
      expectError(reply, 422, 'unprocessable');
      expect(reply.body.error.details).toContainEqual(expect.objectContaining({ field }));
    }
    const bulk = await api('PUT', `${tasks}/bulk`, {
      tasks: [
        commandTask('ok', 'true'),
        commandTask('bad', 'true', { secret_env: { FP_FILE_CONTENT: 'x' } }),
      ],
    });
    expectError(bulk, 422, 'unprocessable');
    expect(bulk.body.error.details).toContainEqual(
      expect.objectContaining({ field: 'tasks.1.secret_env.FP_FILE_CONTENT' }),
    );
    for (const name of ['A=B;id', '', 'lower-case']) {
      const reply = await api('POST', tasks, commandTask('c', 'true', { secret_env: { [name]: 'x' } }));
      expectError(reply, 400, 'validation_failed');
      expect(reply.body.error.details).toContainEqual(expect.objectContaining({ field: 'body.secret_env' }));
    }
    expect((await expectStatus(api('GET', tasks), 200)).items).toEqual([]);
  });
});
