import { expect } from 'vitest';
import { uniqueName } from '../../support/client.js';
import { created, deleted, deletedNamed, moved, patched } from './builders.js';
import type { AuditCases, AuditFixture } from './fixture.js';

function channel(f: AuditFixture): Promise<{ id: string; name: string }> {
  return f.as('POST', '/api/v1/notification-channels', {
    name: uniqueName('channel'),
    kind: 'email',
    config: { to: ['oncall@example.test'] },
  });
}

function rule(f: AuditFixture): Promise<{ id: string; name: string }> {
  return f.as('POST', '/api/v1/alert-rules', {
    name: uniqueName('rule'),
    kind: 'deployment_failed',
    params: {},
    severity: 'info',
  });
}

async function silence(f: AuditFixture): Promise<{ id: string; reason: string }> {
  return f.as('POST', '/api/v1/silences', {
    rule_id: (await rule(f)).id,
    reason: 'audited',
    ends_at: '2999-01-01T00:00:00.000Z',
  });
}

/** A firing alert: a queue with an item waiting, a rule on its backlog, one evaluation. */
async function firing(f: AuditFixture): Promise<string> {
  const queue = await f.as('POST', '/api/v1/queues', { name: uniqueName('queue') });
  await f.as('POST', `/api/v1/queues/${queue.id}/items`, { content: {} });
  const backlog = await f.as('POST', '/api/v1/alert-rules', {
    name: uniqueName('backlog'),
    kind: 'queue_backlog',
    params: { queue_id: queue.id, items: 0 },
  });
  await f.server.app.services.alerting.evaluator.evaluate();
  const alerts = await f.as('GET', `/api/v1/alerts?rule_id=${backlog.id}`, undefined, 200);
  return alerts.items[0].id;
}

/** Alert rules, channels, silences and acknowledgements. */
export const alertCases: AuditCases = {
  'POST /api/v1/alert-rules': created('alert_rule', async () => ({
    body: { name: 'audited rule', kind: 'run_failure_rate', params: { percent: 50, last_runs: 10 } },
    check: (e) => expect(e.after).toMatchObject({ name: 'audited rule', params: { percent: 50 } }),
  })),
  'PATCH /api/v1/alert-rules/{id}': patched('alert_rule', {
    of: async (f) => (await rule(f)).id,
    field: 'severity',
    from: 'info',
    to: 'critical',
  }),
  'DELETE /api/v1/alert-rules/{id}': deletedNamed('alert_rule', rule),
  'POST /api/v1/notification-channels': created('notification_channel', async () => ({
    body: { name: 'audited channel', kind: 'email', config: { to: ['ops@example.test'] } },
    check: (e) => expect(e.after).toMatchObject({ name: 'audited channel', kind: 'email' }),
  })),
  'PATCH /api/v1/notification-channels/{id}': patched('notification_channel', {
    of: async (f) => (await channel(f)).id,
    field: 'config',
    from: { to: ['oncall@example.test'] },
    to: { to: ['night@example.test'] },
  }),
  'DELETE /api/v1/notification-channels/{id}': deletedNamed('notification_channel', channel),
  'POST /api/v1/silences': created('silence', async (f) => ({
    body: { rule_id: (await rule(f)).id, reason: 'audited silence', ends_at: '2999-01-01T00:00:00.000Z' },
    check: (e) => expect(e.after).toMatchObject({ reason: 'audited silence', state: 'active' }),
  })),
  'PATCH /api/v1/silences/{id}': patched('silence', {
    of: async (f) => (await silence(f)).id,
    field: 'reason',
    from: 'audited',
    to: 'extended',
  }),
  'DELETE /api/v1/silences/{id}': deleted('silence', async (f) => {
    const made = await silence(f);
    return { params: { id: made.id }, check: (e) => expect(e.before.reason).toBe(made.reason) };
  }),
  'POST /api/v1/alerts/{id}/acknowledge': moved('status_changed', 'alert', {
    of: firing,
    field: 'state',
    from: 'firing',
    to: 'acknowledged',
  }),
};
