import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, call, expectError, openApiOperations, signup, type Session } from '../support/client.js';
import { dialects, startTestServer, TestClock, type TestServer } from '../support/harness.js';
import { accessCases, settingsCases } from './audit-cases/access.js';
import { alertCases } from './audit-cases/alerts.js';
import { assetCases, sdkCases } from './audit-cases/assets.js';
import { authCases } from './audit-cases/auth.js';
import { profileAndTemplateCases, scheduleCases, scriptCases } from './audit-cases/automation.js';
import { deploymentCases } from './audit-cases/deployments.js';
import { AuditFixture, type AuditCases } from './audit-cases/fixture.js';
import { fleetCases } from './audit-cases/fleet.js';
import { housekeepingCases } from './audit-cases/housekeeping.js';
import { packageCases } from './audit-cases/packages.js';
import { processCases } from './audit-cases/processes.js';
import { queueCases } from './audit-cases/queues.js';
import { robotCases } from './audit-cases/robots.js';
import { rpaCases } from './audit-cases/rpa.js';
import { webhookCases } from './audit-cases/webhooks.js';
import { assistantCases } from './audit-cases/assistant.js';
import { installerCases } from './audit-cases/installers.js';
import { agentUpdateCases } from './audit-cases/agent-updates.js';
import { writeFakeBuilds } from '../installers/support.js';

const USER_AGENT = 'fleetplane-audit-test/1.0';
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * How to make each mutating operation succeed, and the event it must write. The walk below fails
 * for any mutating operation of the OpenAPI document that is neither here nor in WRITES_NO_AUDIT,
 * so a new route cannot ship unaudited.
 */
const cases: AuditCases = {
  ...assetCases,
  ...sdkCases,
  ...authCases,
  ...accessCases,
  ...settingsCases,
  ...fleetCases,
  ...scriptCases,
  ...profileAndTemplateCases,
  ...scheduleCases,
  ...packageCases,
  ...processCases,
  ...robotCases,
  ...queueCases,
  ...rpaCases,
  ...deploymentCases,
  ...alertCases,
  ...webhookCases,
  ...assistantCases,
  ...housekeepingCases,
  ...installerCases,
  ...agentUpdateCases,
};

/** Mutating operations that write no audit event, and why. Keep it short: each is a decision. */
const WRITES_NO_AUDIT: Record<string, string> = {
  // Test sends change nothing: they post a sample to a receiver and answer what it said.
  'POST /api/v1/alerts/test-webhook': 'a sample notification sent, nothing stored',
  'POST /api/v1/notification-channels/{id}/test': 'a sample notification sent, nothing stored',
  // An agent's own reports, many a minute per machine: they update its row (last seen, metrics)
  // and its jobs' states, which the jobs themselves show. A person's change is audited; these are not.
  'POST /api/v1/agent/heartbeat': 'agent liveness and metrics, recorded on the agent',
  'POST /api/v1/agent/jobs/{id}/events': "a job's progress, output and result, recorded on the job",
  // Anonymous and in no organisation until a user decides; the decision and the token are audited.
  'POST /api/v1/sdk/device/start':
    'an SDK asking to sign in: the confirmation and the token issued are audited',
  'POST /api/v1/runner/heartbeat': 'runner liveness, recorded on the robot (last_heartbeat_at)',
  // A deploy script's reports, as often as it has steps on each machine: they land on the
  // deployment's steps and machines, which show them. The deployment's own moves (started, canceled,
  // continued, ended) are audited.
  'POST /api/v1/steps': "a deploy script's step, recorded on its machine of the deployment",
  'PUT /api/v1/deployments/finish': "a deploy script's end and published config, recorded on its machine",
  'POST /api/v1/assistant/test': 'a connection test: one completion asked of the provider, nothing stored',
};

describe.each(dialects)('audit on %s', (dialect) => {
  let server: TestServer;
  let clock: TestClock;
  let owner: Session;
  let buildsDir: string;

  beforeAll(async () => {
    clock = new TestClock(new Date('2030-01-01T00:00:00.000Z'));
    // fake agent builds, which installers need
    buildsDir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-audit-builds-'));
    writeFakeBuilds(buildsDir, '1.0.0');
    // loopback: the assistant's cases call a local fake provider
    server = await startTestServer(dialect, {
      clock,
      config: { outboundAllow: ['loopback'], agentBuildsDir: buildsDir },
    });
    owner = await signup(server);
  });
  afterAll(async () => {
    await server.close();
    rmSync(buildsDir, { recursive: true, force: true });
  });

  function tagged(): { requestId: string; headers: Record<string, string> } {
    const requestId = `audit-${randomUUID()}`;
    return { requestId, headers: { 'x-request-id': requestId, 'user-agent': USER_AGENT } };
  }

  it('audit: every mutating operation of the OpenAPI document has a case, or a reason to write no event', async () => {
    const mutating = (await openApiOperations(server))
      .filter((op) => MUTATING.has(op.method))
      .map((op) => `${op.method} ${op.path}`);
    expect(mutating.length).toBeGreaterThan(50);
    expect(mutating.filter((op) => !(op in cases) && !(op in WRITES_NO_AUDIT))).toEqual([]);
    // Not stale, and never both.
    expect(Object.keys(cases).filter((op) => !mutating.includes(op))).toEqual([]);
    expect(Object.keys(WRITES_NO_AUDIT).filter((op) => !mutating.includes(op) || op in cases)).toEqual([]);
  });

  for (const [op, c] of Object.entries(cases))
    it(`audit: ${op} writes a ${c.action} ${c.entityType} event with actor, ip, agent and request id`, async () => {
      const prepared = await c.prepare(new AuditFixture(server, owner));
      const [method = '', path = ''] = op.split(' ');
      const route = path.replace(/\{(\w+)\}/g, (_, name: string) => {
        const value = prepared.params?.[name];
        if (!value) throw new Error(`${op}: the case gives no {${name}}`);
        return value;
      });
      const caller = prepared.caller === undefined ? owner : prepared.caller;
      const { requestId, headers } = tagged();
      const reply = await call(server, method, route, {
        headers,
        ...(caller ? { token: caller.token } : {}),
        ...(prepared.body === undefined ? {} : { body: prepared.body }),
      });
      expect(reply.status >= 200 && reply.status < 300, `${reply.status} ${JSON.stringify(reply.body)}`).toBe(
        true,
      );
      const outcome = {
        reader: caller?.token ?? owner.token,
        actorType: 'user',
        actorId: caller?.userId ?? null,
        ...(await prepared.outcome?.(reply.body)),
      };
      const events = await call(server, 'GET', `/api/v1/audit?request_id=${requestId}`, {
        token: outcome.reader,
      });
      expect(events.status).toBe(200);
      expect(events.body.items.every((e: { request_id: string }) => e.request_id === requestId)).toBe(true);
      const event = events.body.items.find(
        (e: { action: string; entity_type: string }) =>
          e.action === c.action && e.entity_type === c.entityType,
      );
      expect(event, JSON.stringify(events.body.items)).toBeDefined();
      expect(event).toMatchObject({
        actor_type: outcome.actorType,
        actor_id: outcome.actorId,
        request_id: requestId,
        user_agent: USER_AGENT,
        ip: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$|^::1$/),
        created_at: expect.any(String),
      });
      const entityId =
        typeof prepared.entityId === 'function'
          ? prepared.entityId(reply.body)
          : prepared.entityId === undefined
            ? prepared.params?.id
            : prepared.entityId;
      if (entityId === undefined) throw new Error(`${op}: the case names no entity`);
      expect(event.entity_id).toEqual(entityId ?? expect.any(String));
      expect(event.before === null, 'before').toBe(!c.before);
      expect(event.after === null, 'after').toBe(!c.after);
      try {
        prepared.check?.(event, reply.body);
      } finally {
        await prepared.undo?.();
      }
    });

  it('audit: secrets are masked in before and after', async () => {
    await call(server, 'PUT', '/api/v1/settings/email', {
      token: owner.token,
      body: { smtp_password: 'first-clear-secret' },
    });
    const { requestId, headers } = tagged();
    const put = await call(server, 'PUT', '/api/v1/settings/email', {
      token: owner.token,
      headers,
      body: { smtp_password: 'second-clear-secret', smtp_host: 'smtp.example.test' },
    });
    expect(put.status).toBe(200);
    const events = await call(server, 'GET', `/api/v1/audit?request_id=${requestId}`, { token: owner.token });
    const [event] = events.body.items;
    expect(event.before).toMatchObject({ smtp_password: '********', smtp_host: '' });
    expect(event.after).toMatchObject({ smtp_password: '********', smtp_host: 'smtp.example.test' });
    const all = await call(server, 'GET', '/api/v1/audit?limit=200', { token: owner.token });
    expect(JSON.stringify(all.body)).not.toMatch(/first-clear-secret|second-clear-secret/);
    const search = await call(server, 'GET', '/api/v1/audit?q=clear-secret', { token: owner.token });
    expect(search.body.items).toEqual([]);
  });

  it('audit: filters by action, entity type, time range and text', async () => {
    const org = await signup(server, 'filters');
    const roleName = `needle-${randomUUID().slice(0, 8)}`;
    const early = await call(server, 'POST', '/api/v1/access/roles', {
      token: org.token,
      body: { name: roleName, permissions: ['users:read'] },
    });
    expect(early.status).toBe(201);
    clock.advance(60_000);
    const middle = clock.now().toISOString();
    clock.advance(60_000);
    const late = await call(server, 'PATCH', `/api/v1/access/roles/${early.body.id}`, {
      token: org.token,
      body: { description: 'later change' },
    });
    expect(late.status).toBe(200);

    const list = async (query: string) => {
      const reply = await call(server, 'GET', `/api/v1/audit?limit=200&${query}`, { token: org.token });
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      return reply.body.items as any[];
    };

    const created = await list('action=created');
    expect(created.length).toBeGreaterThan(0);
    expect(created.every((e) => e.action === 'created')).toBe(true);
    expect(created.some((e) => e.entity_id === early.body.id)).toBe(true);

    const roles = await list('entity_type=role');
    expect(roles.map((e) => e.action).sort()).toEqual(['created', 'modified']);

    const after = await list(`entity_type=role&from=${encodeURIComponent(middle)}`);
    expect(after.map((e) => e.action)).toEqual(['modified']);
    const before = await list(`entity_type=role&to=${encodeURIComponent(middle)}`);
    expect(before.map((e) => e.action)).toEqual(['created']);
    const window = await list(
      `from=${encodeURIComponent(middle)}&to=${encodeURIComponent(clock.now().toISOString())}`,
    );
    expect(window).toEqual([]);

    const text = await list(`q=${roleName}`);
    expect(text.map((e) => e.entity_id)).toEqual([early.body.id, early.body.id]);
    const upper = await list(`q=${roleName.toUpperCase()}`);
    expect(upper).toHaveLength(2);
    expect(await list('q=no-such-text-anywhere')).toEqual([]);
    // LIKE wildcards are literal text, not patterns.
    expect(await list('q=%25')).toEqual([]);

    const actor = await list(`actor_id=${org.userId}&action=modified`);
    expect(actor.map((e) => e.entity_id)).toEqual([early.body.id]);

    expectError(
      await call(server, 'GET', '/api/v1/audit?action=exploded', { token: org.token }),
      400,
      'validation_failed',
    );
    expectError(
      await call(server, 'GET', '/api/v1/audit?from=yesterday', { token: org.token }),
      400,
      'validation_failed',
    );
  });

  it('audit: GET /api/v1/audit/{id} returns the event the list shows, and 404 for an unknown id', async () => {
    const list = await call(server, 'GET', '/api/v1/audit?limit=3', { token: owner.token });
    expect(list.body.items).toHaveLength(3);
    for (const item of list.body.items) {
      const one = await call(server, 'GET', `/api/v1/audit/${item.id}`, { token: owner.token });
      expect(one.status).toBe(200);
      expect(one.body).toEqual(item);
    }
    expectError(
      await call(server, 'GET', `/api/v1/audit/${randomUUID()}`, { token: owner.token }),
      404,
      'not_found',
    );
    expectError(
      await call(server, 'GET', '/api/v1/audit/not-an-id', { token: owner.token }),
      400,
      'validation_failed',
    );
  });

  it('audit: no route modifies or deletes an audit event', async () => {
    const ops = await openApiOperations(server);
    const auditOps = ops.filter((op) => op.path.startsWith('/api/v1/audit'));
    expect(auditOps.map((op) => `${op.method} ${op.path}`).sort()).toEqual([
      'GET /api/v1/audit',
      'GET /api/v1/audit/{id}',
    ]);
    const [event] = (await call(server, 'GET', '/api/v1/audit?limit=1', { token: owner.token })).body.items;
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const reply = await call(server, method, `/api/v1/audit/${event.id}`, {
        token: owner.token,
        ...(method === 'DELETE' ? {} : { body: { action: 'deleted' } }),
      });
      expectError(reply, 404, 'not_found');
    }
    expectError(await call(server, 'DELETE', '/api/v1/audit', { token: owner.token }), 404, 'not_found');
    const still = await call(server, 'GET', `/api/v1/audit/${event.id}`, { token: owner.token });
    expect(still.body).toEqual(event);
  });

  it('audit: a viewer cannot read the audit log (403)', async () => {
    const viewer = await addMember(server, owner, 'viewer');
    expectError(await call(server, 'GET', '/api/v1/audit', { token: viewer.token }), 403, 'forbidden');
    const [event] = (await call(server, 'GET', '/api/v1/audit?limit=1', { token: owner.token })).body.items;
    expectError(
      await call(server, 'GET', `/api/v1/audit/${event.id}`, { token: viewer.token }),
      403,
      'forbidden',
    );
  });
});
