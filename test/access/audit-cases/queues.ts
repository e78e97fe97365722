import { expect } from 'vitest';
import { uniqueName } from '../../support/client.js';
import { created, deleted, deletedNamed, modified, patched } from './builders.js';
import type { AuditCase, AuditCases, AuditFixture, Prepared } from './fixture.js';

function queue(f: AuditFixture): Promise<{ id: string; name: string }> {
  return f.as('POST', '/api/v1/queues', { name: uniqueName('queue'), max_retries: 1 });
}

/** An item of a new queue; taken (in progress) when asked. */
async function item(f: AuditFixture, taken = false): Promise<{ id: string; queueId: string }> {
  const { id: queueId } = await queue(f);
  const added = await f.as('POST', `/api/v1/queues/${queueId}/items`, { content: { audited: true } });
  if (taken) await f.as('POST', `/api/v1/queues/${queueId}/items/claim`, undefined, 200);
  return { id: added.id, queueId };
}

/** A consumer's move of an item: the event shows its status before and after. */
function itemMoved(prepare: (f: AuditFixture) => Promise<Prepared>, from: string, to: string): AuditCase {
  return {
    action: 'status_changed',
    entityType: 'queue_item',
    before: true,
    after: true,
    async prepare(f) {
      const prepared = await prepare(f);
      return {
        ...prepared,
        check: (e) => {
          expect(e.before.status).toBe(from);
          expect(e.after.status).toBe(to);
        },
      };
    },
  };
}

/** Work queues and their items, as people add, take and finish them. */
export const queueCases: AuditCases = {
  'POST /api/v1/queues': created('queue', async () => ({
    body: { name: 'audited queue', sla_minutes: 30 },
    check: (e) => expect(e.after).toMatchObject({ name: 'audited queue', sla_minutes: 30 }),
  })),
  'PATCH /api/v1/queues/{id}': patched('queue', {
    of: async (f) => (await queue(f)).id,
    field: 'max_retries',
    from: 1,
    to: 5,
  }),
  'DELETE /api/v1/queues/{id}': deletedNamed('queue', queue),
  'POST /api/v1/queues/{id}/items': created('queue_item', async (f) => ({
    params: { id: (await queue(f)).id },
    body: { content: { invoice: 'A-1' }, reference: 'A-1' },
    check: (e) => expect(e.after).toMatchObject({ status: 'new', reference: 'A-1' }),
  })),
  'POST /api/v1/queues/{id}/items/bulk': created('queue_item_batch', async (f) => {
    const { id } = await queue(f);
    return {
      params: { id },
      body: { items: [{ content: { n: 1 } }, { content: { n: 2 } }, { content: { n: 3 } }] },
      entityId: id,
      check: (e, reply) =>
        expect(e.after).toEqual({ count: 3, first_id: reply.first_id, last_id: reply.last_id }),
    };
  }),
  'POST /api/v1/queues/{id}/items/claim': itemMoved(
    async (f) => {
      const { queueId } = await item(f);
      return { params: { id: queueId }, entityId: (reply: { id: string }) => reply.id };
    },
    'new',
    'in_progress',
  ),
  'DELETE /api/v1/queue-items/{id}': deleted('queue_item', async (f) => ({
    params: { id: (await item(f)).id },
    check: (e) => expect(e.before.status).toBe('new'),
  })),
  'POST /api/v1/queue-items/{id}/complete': itemMoved(
    async (f) => ({ params: { id: (await item(f, true)).id }, body: { output: { ok: true } } }),
    'in_progress',
    'successful',
  ),
  'POST /api/v1/queue-items/{id}/fail': itemMoved(
    async (f) => ({
      params: { id: (await item(f, true)).id },
      body: { error: { type: 'application', reason: 'the portal timed out' } },
    }),
    'in_progress',
    'retried',
  ),
  'POST /api/v1/queue-items/{id}/progress': modified('queue_item', async (f) => ({
    params: { id: (await item(f, true)).id },
    body: { progress: 'half way' },
    check: (e) => {
      expect(e.before.progress).toBeNull();
      expect(e.after.progress).toBe('half way');
    },
  })),
};
