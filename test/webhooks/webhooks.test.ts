import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditOf, call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, type TestServer } from '../support/harness.js';
import { newDelivery } from '../../src/server/modules/webhooks/webhooks.enqueuer.js';
import { deliveriesRepo } from '../../src/server/modules/webhooks/deliveries.repo.js';

/** TEST-NET-1: a public address as the server judges it, never called in this file. */
const PUBLIC_URL = 'http://192.0.2.10/hooks/fleet';

describe.each(dialects)('webhooks: subscriptions on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let stranger: Session;

  beforeAll(async () => {
    // The default: no loopback, private or link-local address may be called.
    server = await startTestServer(dialect);
    [owner, stranger] = await Promise.all([signup(server, 'hooks'), signup(server, 'stranger')]);
  });
  afterAll(async () => {
    await server.close();
  });

  const as = (method: string, route: string, body?: unknown, session = owner) =>
    call(server, method, route, { token: session.token, ...(body === undefined ? {} : { body }) });
  const create = (body: Record<string, unknown>, session = owner) =>
    expectStatus(
      as('POST', '/api/v1/webhooks', { url: PUBLIC_URL, events: ['job.*'], ...body }, session),
      201,
    );
  const storedSecret = async (id: string) =>
    (
      await server.database.db
        .selectFrom('webhooks')
        .select('secret')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).secret;

  it('webhooks: create shows the secret once and stores it sealed; get, list, update, pause, resume, rotate, delete; audited', async () => {
    const created = await create({ description: 'CI bridge', events: ['job.finished', 'agent.*'] });
    expect(created.secret).toMatch(/^whsec_[\w-]{43}$/);
    expect(created.webhook).toEqual({
      id: expect.any(String),
      url: PUBLIC_URL,
      description: 'CI bridge',
      events: ['job.finished', 'agent.*'],
      enabled: true,
      status: 'active',
      consecutive_failures: 0,
      paused_at: null,
      paused_reason: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const id = created.webhook.id;
    const sealed = await storedSecret(id);
    expect(sealed).not.toContain(created.secret);
    expect(JSON.stringify(await expectStatus(as('GET', `/api/v1/webhooks/${id}`), 200))).not.toContain(
      'whsec_',
    );

    const other = await create({ events: ['*'] });
    const page1 = await expectStatus(as('GET', '/api/v1/webhooks?limit=1'), 200);
    expect(page1.items.map((w: any) => w.id)).toEqual([other.webhook.id]);
    const page2 = await expectStatus(as('GET', `/api/v1/webhooks?limit=1&cursor=${page1.next_cursor}`), 200);
    expect(page2.items.map((w: any) => w.id)).toEqual([id]);

    const paused = await expectStatus(as('POST', `/api/v1/webhooks/${id}/pause`), 200);
    expect(paused).toMatchObject({ status: 'paused', paused_reason: 'paused by hand' });
    expect((await expectStatus(as('GET', '/api/v1/webhooks?status=paused'), 200)).items).toHaveLength(1);
    const resumed = await expectStatus(as('POST', `/api/v1/webhooks/${id}/resume`), 200);
    expect(resumed).toMatchObject({ status: 'active', paused_at: null, paused_reason: null });
    await expectStatus(as('POST', `/api/v1/webhooks/${id}/pause`), 200);
    // an update resumes a paused subscription
    const updated = await expectStatus(
      as('PATCH', `/api/v1/webhooks/${id}`, { events: ['run.finished'], enabled: false }),
      200,
    );
    expect(updated).toMatchObject({ events: ['run.finished'], enabled: false, status: 'active' });

    const rotated = await expectStatus(as('POST', `/api/v1/webhooks/${id}/rotate-secret`), 200);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(created.secret);
    expect(await storedSecret(id)).not.toBe(sealed);

    await expectStatus(as('DELETE', `/api/v1/webhooks/${id}`), 204);
    expectError(await as('GET', `/api/v1/webhooks/${id}`), 404, 'not_found');

    const audit = await auditOf(server, owner, 'webhook', id);
    expect(audit.map((e) => e.action)).toEqual([
      'created',
      'status_changed',
      'status_changed',
      'status_changed',
      'modified',
      'modified',
      'deleted',
    ]);
    expect(JSON.stringify(audit)).not.toContain('whsec_');
  });

  it('webhooks: loopback, private and link-local URLs and unknown events are refused with 422 per field', async () => {
    const refused = async (body: Record<string, unknown>, fields: string[]) => {
      const reply = await as('POST', '/api/v1/webhooks', {
        url: PUBLIC_URL,
        events: ['job.finished'],
        ...body,
      });
      expectError(reply, 422, 'unprocessable');
      expect(reply.body.error.details.map((d: { field: string }) => d.field).sort()).toEqual(fields);
      return reply.body.error.details.map((d: { message: string }) => d.message).join(' ');
    };
    expect(await refused({ url: 'http://127.0.0.1:9/hook' }, ['url'])).toContain('loopback');
    expect(await refused({ url: 'http://[::1]/hook' }, ['url'])).toContain('loopback');
    expect(await refused({ url: 'http://10.1.2.3/hook' }, ['url'])).toContain('private');
    expect(await refused({ url: 'http://169.254.169.254/latest' }, ['url'])).toContain('link-local');
    expect(await refused({ url: 'ftp://192.0.2.10/x' }, ['url'])).toContain('http');
    expect(await refused({ events: ['job.started', 'agent.*'] }, ['events'])).toContain('job.started');
    expect(await refused({ url: 'http://10.0.0.1/', events: ['nope.*'] }, ['events', 'url'])).toContain(
      'nope.*',
    );
    const hook = await create({});
    expectError(
      await as('PATCH', `/api/v1/webhooks/${hook.webhook.id}`, { url: 'http://192.168.1.1/' }),
      422,
      'unprocessable',
    );
    expect(await expectStatus(as('GET', `/api/v1/webhooks/${hook.webhook.id}`), 200)).toMatchObject({
      url: PUBLIC_URL,
    });
    const types = await expectStatus(as('GET', '/api/v1/webhooks/event-types'), 200);
    expect(types.items).toEqual([
      'job.finished',
      'run.finished',
      'agent.online',
      'agent.offline',
      'alert.fired',
      'alert.resolved',
      'deployment.finished',
    ]);
  });

  it("webhooks: another organisation's subscriptions and deliveries answer 404", async () => {
    const hook = await create({ enabled: false });
    const id = hook.webhook.id;
    const ping = await expectStatus(as('POST', `/api/v1/webhooks/${id}/test`), 202);
    expect(ping).toMatchObject({ event: 'webhook.ping', status: 'pending', webhook_id: id });
    const theirs = await create({}, stranger);
    for (const [method, route, body] of [
      ['GET', `/api/v1/webhooks/${id}`],
      ['PATCH', `/api/v1/webhooks/${id}`, { description: 'mine now' }],
      ['DELETE', `/api/v1/webhooks/${id}`],
      ['POST', `/api/v1/webhooks/${id}/rotate-secret`],
      ['POST', `/api/v1/webhooks/${id}/pause`],
      ['POST', `/api/v1/webhooks/${id}/resume`],
      ['POST', `/api/v1/webhooks/${id}/test`],
      ['GET', `/api/v1/webhooks/${id}/deliveries`],
      ['GET', `/api/v1/webhooks/${id}/deliveries/${ping.id}`],
      ['POST', `/api/v1/webhooks/${id}/deliveries/${ping.id}/redeliver`],
      // their own subscription with our delivery
      ['GET', `/api/v1/webhooks/${theirs.webhook.id}/deliveries/${ping.id}`],
      ['POST', `/api/v1/webhooks/${theirs.webhook.id}/deliveries/${ping.id}/redeliver`],
    ] as [string, string, unknown?][])
      expectError(await as(method, route, body, stranger), 404, 'not_found');
    expect((await expectStatus(as('GET', '/api/v1/webhooks'), 200)).items.map((w: any) => w.id)).toContain(
      id,
    );
    expect(
      (await expectStatus(as('GET', '/api/v1/webhooks', undefined, stranger), 200)).items.map(
        (w: any) => w.id,
      ),
    ).toEqual([theirs.webhook.id]);
  });

  it('webhooks: purgeDeliveriesBefore deletes settled deliveries older than the date, with their attempts, and keeps pending ones', async () => {
    const hook = await create({ enabled: false });
    const org = { id: hook.webhook.id, org_id: owner.orgId };
    const old = '2026-01-01T00:00:00.000Z';
    const recent = '2026-06-01T00:00:00.000Z';
    const rows = [
      { ...newDelivery(org, 'job.finished', null, '{}', old), status: 'delivered' },
      { ...newDelivery(org, 'job.finished', null, '{}', old), status: 'failed' },
      {
        ...newDelivery(org, 'job.finished', null, '{}', old),
        status: 'pending',
        next_attempt_at: '2999-01-01T00:00:00.000Z',
      },
      { ...newDelivery(org, 'job.finished', null, '{}', recent), status: 'delivered' },
    ];
    const db = server.database.db;
    await deliveriesRepo.insertMany(db, rows);
    await deliveriesRepo.insertAttempt(db, {
      id: rows[0]!.id,
      delivery_id: rows[0]!.id,
      attempt: 1,
      status_code: 200,
      response_excerpt: 'ok',
      duration_ms: 3,
      error: null,
      created_at: old,
    });
    expect(await server.app.services.webhooks.purgeDeliveriesBefore(new Date('2026-03-01T00:00:00Z'))).toBe(
      2,
    );
    const left = await db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('webhook_id', '=', hook.webhook.id)
      .execute();
    expect(left.map((r) => r.id).sort()).toEqual([rows[2]!.id, rows[3]!.id].sort());
    expect(
      await db.selectFrom('webhook_attempts').select('id').where('delivery_id', '=', rows[0]!.id).execute(),
    ).toEqual([]);
  });
});
