import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addMember,
  call,
  expectError,
  expectStatus,
  signup,
  uniqueName,
  type Session,
} from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';

/** Text that must never leave the server once stored. */
const secretText = (label: string) => `${label}-${randomBytes(12).toString('hex')}`;

describe.each(dialects)('assets on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let other: Session;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'assets');
    other = await signup(server, 'intruder');
  });
  afterAll(async () => {
    await server?.close();
  });

  /** Robots are the robots module's; a row is all an asset needs of one. */
  const addRobot = async (orgId: string) => {
    const id = crypto.randomUUID();
    const now = new Date().toISOString();
    await server.database.db
      .insertInto('robots')
      .values({
        id,
        org_id: orgId,
        name: uniqueName('robot'),
        description: '',
        kind: 'runner',
        agent_id: null,
        pools: '[]',
        credential_asset_id: null,
        status: 'offline',
        current_job_id: null,
        last_heartbeat_at: null,
        machine_key_hash: null,
        token_prefix: null,
        token_hash: null,
        created_by: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    return id;
  };
  const create = (body: object, as = owner) =>
    call(server, 'POST', '/api/v1/assets', { token: as.token, body });
  const setValue = (id: string, value: unknown, robotId?: string, as = owner) =>
    call(
      server,
      'PUT',
      robotId ? `/api/v1/assets/${id}/robots/${robotId}/value` : `/api/v1/assets/${id}/value`,
      {
        token: as.token,
        body: { value },
      },
    );
  const assets = () => server.app.services.assets;

  it('assets: each type takes a value of its shape and refuses others with 422 naming the field', async () => {
    const good: [string, unknown][] = [
      ['text', 'hello'],
      ['integer', 42],
      ['boolean', false],
      ['secret', 's3cret'],
      ['credential', { username: 'svc', password: 'pw' }],
    ];
    for (const [type, value] of good)
      await expectStatus(create({ name: uniqueName(type), type, value }), 201);

    const bad: [string, unknown, string[]][] = [
      ['text', 12, ['value']],
      ['integer', 1.5, ['value']],
      ['integer', '12', ['value']],
      ['boolean', 'true', ['value']],
      ['secret', '', ['value']],
      ['credential', 'user:pw', ['value']],
      ['credential', { username: '', password: 'x' }, ['value.username']],
      ['credential', { username: 'svc' }, ['value.password']],
    ];
    for (const [type, value, fields] of bad) {
      const reply = await create({ name: uniqueName(type), type, value });
      expectError(reply, 422, 'unprocessable');
      expect(
        reply.body.error.details.map((d: { field: string }) => d.field),
        `${type} ${JSON.stringify(value)}`,
      ).toEqual(fields);
    }
    // The value is checked against the asset's type when set later too.
    const flag = await expectStatus(create({ name: uniqueName('flag'), type: 'boolean' }), 201);
    expect(flag.has_value).toBe(false);
    expectError(await setValue(flag.id, 1), 422, 'unprocessable');
    expect((await expectStatus(setValue(flag.id, true), 200)).has_value).toBe(true);
    // Names: unique, and of a limited alphabet.
    expectError(await create({ name: flag.name, type: 'text' }), 409, 'conflict');
    expect((await create({ name: 'has space', type: 'text' })).status).toBe(400);
    expect((await create({ name: 'x'.repeat(101), type: 'text' })).status).toBe(400);
    expect((await create({ name: 'ok', type: 'password' })).status).toBe(400);
  });

  it("assets: a robot's own value wins over the global one, for that robot only; deleting it falls back", async () => {
    const robotA = await addRobot(owner.orgId);
    const robotB = await addRobot(owner.orgId);
    const name = uniqueName('db-login');
    const asset = await expectStatus(
      create({ name, type: 'credential', value: { username: 'global', password: 'global-pw' } }),
      201,
    );
    const detail = await expectStatus(
      setValue(asset.id, { username: 'robot-a', password: 'a-pw' }, robotA),
      200,
    );
    expect(detail.robot_values).toEqual([
      { robot_id: robotA, username: 'robot-a', updated_at: expect.any(String) },
    ]);
    expect(detail.robot_value_count).toBe(1);
    const count = await assetCount(name);
    expect(count).toBe(1);

    const open = (robotId: string | null) => assets().openForJob(owner.orgId, robotId, [name]);
    expect((await open(robotA))[name]).toEqual({
      type: 'credential',
      value: { username: 'robot-a', password: 'a-pw' },
    });
    expect((await open(robotB))[name]?.value).toEqual({ username: 'global', password: 'global-pw' });
    expect((await open(null))[name]?.value).toEqual({ username: 'global', password: 'global-pw' });

    await expectStatus(
      call(server, 'DELETE', `/api/v1/assets/${asset.id}/robots/${robotA}/value`, { token: owner.token }),
      204,
    );
    expect((await open(robotA))[name]?.value).toEqual({ username: 'global', password: 'global-pw' });
    expectError(
      await call(server, 'DELETE', `/api/v1/assets/${asset.id}/robots/${robotA}/value`, {
        token: owner.token,
      }),
      404,
      'not_found',
    );
  });

  async function assetCount(name: string): Promise<number> {
    const page = await expectStatus(
      call(server, 'GET', `/api/v1/assets?q=${encodeURIComponent(name)}`, { token: owner.token }),
      200,
    );
    return page.items.length;
  }

  it('assets: openForJob types each value and names every asset unknown or without a value (422)', async () => {
    const robot = await addRobot(owner.orgId);
    const port = await expectStatus(create({ name: uniqueName('port'), type: 'integer', value: 5432 }), 201);
    const debug = await expectStatus(
      create({ name: uniqueName('debug'), type: 'boolean', value: true }),
      201,
    );
    const robotOnly = await expectStatus(create({ name: uniqueName('robot-only'), type: 'text' }), 201);
    await expectStatus(setValue(robotOnly.id, 'mine', robot), 200);

    const opened = await assets().openForJob(owner.orgId, robot, [port.name, debug.name, robotOnly.name]);
    expect(opened).toEqual({
      [port.name]: { type: 'integer', value: 5432 },
      [debug.name]: { type: 'boolean', value: true },
      [robotOnly.name]: { type: 'text', value: 'mine' },
    });

    const missing = 'no-such-asset';
    const failure = await assets()
      .openForJob(owner.orgId, null, [port.name, robotOnly.name, missing])
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(failure).toMatchObject({ code: 'unprocessable' });
    const { message, details } = failure as { message: string; details: { field: string }[] };
    expect(message).toContain(missing);
    expect(message).toContain(robotOnly.name);
    expect(details.map((d) => d.field).sort()).toEqual([missing, robotOnly.name].sort());
    // Another organisation's names are unknown here.
    await expect(assets().openForJob(other.orgId, null, [port.name])).rejects.toMatchObject({
      code: 'unprocessable',
    });
  });

  it('assets: values are masked on every read, in the audit log and in the logs; openForRobot records a read', async () => {
    const robot = await addRobot(owner.orgId);
    const password = secretText('password');
    const robotPassword = secretText('robot-password');
    const token = secretText('token');
    const plain = secretText('plain');
    const credential = await expectStatus(
      create({ name: uniqueName('login'), type: 'credential', value: { username: 'svc-user', password } }),
      201,
    );
    await expectStatus(
      setValue(credential.id, { username: 'robot-user', password: robotPassword }, robot),
      200,
    );
    const secret = await expectStatus(
      create({ name: uniqueName('token'), type: 'secret', value: token }),
      201,
    );
    const text = await expectStatus(create({ name: uniqueName('note'), type: 'text', value: plain }), 201);
    await expectStatus(setValue(text.id, secretText('ignored')), 200);
    const plain2 = secretText('plain2');
    await expectStatus(setValue(text.id, plain2), 200);

    const actor = { type: 'robot' as const, id: robot, label: 'robot one' };
    const read = await assets().openForRobot(owner.orgId, robot, credential.name, { actor, declared: false });
    expect(read).toEqual({ type: 'credential', value: { username: 'robot-user', password: robotPassword } });

    const reads = [
      await call(server, 'GET', '/api/v1/assets?limit=200', { token: owner.token }),
      await call(server, 'GET', `/api/v1/assets/${credential.id}`, { token: owner.token }),
      await call(server, 'GET', `/api/v1/assets/${secret.id}`, { token: owner.token }),
      await call(server, 'GET', `/api/v1/assets/${text.id}`, { token: owner.token }),
      await call(server, 'GET', '/api/v1/audit?limit=200', { token: owner.token }),
    ];
    for (const reply of reads) expect(reply.status).toBe(200);
    const seen = JSON.stringify(reads.map((r) => r.body)) + JSON.stringify(server.logs);
    for (const value of [password, robotPassword, token, plain, plain2]) expect(seen).not.toContain(value);
    // What a read does show: that values exist, and a credential's username.
    const shown = reads[1]?.body;
    expect(shown).toMatchObject({
      has_value: true,
      global_value: { robot_id: null, username: 'svc-user' },
      robot_values: [{ robot_id: robot, username: 'robot-user' }],
    });
    expect(reads[2]?.body.global_value).toEqual({
      robot_id: null,
      username: null,
      updated_at: expect.any(String),
    });

    const audit = reads[4]?.body.items as any[];
    const readEvent = audit.find((e) => e.action === 'asset_read');
    expect(readEvent).toMatchObject({
      actor_type: 'robot',
      actor_id: robot,
      entity_type: 'asset',
      entity_id: credential.id,
      after: { name: credential.name, robot_id: robot },
    });
    const changes = audit.filter((e) => e.entity_id === text.id && e.action === 'modified');
    expect(changes).toHaveLength(2);
    expect(changes[0].after).toMatchObject({ value: 'changed', has_value: true, robot_id: null });
  });

  it('assets: every value is sealed at rest, whatever its type', async () => {
    const values: [string, unknown, string][] = [
      ['text', secretText('text'), ''],
      ['integer', 987654321, '987654321'],
      ['secret', secretText('secret'), ''],
      ['credential', { username: secretText('user'), password: secretText('pw') }, ''],
    ];
    for (const [type, value, needle] of values) {
      const asset = await expectStatus(create({ name: uniqueName(type), type, value }), 201);
      const rows = await server.database.db
        .selectFrom('asset_values')
        .selectAll()
        .where('asset_id', '=', asset.id)
        .execute();
      expect(rows).toHaveLength(1);
      const stored = rows[0]?.value ?? '';
      expect(stored.startsWith('v1:')).toBe(true);
      const plaintexts =
        typeof value === 'object' && value !== null ? Object.values(value) : [needle || String(value)];
      for (const plaintext of plaintexts) expect(stored).not.toContain(plaintext);
    }
  });

  it("assets: another organisation's asset or robot answers 404, and nothing of it changes", async () => {
    const robot = await addRobot(owner.orgId);
    const foreignRobot = await addRobot(other.orgId);
    const asset = await expectStatus(create({ name: uniqueName('mine'), type: 'secret', value: 'x' }), 201);
    const attempts = [
      call(server, 'GET', `/api/v1/assets/${asset.id}`, { token: other.token }),
      call(server, 'PATCH', `/api/v1/assets/${asset.id}`, {
        token: other.token,
        body: { description: 'pwned' },
      }),
      call(server, 'DELETE', `/api/v1/assets/${asset.id}`, { token: other.token }),
      setValue(asset.id, 'pwned', undefined, other),
      setValue(asset.id, 'pwned', robot, other),
      call(server, 'DELETE', `/api/v1/assets/${asset.id}/robots/${robot}/value`, { token: other.token }),
      // Our asset, their robot.
      setValue(asset.id, 'pwned', foreignRobot),
    ];
    for (const reply of await Promise.all(attempts)) expectError(reply, 404, 'not_found');
    const list = await expectStatus(
      call(server, 'GET', '/api/v1/assets?limit=200', { token: other.token }),
      200,
    );
    expect(list.items.map((a: { id: string }) => a.id)).not.toContain(asset.id);
    const value = await assets().openForJob(owner.orgId, null, [asset.name]);
    expect(value[asset.name]?.value).toBe('x');
    expect(
      (await expectStatus(call(server, 'GET', `/api/v1/assets/${asset.id}`, { token: owner.token }), 200))
        .description,
    ).toBe('');
  });

  it('assets: list filters by type and text and pages; rename; delete takes the values with it', async () => {
    const prefix = uniqueName('page');
    for (let i = 0; i < 3; i += 1)
      await expectStatus(create({ name: `${prefix}-${i}`, type: 'integer', value: i }), 201);
    await expectStatus(create({ name: `${prefix}-t`, type: 'text', description: 'the text one' }), 201);
    const first = await expectStatus(
      call(server, 'GET', `/api/v1/assets?q=${prefix}&type=integer&limit=2`, { token: owner.token }),
      200,
    );
    expect(first.items.map((a: { name: string }) => a.name)).toEqual([`${prefix}-2`, `${prefix}-1`]);
    const second = await expectStatus(
      call(server, 'GET', `/api/v1/assets?q=${prefix}&type=integer&limit=2&cursor=${first.next_cursor}`, {
        token: owner.token,
      }),
      200,
    );
    expect(second.items.map((a: { name: string }) => a.name)).toEqual([`${prefix}-0`]);
    expect(second.next_cursor).toBeNull();

    const robot = await addRobot(owner.orgId);
    const target = first.items[0];
    await expectStatus(setValue(target.id, 7, robot), 200);
    const renamed = await expectStatus(
      call(server, 'PATCH', `/api/v1/assets/${target.id}`, {
        token: owner.token,
        body: { name: `${prefix}-renamed` },
      }),
      200,
    );
    expect(renamed).toMatchObject({ name: `${prefix}-renamed`, type: 'integer', robot_value_count: 1 });
    await expectStatus(call(server, 'DELETE', `/api/v1/assets/${target.id}`, { token: owner.token }), 204);
    expectError(
      await call(server, 'GET', `/api/v1/assets/${target.id}`, { token: owner.token }),
      404,
      'not_found',
    );
    const left = await server.database.db
      .selectFrom('asset_values')
      .select('id')
      .where('asset_id', '=', target.id)
      .execute();
    expect(left).toEqual([]);
    const events = await expectStatus(
      call(server, 'GET', `/api/v1/audit?entity_type=asset&entity_id=${target.id}`, { token: owner.token }),
      200,
    );
    expect(events.items.map((e: { action: string }) => e.action)).toEqual([
      'deleted',
      'modified',
      'modified',
      'created',
    ]);
  });

  it('assets: a viewer reads but cannot create or set values (403)', async () => {
    const viewer = await addMember(server, owner, 'viewer');
    const asset = await expectStatus(create({ name: uniqueName('ro'), type: 'text', value: 'v' }), 201);
    await expectStatus(call(server, 'GET', `/api/v1/assets/${asset.id}`, { token: viewer.token }), 200);
    expectError(await create({ name: uniqueName('no'), type: 'text' }, viewer), 403, 'forbidden');
    expectError(await setValue(asset.id, 'w', undefined, viewer), 403, 'forbidden');
  });
});
