import { expect } from 'vitest';
import { created, deleted, moved, patched } from './builders.js';
import type { AuditCases, AuditFixture } from './fixture.js';

/** TEST-NET-1: a public address as the server judges it, where nothing answers. */
const URL = 'http://192.0.2.10/audited-hook';

/** Disabled: its pings and redeliveries are queued, never sent where nothing answers. */
async function webhook(f: AuditFixture): Promise<{ id: string; url: string }> {
  return (await f.as('POST', '/api/v1/webhooks', { url: URL, events: ['job.finished'], enabled: false }))
    .webhook;
}

/** A subscription paused by hand, for resume. */
async function paused(f: AuditFixture): Promise<string> {
  const { id } = await webhook(f);
  await f.as('POST', `/api/v1/webhooks/${id}/pause`, undefined, 200);
  return id;
}

/** Webhook subscriptions and the deliveries queued by hand (a test, a redelivery). */
export const webhookCases: AuditCases = {
  'POST /api/v1/webhooks': created('webhook', async () => ({
    body: { url: URL, description: 'audited hook', events: ['run.*'], enabled: false },
    entityId: (reply) => reply.webhook.id,
    check: (e) => {
      expect(e.after).toMatchObject({ url: URL, description: 'audited hook', events: ['run.*'] });
      expect(JSON.stringify(e)).not.toContain('whsec_');
    },
  })),
  'PATCH /api/v1/webhooks/{id}': patched('webhook', {
    of: async (f) => (await webhook(f)).id,
    field: 'events',
    from: ['job.finished'],
    to: ['agent.offline'],
  }),
  'DELETE /api/v1/webhooks/{id}': deleted('webhook', async (f) => {
    const made = await webhook(f);
    return { params: { id: made.id }, check: (e) => expect(e.before.url).toBe(made.url) };
  }),
  'POST /api/v1/webhooks/{id}/rotate-secret': {
    action: 'modified',
    entityType: 'webhook',
    before: true,
    after: true,
    async prepare(f) {
      return {
        params: { id: (await webhook(f)).id },
        check: (e) => expect(JSON.stringify(e)).not.toContain('whsec_'),
      };
    },
  },
  'POST /api/v1/webhooks/{id}/pause': moved('status_changed', 'webhook', {
    of: async (f) => (await webhook(f)).id,
    field: 'status',
    from: 'active',
    to: 'paused',
  }),
  'POST /api/v1/webhooks/{id}/resume': moved('status_changed', 'webhook', {
    of: paused,
    field: 'status',
    from: 'paused',
    to: 'active',
  }),
  'POST /api/v1/webhooks/{id}/test': {
    action: 'created',
    entityType: 'webhook_delivery',
    before: false,
    after: true,
    async prepare(f) {
      const { id } = await webhook(f);
      return {
        params: { id },
        entityId: (reply) => reply.id,
        check: (e) => expect(e.after).toMatchObject({ webhook_id: id, event: 'webhook.ping' }),
      };
    },
  },
  'POST /api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver': {
    action: 'created',
    entityType: 'webhook_delivery',
    before: false,
    after: true,
    async prepare(f) {
      const { id } = await webhook(f);
      const ping = await f.as('POST', `/api/v1/webhooks/${id}/test`, undefined, 202);
      return {
        params: { id, deliveryId: ping.id },
        entityId: (reply) => reply.id,
        check: (e) => expect(e.after).toMatchObject({ webhook_id: id, redelivery_of: ping.id }),
      };
    },
  },
};
