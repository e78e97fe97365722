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
import type { FleetEvent } from '../../src/server/realtime/events.js';

const MASK = '********';

function serviceBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'web frontend',
    script: { interpreter: 'bash', content: 'echo deploy\n' },
    steps: ['fetch', 'build', 'switch'],
    runs_on: { type: 'server' },
    ...overrides,
  };
}

describe.each(dialects)('services: definitions on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let stranger: Session;
  const events: FleetEvent[] = [];

  beforeAll(async () => {
    server = await startTestServer(dialect);
    owner = await signup(server, 'services');
    stranger = await signup(server, 'stranger');
    server.app.services.bus.subscribe((event) => {
      if (event.type === 'service.changed') events.push(event);
    });
  });
  afterAll(async () => {
    await server.close();
  });

  const as = (method: string, route: string, body?: unknown, session = owner) =>
    call(server, method, route, { token: session.token, ...(body === undefined ? {} : { body }) });
  const create = (body: unknown, session = owner) => as('POST', '/api/v1/services', body, session);
  const fieldsOf = (reply: { body: any }) =>
    reply.body.error.details.map((d: { field: string }) => d.field).sort();

  it('services: create with defaults, get, list with filters, update, delete; audited and published', async () => {
    const agentId = await createAgent(server, owner);
    const created = await expectStatus(
      create(
        serviceBody({
          name: '  api backend  ',
          description: 'the API',
          runs_on: { type: 'agent', agent_id: agentId },
          config_schema: { type: 'object', properties: { url: { type: 'string' } } },
        }),
      ),
      201,
    );
    expect(created).toEqual({
      id: expect.any(String),
      name: 'api backend',
      description: 'the API',
      script: { interpreter: 'bash', content: 'echo deploy\n' },
      steps: ['fetch', 'build', 'switch'],
      runs_on: { type: 'agent', agent_id: agentId },
      rollout: {
        batch_size: null,
        batch_percent: null,
        canary: 0,
        pause_seconds: 0,
        manual_continue: false,
        max_failures: null,
        max_failure_percent: null,
      },
      env: {},
      secret_env: {},
      config_schema: { type: 'object', properties: { url: { type: 'string' } } },
      timeout_seconds: 3600,
      source: 'api',
      folder: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    expect(await expectStatus(as('GET', `/api/v1/services/${created.id}`), 200)).toEqual(created);

    const other = await expectStatus(
      create(
        serviceBody({
          name: 'workers',
          runs_on: { type: 'selector', selector: { tags: ['web'], os_type: 'ubuntu' } },
          rollout: { batch_percent: 25, canary: 1, pause_seconds: 30, max_failures: 2 },
          timeout_seconds: 600,
        }),
      ),
      201,
    );
    expect(other.rollout).toEqual({
      batch_size: null,
      batch_percent: 25,
      canary: 1,
      pause_seconds: 30,
      manual_continue: false,
      max_failures: 2,
      max_failure_percent: null,
    });
    const bySearch = await expectStatus(as('GET', '/api/v1/services?search=BACKEND'), 200);
    expect(bySearch.items.map((s: { id: string }) => s.id)).toEqual([created.id]);
    const bySource = await expectStatus(as('GET', '/api/v1/services?source=api&limit=1'), 200);
    expect(bySource.items).toHaveLength(1);
    expect(bySource.next_cursor).not.toBeNull();
    const none = await expectStatus(as('GET', '/api/v1/services?source=directory'), 200);
    expect(none.items).toEqual([]);
    // Another organisation sees none of it.
    expectError(await as('GET', `/api/v1/services/${created.id}`, undefined, stranger), 404, 'not_found');
    expect((await expectStatus(as('GET', '/api/v1/services', undefined, stranger), 200)).items).toEqual([]);

    const updated = await expectStatus(
      as('PATCH', `/api/v1/services/${created.id}`, {
        description: 'the new API',
        steps: ['fetch', 'migrate', 'switch'],
        rollout: { batch_size: 5 },
      }),
      200,
    );
    expect(updated).toMatchObject({
      name: 'api backend',
      description: 'the new API',
      steps: ['fetch', 'migrate', 'switch'],
      rollout: { batch_size: 5, batch_percent: null, canary: 0 },
      script: created.script,
    });

    await expectStatus(as('DELETE', `/api/v1/services/${created.id}`), 204);
    expectError(await as('GET', `/api/v1/services/${created.id}`), 404, 'not_found');
    expectError(await as('DELETE', `/api/v1/services/${created.id}`), 404, 'not_found');

    const audit = await auditOf(server, owner, 'service', created.id);
    expect(audit.map((e) => e.action)).toEqual(['created', 'modified', 'deleted']);
    expect(audit[1].before.description).toBe('the API');
    expect(audit[1].after.description).toBe('the new API');
    expect(events.filter((e) => 'service_id' in e && e.service_id === created.id)).toEqual([
      { type: 'service.changed', org_id: owner.orgId, service_id: created.id, action: 'created' },
      { type: 'service.changed', org_id: owner.orgId, service_id: created.id, action: 'updated' },
      { type: 'service.changed', org_id: owner.orgId, service_id: created.id, action: 'deleted' },
    ]);
  });

  it('services: a duplicate name is 409, on create and on rename', async () => {
    await expectStatus(create(serviceBody({ name: 'dup' })), 201);
    const again = await create(serviceBody({ name: ' dup ' }));
    expectError(again, 409, 'conflict');
    expect(again.body.error.details).toEqual([{ field: 'name', message: expect.any(String) }]);
    const second = await expectStatus(create(serviceBody({ name: 'dup two' })), 201);
    expectError(await as('PATCH', `/api/v1/services/${second.id}`, { name: 'dup' }), 409, 'conflict');
    // The same name in another organisation is fine.
    await expectStatus(create(serviceBody({ name: 'dup' }), stranger), 201);
  });

  it('services: the service rules are 422 with a detail per field', async () => {
    const foreignAgent = await createAgent(server, stranger);
    const foreignGroup = await expectStatus(
      as('POST', '/api/v1/agent-groups', { name: 'theirs' }, stranger),
      201,
    );
    const reply = await create(
      serviceBody({
        name: 'broken',
        runs_on: { type: 'agent', agent_id: foreignAgent },
        rollout: { batch_size: 2, batch_percent: 10 },
        config_schema: { type: 'object', properties: { a: { type: 'no-such-type' } } },
        env: { FP_PARAM_X: '1', Path: 'a' },
        secret_env: { PATH: 'b' },
      }),
    );
    expectError(reply, 422, 'unprocessable');
    expect(fieldsOf(reply)).toEqual([
      'config_schema',
      'env.FP_PARAM_X',
      'rollout.batch_percent',
      'runs_on.agent_id',
      'secret_env.PATH',
    ]);
    const group = await create(
      serviceBody({ name: 'broken', runs_on: { type: 'selector', selector: { group_id: foreignGroup.id } } }),
    );
    expectError(group, 422, 'unprocessable');
    expect(fieldsOf(group)).toEqual(['runs_on.selector.group_id']);
    const ownGroup = await expectStatus(as('POST', '/api/v1/agent-groups', { name: 'ours' }), 201);
    await expectStatus(
      create(
        serviceBody({
          name: 'grouped',
          runs_on: { type: 'selector', selector: { group_id: ownGroup.id } },
        }),
      ),
      201,
    );
    // A rollout on a server (or agent) run is allowed, and ignored by deployments.
    await expectStatus(
      create(serviceBody({ name: 'single', rollout: { batch_size: 3 }, runs_on: { type: 'server' } })),
      201,
    );
    // The same rules on a change.
    const made = await expectStatus(create(serviceBody({ name: 'to break' })), 201);
    const patched = await as('PATCH', `/api/v1/services/${made.id}`, { config_schema: { type: 12 } });
    expectError(patched, 422, 'unprocessable');
    expect(fieldsOf(patched)).toEqual(['config_schema']);
    // The schema's own rules are 400: a blank name, duplicate steps, control characters, a bad runs_on.
    expectError(await create(serviceBody({ name: 'a\u0001b' })), 400, 'validation_failed');
    expectError(await create(serviceBody({ steps: ['a', 'a'] })), 400, 'validation_failed');
    expectError(await create(serviceBody({ runs_on: { type: 'agent' } })), 400, 'validation_failed');
    expectError(
      await create(serviceBody({ script: { interpreter: 'cobol', content: 'x' } })),
      400,
      'validation_failed',
    );
    // 256 KiB is counted in bytes: 100,000 three-byte characters are too many.
    const large = await create(
      serviceBody({ script: { interpreter: 'bash', content: '€'.repeat(100_000) } }),
    );
    expectError(large, 422, 'unprocessable');
    expect(fieldsOf(large)).toEqual(['script.content']);
    const blank = await create(serviceBody({ name: '   ' }));
    expectError(blank, 422, 'unprocessable');
    expect(fieldsOf(blank)).toEqual(['name']);
  });

  it('services: secrets are sealed, shown masked, kept when sent back masked, and masked in the audit', async () => {
    const created = await expectStatus(
      create(
        serviceBody({
          name: 'with secrets',
          env: { REGION: 'eu-west', DB_PASSWORD: 'hunter2' },
          secret_env: { DEPLOY_KEY: 'k-123' },
        }),
      ),
      201,
    );
    expect(created.env).toEqual({ REGION: 'eu-west', DB_PASSWORD: MASK });
    expect(created.secret_env).toEqual({ DEPLOY_KEY: MASK });
    const stored = await server.app.services.deployServices.resolveForDeployment(owner.orgId, created.id);
    expect(stored.env.REGION).toBe('eu-west');
    expect(stored.env.DB_PASSWORD).toMatch(/^v1:/);
    expect(stored.secret_env.DEPLOY_KEY).toMatch(/^v1:/);
    const row = await server.database.db
      .selectFrom('services')
      .select(['env', 'secret_env'])
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(row.env + row.secret_env).not.toMatch(/hunter2|k-123/);

    // Sent back as read: the stored (sealed) values stay.
    await expectStatus(
      as('PATCH', `/api/v1/services/${created.id}`, { env: { ...created.env, REGION: 'us-east' } }),
      200,
    );
    const after = await server.app.services.deployServices.resolveForDeployment(owner.orgId, created.id);
    expect(after.env.REGION).toBe('us-east');
    expect(after.env.DB_PASSWORD).toBe(stored.env.DB_PASSWORD);
    expect(await server.app.services.deployServices.getByName(owner.orgId, 'with secrets')).toMatchObject({
      id: created.id,
    });

    const audit = await auditOf(server, owner, 'service', created.id);
    expect(JSON.stringify(audit)).not.toMatch(/hunter2|k-123|v1:/);
    expect(audit[0].after.secret_env).toEqual({ DEPLOY_KEY: MASK });
  });

  it('services: a viewer reads but cannot change services', async () => {
    const viewer = await addMember(server, owner, 'viewer');
    await expectStatus(as('GET', '/api/v1/services', undefined, viewer), 200);
    expectError(await create(serviceBody({ name: 'viewer made' }), viewer), 403, 'forbidden');
  });
});
