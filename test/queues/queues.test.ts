import { processBody, uploadPackage } from '../processes/support.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, expectError, expectStatus, signup, type Session } from '../support/client.js';
import { dialects, HAND_DRIVEN, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import { addItem, claim, createQueue, itemAction } from './support.js';

const START = new Date('2030-03-01T08:00:00.000Z');

describe.each(dialects)('queues: queues and items over HTTP on %s', (dialect) => {
  let server: TestServer;
  let clock: TestClock;
  let owner: Session;
  let stranger: Session;
  beforeAll(async () => {
    clock = new TestClock(new Date(START));
    server = await startTestServer(dialect, { clock, config: HAND_DRIVEN });
    owner = await signup(server, 'queuer');
    stranger = await signup(server, 'stranger');
  });
  afterAll(async () => {
    await server.close();
  });

  const get = (route: string, session = owner) => call(server, 'GET', route, { token: session.token });

  it('queues: create with defaults, read, list with filters and pages, change, conflicts', async () => {
    const queue = await createQueue(server, owner, { name: 'invoices', description: 'supplier invoices' });
    expect(queue).toMatchObject({
      name: 'invoices',
      description: 'supplier invoices',
      max_retries: 0,
      deadline_minutes: null,
      sla_minutes: null,
      unique_references: false,
      active: true,
      item_timeout_seconds: 3600,
      trigger_process_id: null,
      trigger_max_jobs: 1,
      created_by: owner.userId,
    });
    expect(await expectStatus(get(`/api/v1/queues/${queue.id}`), 200)).toEqual(queue);
    const other = await createQueue(server, owner, { name: 'payroll', active: false, max_retries: 3 });

    expectError(
      await call(server, 'POST', '/api/v1/queues', { token: owner.token, body: { name: 'invoices' } }),
      409,
      'conflict',
    );
    for (const body of [
      { max_retries: 21 },
      { trigger_max_jobs: 0 },
      { trigger_max_jobs: 101 },
      { trigger_process_id: 'nope' },
    ])
      expectError(
        await call(server, 'POST', '/api/v1/queues', { token: owner.token, body: { name: 'bad', ...body } }),
        400,
        'validation_failed',
      );

    const byText = await expectStatus(get('/api/v1/queues?q=SUPPLIER'), 200);
    expect(byText.items.map((q: any) => q.id)).toEqual([queue.id]);
    const inactive = await expectStatus(get('/api/v1/queues?active=false'), 200);
    expect(inactive.items.map((q: any) => q.id)).toEqual([other.id]);
    const first = await expectStatus(get('/api/v1/queues?limit=1'), 200);
    expect(first.items.map((q: any) => q.id)).toEqual([other.id]);
    const second = await expectStatus(get(`/api/v1/queues?limit=1&cursor=${first.next_cursor}`), 200);
    expect(second.items.map((q: any) => q.id)).toEqual([queue.id]);

    const pkg = await uploadPackage(server, owner, 'queue-bot', '1.0.0');
    const { id: processId } = await expectStatus(
      call(server, 'POST', '/api/v1/processes', { token: owner.token, body: processBody(pkg.name) }),
      201,
    );
    // a trigger names a process of the organisation
    expectError(
      await call(server, 'PATCH', `/api/v1/queues/${queue.id}`, {
        token: owner.token,
        body: { trigger_process_id: '0190a4e0-0000-7000-8000-000000000001' },
      }),
      422,
      'unprocessable',
    );
    const changed = await expectStatus(
      call(server, 'PATCH', `/api/v1/queues/${queue.id}`, {
        token: owner.token,
        body: {
          sla_minutes: 30,
          trigger_process_id: processId,
          trigger_max_jobs: 4,
          unique_references: true,
        },
      }),
      200,
    );
    expect(changed).toMatchObject({
      sla_minutes: 30,
      trigger_process_id: processId,
      trigger_max_jobs: 4,
      unique_references: true,
    });
    expect(await expectStatus(get(`/api/v1/queues/${queue.id}`), 200)).toEqual(changed);
    expectError(
      await call(server, 'PATCH', `/api/v1/queues/${queue.id}`, {
        token: owner.token,
        body: { name: 'payroll' },
      }),
      409,
      'conflict',
    );
    // Another organisation's queue does not exist for this one.
    expectError(await get(`/api/v1/queues/${queue.id}`, stranger), 404, 'not_found');
    expectError(await claim(server, stranger, queue.id), 404, 'not_found');
    expect((await expectStatus(get('/api/v1/queues', stranger), 200)).items).toEqual([]);
  });

  it('queues: deleting a queue with waiting items is 409 unless forced, and takes its items', async () => {
    const queue = await createQueue(server, owner);
    const item = await addItem(server, owner, queue.id);
    expectError(
      await call(server, 'DELETE', `/api/v1/queues/${queue.id}`, { token: owner.token }),
      409,
      'conflict',
    );
    await expectStatus(
      call(server, 'DELETE', `/api/v1/queues/${queue.id}?force=true`, { token: owner.token }),
      204,
    );
    expectError(await get(`/api/v1/queues/${queue.id}`), 404, 'not_found');
    expectError(await get(`/api/v1/queue-items/${item.id}`), 404, 'not_found');

    const done = await createQueue(server, owner);
    const finished = await addItem(server, owner, done.id);
    await expectStatus(claim(server, owner, done.id), 200);
    await expectStatus(itemAction(server, owner, finished.id, 'complete', { output: { ok: true } }), 200);
    await expectStatus(call(server, 'DELETE', `/api/v1/queues/${done.id}`, { token: owner.token }), 204);
  });

  it('queues: items are added, read, listed by status, priority, reference and robot', async () => {
    const queue = await createQueue(server, owner, { deadline_minutes: 60 });
    const item = await addItem(server, owner, queue.id, {
      content: { invoice: 'A-1', lines: [1, 2] },
      priority: 'high',
      reference: 'A-1',
    });
    expect(item).toMatchObject({
      queue_id: queue.id,
      status: 'new',
      priority: 'high',
      content: { invoice: 'A-1', lines: [1, 2] },
      reference: 'A-1',
      progress: null,
      output: null,
      error: null,
      robot_id: null,
      retry_of: null,
      retry_number: 0,
      defer_until: null,
      deadline: new Date(clock.now().getTime() + 3_600_000).toISOString(),
      started_at: null,
      finished_at: null,
    });
    expect(await expectStatus(get(`/api/v1/queue-items/${item.id}`), 200)).toEqual(item);
    const low = await addItem(server, owner, queue.id, {
      priority: 'low',
      reference: 'B-2',
      deadline: '2031-01-01T00:00:00Z',
    });
    expect(low.deadline).toBe('2031-01-01T00:00:00.000Z');

    const list = (query: string) =>
      expectStatus(get(`/api/v1/queues/${queue.id}/items?${query}`), 200).then((page) =>
        page.items.map((i: any) => i.id),
      );
    expect(await list('')).toEqual([low.id, item.id]);
    expect(await list('priority=high')).toEqual([item.id]);
    expect(await list('reference=B-2')).toEqual([low.id]);
    expect(await list('status=new')).toEqual([low.id, item.id]);
    await expectStatus(claim(server, owner, queue.id), 200);
    expect(await list('status=in_progress')).toEqual([item.id]);
    expect(await list('robot_id=0190a4e0-0000-7000-8000-000000000009')).toEqual([]);
    expectError(await get(`/api/v1/queues/${queue.id}/items`, stranger), 404, 'not_found');
    expectError(await get(`/api/v1/queue-items/${item.id}`, stranger), 404, 'not_found');

    const huge = { blob: 'x'.repeat(256 * 1024) };
    expectError(
      await call(server, 'POST', `/api/v1/queues/${queue.id}/items`, {
        token: owner.token,
        body: { content: huge },
      }),
      413,
      'payload_too_large',
    );
    expectError(
      await call(server, 'POST', `/api/v1/queues/${queue.id}/items`, {
        token: owner.token,
        body: { content: [1] },
      }),
      400,
      'validation_failed',
    );
  });

  it('queues: an inactive queue refuses new items and claims with 409', async () => {
    const queue = await createQueue(server, owner);
    await addItem(server, owner, queue.id);
    await expectStatus(
      call(server, 'PATCH', `/api/v1/queues/${queue.id}`, { token: owner.token, body: { active: false } }),
      200,
    );
    expectError(
      await call(server, 'POST', `/api/v1/queues/${queue.id}/items`, {
        token: owner.token,
        body: { content: {} },
      }),
      409,
      'conflict',
    );
    expectError(
      await call(server, 'POST', `/api/v1/queues/${queue.id}/items/bulk`, {
        token: owner.token,
        body: { items: [{ content: {} }] },
      }),
      409,
      'conflict',
    );
    expectError(await claim(server, owner, queue.id), 409, 'conflict');
  });

  it('queues: unique references are refused with 409 naming them; a deleted item gives its reference up', async () => {
    const queue = await createQueue(server, owner, { unique_references: true });
    const first = await addItem(server, owner, queue.id, { reference: 'INV-1' });
    const again = await call(server, 'POST', `/api/v1/queues/${queue.id}/items`, {
      token: owner.token,
      body: { content: {}, reference: 'INV-1' },
    });
    expectError(again, 409, 'conflict');
    expect(again.body.error.details).toEqual([expect.objectContaining({ reference: 'INV-1' })]);
    // Without a reference, or in a queue that does not ask, the same is fine.
    await addItem(server, owner, queue.id);
    await addItem(server, owner, queue.id);
    const loose = await createQueue(server, owner);
    await addItem(server, owner, loose.id, { reference: 'INV-1' });
    await addItem(server, owner, loose.id, { reference: 'INV-1' });
    // Asked for later, unique references cover the items added before.
    await expectStatus(
      call(server, 'PATCH', `/api/v1/queues/${loose.id}`, {
        token: owner.token,
        body: { unique_references: true },
      }),
      200,
    );
    expectError(
      await call(server, 'POST', `/api/v1/queues/${loose.id}/items`, {
        token: owner.token,
        body: { content: {}, reference: 'INV-1' },
      }),
      409,
      'conflict',
    );

    await expectStatus(
      call(server, 'DELETE', `/api/v1/queue-items/${first.id}`, { token: owner.token }),
      204,
    );
    expect((await expectStatus(get(`/api/v1/queue-items/${first.id}`), 200)).status).toBe('deleted');
    await addItem(server, owner, queue.id, { reference: 'INV-1' });
  });

  it('queues: bulk adds all or nothing, refuses repeated and taken references and more than 10,000 items', async () => {
    const queue = await createQueue(server, owner, { unique_references: true });
    const bulk = (items: unknown[]) =>
      call(server, 'POST', `/api/v1/queues/${queue.id}/items/bulk`, { token: owner.token, body: { items } });
    const count = async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: any = await expectStatus(
          get(`/api/v1/queues/${queue.id}/items?limit=200${cursor ? `&cursor=${cursor}` : ''}`),
          200,
        );
        seen.push(...page.items.map((i: any) => i.id));
        cursor = page.next_cursor;
      } while (cursor);
      return seen.length;
    };

    const many = Array.from({ length: 10_000 }, (_, i) => ({ content: { i }, reference: `R-${i}` }));
    const added = await expectStatus(bulk(many), 201);
    expect(added.count).toBe(10_000);
    expect(added.first_id < added.last_id).toBe(true);
    expect((await expectStatus(get(`/api/v1/queue-items/${added.last_id}`), 200)).content).toEqual({
      i: 9999,
    });
    expect(await count()).toBe(10_000);

    const tooMany = await bulk(Array.from({ length: 10_001 }, (_, i) => ({ content: { i } })));
    expectError(tooMany, 413, 'payload_too_large');

    const repeated = await bulk([
      { content: {}, reference: 'NEW-1' },
      { content: {}, reference: 'NEW-2' },
      { content: {}, reference: 'NEW-1' },
    ]);
    expectError(repeated, 422, 'unprocessable');
    expect(repeated.body.error.details.map((d: any) => d.reference)).toEqual(['NEW-1']);

    const taken = await bulk([
      { content: {}, reference: 'NEW-3' },
      { content: {}, reference: 'R-5' },
      { content: {}, reference: 'R-7' },
    ]);
    expectError(taken, 409, 'conflict');
    expect(taken.body.error.details.map((d: any) => d.reference).sort()).toEqual(['R-5', 'R-7']);
    expect(await count()).toBe(10_000);
    expect((await expectStatus(get(`/api/v1/queues/${queue.id}/items?reference=NEW-3`), 200)).items).toEqual(
      [],
    );
  });

  it('queues: claims take high before normal before low, oldest first, deferred items skipped until due', async () => {
    const queue = await createQueue(server, owner);
    const low = await addItem(server, owner, queue.id, { priority: 'low' });
    const normal1 = await addItem(server, owner, queue.id);
    const deferred = await addItem(server, owner, queue.id, {
      priority: 'high',
      defer_until: new Date(clock.now().getTime() + 60_000).toISOString(),
    });
    const high = await addItem(server, owner, queue.id, { priority: 'high' });
    const normal2 = await addItem(server, owner, queue.id);

    const order: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const claimed = await expectStatus(claim(server, owner, queue.id), 200);
      expect(claimed).toMatchObject({
        status: 'in_progress',
        robot_id: null,
        started_at: clock.now().toISOString(),
      });
      order.push(claimed.id);
    }
    expect(order).toEqual([high.id, normal1.id, normal2.id, low.id]);
    const none = await claim(server, owner, queue.id);
    expect(none.status).toBe(204);
    clock.advance(60_000);
    expect((await expectStatus(claim(server, owner, queue.id), 200)).id).toBe(deferred.id);
    expect((await claim(server, owner, queue.id)).status).toBe(204);
  });

  it('queues: complete, repeat it, fail with a business error, report progress; only items in progress', async () => {
    const queue = await createQueue(server, owner, { max_retries: 3 });
    const item = await addItem(server, owner, queue.id);
    expectError(await itemAction(server, owner, item.id, 'complete', {}), 409, 'conflict');
    expectError(await itemAction(server, owner, item.id, 'progress', { progress: 'half' }), 409, 'conflict');
    await expectStatus(claim(server, owner, queue.id), 200);
    const progressed = await expectStatus(
      itemAction(server, owner, item.id, 'progress', { progress: 'page 3 of 4' }),
      200,
    );
    expect(progressed.progress).toBe('page 3 of 4');
    clock.advance(1500);
    const done = await expectStatus(
      itemAction(server, owner, item.id, 'complete', { output: { total: 42 } }),
      200,
    );
    expect(done).toMatchObject({
      status: 'successful',
      output: { total: 42 },
      finished_at: clock.now().toISOString(),
    });
    expect(
      await expectStatus(itemAction(server, owner, item.id, 'complete', { output: { total: 42 } }), 200),
    ).toEqual(done);
    expectError(
      await itemAction(server, owner, item.id, 'complete', { output: { total: 43 } }),
      409,
      'conflict',
    );
    expectError(
      await itemAction(server, owner, item.id, 'fail', { error: { type: 'business', reason: 'late' } }),
      409,
      'conflict',
    );
    expectError(
      await call(server, 'DELETE', `/api/v1/queue-items/${item.id}`, { token: owner.token }),
      409,
      'conflict',
    );

    const bad = await addItem(server, owner, queue.id);
    await expectStatus(claim(server, owner, queue.id), 200);
    const business = { type: 'business', reason: 'the invoice has no supplier' };
    const failed = await expectStatus(itemAction(server, owner, bad.id, 'fail', { error: business }), 200);
    expect(failed).toEqual({
      item: expect.objectContaining({ status: 'failed', error: business }),
      retry: null,
    });
    expect(await expectStatus(itemAction(server, owner, bad.id, 'fail', { error: business }), 200)).toEqual(
      failed,
    );
    expectError(
      await itemAction(server, owner, bad.id, 'fail', { error: { type: 'business', reason: 'other' } }),
      409,
      'conflict',
    );
    expect((await claim(server, owner, queue.id)).status).toBe(204);
    await expectStatus(call(server, 'DELETE', `/api/v1/queue-items/${bad.id}`, { token: owner.token }), 204);
    expectError(
      await itemAction(server, owner, '0190a4e0-0000-7000-8000-00000000000f', 'complete', {}),
      404,
      'not_found',
    );
  });

  it('queues: an application error retries the item up to max_retries, then fails it', async () => {
    const queue = await createQueue(server, owner, { max_retries: 2, unique_references: true });
    const original = await addItem(server, owner, queue.id, {
      content: { doc: 7 },
      priority: 'high',
      reference: 'DOC-7',
    });
    const application = { type: 'application', reason: 'the portal timed out' };
    let current = original;
    for (let attempt = 1; attempt <= 2; attempt += 1) {
      expect((await expectStatus(claim(server, owner, queue.id), 200)).id).toBe(current.id);
      const failed = await expectStatus(
        itemAction(server, owner, current.id, 'fail', { error: application }),
        200,
      );
      expect(failed.item).toMatchObject({ id: current.id, status: 'retried', error: application });
      expect(failed.retry).toMatchObject({
        status: 'new',
        content: { doc: 7 },
        priority: 'high',
        reference: 'DOC-7',
        retry_of: original.id,
        retry_number: attempt,
        deadline: original.deadline,
      });
      // A repeat answers the same retry, and adds none.
      expect(
        await expectStatus(itemAction(server, owner, current.id, 'fail', { error: application }), 200),
      ).toEqual(failed);
      current = failed.retry;
    }
    expect((await expectStatus(claim(server, owner, queue.id), 200)).id).toBe(current.id);
    const last = await expectStatus(
      itemAction(server, owner, current.id, 'fail', { error: application }),
      200,
    );
    expect(last).toEqual({
      item: expect.objectContaining({ status: 'failed', retry_number: 2 }),
      retry: null,
    });
    const chain = await expectStatus(get(`/api/v1/queues/${queue.id}/items?reference=DOC-7`), 200);
    expect(chain.items.map((i: any) => [i.status, i.retry_number])).toEqual([
      ['failed', 2],
      ['retried', 1],
      ['retried', 0],
    ]);
    // The failed last one still holds the reference.
    expectError(
      await call(server, 'POST', `/api/v1/queues/${queue.id}/items`, {
        token: owner.token,
        body: { content: {}, reference: 'DOC-7' },
      }),
      409,
      'conflict',
    );
  });

  it('queues: claims and finishes by users are audited with the user as actor', async () => {
    const queue = await createQueue(server, owner);
    const item = await addItem(server, owner, queue.id);
    await expectStatus(claim(server, owner, queue.id), 200);
    await expectStatus(itemAction(server, owner, item.id, 'complete', { output: 1 }), 200);
    const events = await expectStatus(get(`/api/v1/audit?entity_id=${item.id}`), 200);
    expect(events.items.map((e: any) => [e.action, e.actor_id, e.after?.status])).toEqual([
      ['status_changed', owner.userId, 'successful'],
      ['status_changed', owner.userId, 'in_progress'],
      ['created', owner.userId, 'new'],
    ]);
  });

  it('queues: a robot consumer takes items through the service, named on the item and as the actor', async () => {
    const queue = await createQueue(server, owner);
    const item = await addItem(server, owner, queue.id);
    const robotId = '0190a4e0-0000-7000-8000-0000000000aa';
    const consumer = {
      scope: {
        orgId: owner.orgId,
        actor: { type: 'agent' as const, id: robotId, label: 'robot one' },
        meta: { ip: null, userAgent: null, requestId: null },
      },
      robotId,
    };
    const consumers = server.app.services.queueConsumers;
    const claimed = await consumers.claimNext(consumer, queue.id);
    expect(claimed).toMatchObject({ id: item.id, robot_id: robotId });
    await consumers.complete(consumer, item.id, { ok: true });
    expect(
      await expectStatus(get(`/api/v1/queues/${queue.id}/items?robot_id=${robotId}`), 200),
    ).toMatchObject({
      items: [{ id: item.id, status: 'successful', robot_id: robotId }],
    });
    const events = await expectStatus(get(`/api/v1/audit?entity_id=${item.id}&actor_id=${robotId}`), 200);
    expect(events.items.map((e: any) => [e.actor_type, e.actor_label, e.after.status])).toEqual([
      ['agent', 'robot one', 'successful'],
      ['agent', 'robot one', 'in_progress'],
    ]);
    // Another organisation's consumer finds nothing.
    await expect(
      consumers.claimNext({ ...consumer, scope: { ...consumer.scope, orgId: stranger.orgId } }, queue.id),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});
