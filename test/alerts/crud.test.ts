import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../support/agents.js';
import { auditOf, call, expectError, signup, type Session } from '../support/client.js';
import { dialects, HAND_DRIVEN, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import { api } from './support.js';

const START = new Date('2030-03-01T10:00:00.000Z');
const HOUR = 3_600_000;

describe.each(dialects)('alerts: rules, channels and silences on %s', (dialect) => {
  let server: TestServer;
  let clock: TestClock;
  let owner: Session;
  let stranger: Session;
  let as: ReturnType<typeof api>;
  let theirs: ReturnType<typeof api>;
  let foreign: { group: string; channel: string; queue: string; agent: string };

  beforeAll(async () => {
    clock = new TestClock(new Date(START));
    server = await startTestServer(dialect, {
      clock,
      config: { ...HAND_DRIVEN, outboundAllow: ['loopback'], accessTokenTtlMs: 100 * HOUR },
    });
    owner = await signup(server, 'alerts');
    stranger = await signup(server, 'stranger');
    as = api(server, owner);
    theirs = api(server, stranger);
    foreign = {
      group: (await theirs('POST', '/api/v1/agent-groups', { name: 'theirs' }, 201)).id,
      channel: (
        await theirs(
          'POST',
          '/api/v1/notification-channels',
          { name: 'theirs', kind: 'email', config: { to: ['x@y.test'] } },
          201,
        )
      ).id,
      queue: (await theirs('POST', '/api/v1/queues', { name: 'their queue' }, 201)).id,
      agent: await createAgent(server, stranger),
    };
  });
  afterAll(async () => {
    await server?.close();
  });

  it('alerts: a rule is created, read, listed by page and kind, changed and deleted, each change audited', async () => {
    const channel = await as(
      'POST',
      '/api/v1/notification-channels',
      { name: 'ops mail', kind: 'email', config: { to: ['ops@example.test'] } },
      201,
    );
    const rule = await as(
      'POST',
      '/api/v1/alert-rules',
      {
        name: ' Web servers down ',
        kind: 'agent_offline',
        params: { selector: { tags: ['web'] }, minutes: 5 },
        severity: 'critical',
        channel_ids: [channel.id],
      },
      201,
    );
    expect(rule).toEqual({
      id: expect.any(String),
      name: 'Web servers down',
      kind: 'agent_offline',
      params: { selector: { tags: ['web'] }, minutes: 5 },
      enabled: true,
      severity: 'critical',
      channel_ids: [channel.id],
      created_at: START.toISOString(),
      updated_at: START.toISOString(),
    });
    const second = await as(
      'POST',
      '/api/v1/alert-rules',
      {
        name: 'hot cpu',
        kind: 'metric_above',
        params: { selector: { all: true }, metric: 'cpu_percent', threshold: 90, minutes: 10 },
      },
      201,
    );
    expect(second.severity).toBe('warning');
    const page = await as('GET', '/api/v1/alert-rules?limit=1', undefined, 200);
    expect(page.items.map((r: any) => r.id)).toEqual([second.id]);
    const next = await as('GET', `/api/v1/alert-rules?limit=1&cursor=${page.next_cursor}`, undefined, 200);
    expect(next.items.map((r: any) => r.id)).toEqual([rule.id]);
    const byKind = await as('GET', '/api/v1/alert-rules?kind=agent_offline', undefined, 200);
    expect(byKind.items.map((r: any) => r.id)).toEqual([rule.id]);

    clock.advance(1000);
    const changed = await as(
      'PATCH',
      `/api/v1/alert-rules/${rule.id}`,
      {
        kind: 'queue_backlog',
        params: { queue_id: (await as('POST', '/api/v1/queues', { name: 'inbox' }, 201)).id, items: 10 },
        enabled: false,
      },
      200,
    );
    expect(changed).toMatchObject({ kind: 'queue_backlog', enabled: false, params: { items: 10 } });
    expect(await as('GET', `/api/v1/alert-rules/${rule.id}`, undefined, 200)).toEqual(changed);
    await as('DELETE', `/api/v1/alert-rules/${rule.id}`, undefined, 204);
    expectError(
      await call(server, 'GET', `/api/v1/alert-rules/${rule.id}`, { token: owner.token }),
      404,
      'not_found',
    );
    const audit = await auditOf(server, owner, 'alert_rule', rule.id);
    expect(audit.map((e) => e.action)).toEqual(['created', 'modified', 'deleted']);
    expect(audit[1].before.kind).toBe('agent_offline');
  });

  it('alerts: a rule with missing, foreign or unknown parameters is 422 naming each field', async () => {
    const refused = async (body: unknown, fields: string[]) => {
      const reply = await call(server, 'POST', '/api/v1/alert-rules', { token: owner.token, body });
      expectError(reply, 422, 'unprocessable');
      expect(reply.body.error.details.map((d: any) => d.field).sort()).toEqual([...fields].sort());
    };
    await refused({ name: 'a', kind: 'metric_above', params: { selector: { all: true }, items: 3 } }, [
      'params.metric',
      'params.threshold',
      'params.minutes',
      'params.items',
    ]);
    await refused({ name: 'a', kind: 'job_failed', params: {} }, ['params.script_id']);
    await refused(
      { name: 'a', kind: 'run_failure_rate', params: { percent: 50, last_runs: 5, window_minutes: 60 } },
      ['params.last_runs'],
    );
    // Ids of another organisation are as unknown as made-up ones.
    await refused(
      {
        name: 'a',
        kind: 'agent_offline',
        params: { selector: { group_id: foreign.group }, minutes: 1 },
        channel_ids: [foreign.channel],
      },
      ['params.selector.group_id', 'channel_ids.0'],
    );
    await refused(
      { name: 'a', kind: 'agent_offline', params: { selector: { agent_ids: [foreign.agent] }, minutes: 1 } },
      ['params.selector.agent_ids.0'],
    );
    await refused({ name: 'a', kind: 'queue_backlog', params: { queue_id: foreign.queue, items: 1 } }, [
      'params.queue_id',
    ]);
    // The schema's own limits answer before the rules.
    const schema = await call(server, 'POST', '/api/v1/alert-rules', {
      token: owner.token,
      body: { name: 'a', kind: 'metric_above', params: { threshold: 120 } },
    });
    expect(schema.status).toBe(400);
    // Changing the kind needs the new kind's parameters.
    const rule = await as(
      'POST',
      '/api/v1/alert-rules',
      { name: 'deploys', kind: 'deployment_failed', params: {} },
      201,
    );
    expectError(
      await call(server, 'PATCH', `/api/v1/alert-rules/${rule.id}`, {
        token: owner.token,
        body: { kind: 'queue_backlog' },
      }),
      422,
      'unprocessable',
    );
    // Another organisation's rule is not found, for reading, changing and deleting.
    for (const method of ['GET', 'PATCH', 'DELETE'])
      expectError(
        await call(server, method, `/api/v1/alert-rules/${rule.id}`, {
          token: stranger.token,
          ...(method === 'PATCH' ? { body: { name: 'x' } } : {}),
        }),
        404,
        'not_found',
      );
  });

  it('alerts: a channel URL is stored sealed, shown masked, kept when sent back masked, and refused when private', async () => {
    const url = 'http://127.0.0.1:9/services/T000/B000/secret-token';
    const channel = await as(
      'POST',
      '/api/v1/notification-channels',
      { name: 'slack', kind: 'slack', config: { url } },
      201,
    );
    expect(channel.config).toEqual({ url: 'http://127.0.0.1:9/********' });
    const stored = await server.database.db
      .selectFrom('notification_channels')
      .select('config')
      .where('id', '=', channel.id)
      .executeTakeFirstOrThrow();
    expect(stored.config).not.toContain('secret-token');
    const renamed = await as(
      'PATCH',
      `/api/v1/notification-channels/${channel.id}`,
      { name: 'slack ops', config: channel.config },
      200,
    );
    expect(renamed).toMatchObject({ name: 'slack ops', config: channel.config });
    const kept = await server.database.db
      .selectFrom('notification_channels')
      .select('config')
      .where('id', '=', channel.id)
      .executeTakeFirstOrThrow();
    expect(server.app.services.alerting.notifier).toBeDefined();
    expect(kept.config).toBe(stored.config);
    const audit = await auditOf(server, owner, 'notification_channel', channel.id);
    expect(JSON.stringify(audit)).not.toContain('secret-token');

    const refused = async (body: unknown, field: string) => {
      const reply = await call(server, 'POST', '/api/v1/notification-channels', { token: owner.token, body });
      expectError(reply, 422, 'unprocessable');
      expect(reply.body.error.details.map((d: any) => d.field)).toContain(field);
    };
    await refused({ name: 'lan', kind: 'webhook', config: { url: 'http://10.1.2.3/hook' } }, 'config.url');
    await refused({ name: 'meta', kind: 'teams', config: { url: 'http://169.254.169.254/' } }, 'config.url');
    await refused({ name: 'no url', kind: 'webhook', config: {} }, 'config.url');
    await refused({ name: 'mail', kind: 'email', config: { url: 'http://127.0.0.1/' } }, 'config.to');
  });

  it('alerts: silences need a rule or a selector, end after they start, and are listed as pending, active or expired', async () => {
    const rule = await as(
      'POST',
      '/api/v1/alert-rules',
      { name: 'silenced', kind: 'deployment_failed', params: {} },
      201,
    );
    const at = (ms: number) => new Date(START.getTime() + ms).toISOString();
    const now = clock.now().getTime() - START.getTime();
    const active = await as(
      'POST',
      '/api/v1/silences',
      { rule_id: rule.id, reason: 'known', ends_at: at(now + HOUR) },
      201,
    );
    expect(active).toMatchObject({ state: 'active', starts_at: clock.now().toISOString(), selector: null });
    const window = await as(
      'POST',
      '/api/v1/silences',
      {
        selector: { tags: ['db'] },
        reason: 'maintenance',
        starts_at: at(now + 2 * HOUR),
        ends_at: at(now + 3 * HOUR),
      },
      201,
    );
    expect(window.state).toBe('pending');
    const refused = async (body: unknown, field: string) => {
      const reply = await call(server, 'POST', '/api/v1/silences', { token: owner.token, body });
      expectError(reply, 422, 'unprocessable');
      expect(reply.body.error.details.map((d: any) => d.field)).toContain(field);
    };
    await refused({ reason: 'nothing', ends_at: at(now + HOUR) }, 'rule_id');
    await refused(
      { rule_id: rule.id, reason: 'backwards', starts_at: at(now + HOUR), ends_at: at(now) },
      'ends_at',
    );
    await refused(
      { selector: { group_id: foreign.group }, reason: 'theirs', ends_at: at(now + HOUR) },
      'selector.group_id',
    );

    clock.advance(90 * 60_000);
    const listed = await as('GET', '/api/v1/silences', undefined, 200);
    const states = Object.fromEntries(listed.items.map((s: any) => [s.id, s.state]));
    expect(states).toEqual({ [active.id]: 'expired', [window.id]: 'pending' });
    const expired = await as('GET', '/api/v1/silences?state=expired', undefined, 200);
    expect(expired.items.map((s: any) => s.id)).toEqual([active.id]);
    await as('PATCH', `/api/v1/silences/${window.id}`, { reason: 'moved' }, 200);
    await as('DELETE', `/api/v1/silences/${window.id}`, undefined, 204);
    expect((await auditOf(server, owner, 'silence', window.id)).map((e) => e.action)).toEqual([
      'created',
      'modified',
      'deleted',
    ]);
    expectError(
      await call(server, 'GET', `/api/v1/silences/${active.id}`, { token: stranger.token }),
      404,
      'not_found',
    );
  });
});
