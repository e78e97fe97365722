import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, ScriptedAgent } from '../support/agents.js';
import {
  addMember,
  call,
  expectStatus,
  openApiOperations,
  roleId,
  signup,
  uniqueEmail,
  uniqueName,
  type Session,
} from '../support/client.js';
import { dialects, HAND_DRIVEN, startTestServer, type TestServer } from '../support/harness.js';
import { StatementCounter } from '../support/statements.js';
import { newId } from '../../src/server/lib/ids.js';
import { webhookEventTypes } from '../../src/server/modules/webhooks/webhooks.events.js';
import { processBody, uploadPackage } from '../processes/support.js';

const ITEMS = 100;
/** What one list request may cost: authentication, a check of the parent, the page, one grouped lookup. */
const MAX_STATEMENTS = 6;

/** Runs `make` count times, ten at a time. */
async function times<T>(count: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const made: T[] = [];
  for (let i = 0; i < count; i += 10)
    made.push(...(await Promise.all(Array.from({ length: Math.min(10, count - i) }, (_, j) => make(i + j)))));
  return made;
}

describe.each(dialects)('lists: statements per request on %s', (dialect) => {
  let server: TestServer;
  let owner: Session;
  let member: Session;
  /** The services directory: a hundred folders for its listing. */
  let servicesDir: string;
  const counter = new StatementCounter();
  /**
   * Each list route, as a request for a page of one and a page of a hundred (or a small and a large
   * subject); `items`: how many the large one lists when not a hundred (a fixed catalogue).
   */
  const cases = new Map<
    string,
    { small: string; large: string; as?: () => Session; smallAs?: () => Session; items?: number }
  >();

  const as = (method: string, route: string, body?: unknown, who: Session = owner) =>
    call(server, method, route, { token: who.token, body });
  const created = async (route: string, body: unknown) => expectStatus(as('POST', route, body), 201);
  const accepted = async (route: string, body: unknown) => expectStatus(as('POST', route, body), 202);
  /** An SDK sign-in of the owner's (start, approve, collect), which leaves one SDK token. */
  const sdkSignIn = async () => {
    const started = await expectStatus(
      call(server, 'POST', '/api/v1/sdk/device/start', { body: { client_name: 'lists' } }),
      200,
    );
    await expectStatus(
      as('POST', '/api/v1/sdk/device/confirm', { user_code: started.user_code, approve: true }),
      200,
    );
    const issued = await expectStatus(
      call(server, 'POST', '/api/v1/sdk/device/token', { body: { device_code: started.device_code } }),
      200,
    );
    expect(issued.status).toBe('confirmed');
  };

  beforeAll(async () => {
    servicesDir = mkdtempSync(path.join(os.tmpdir(), 'fleetplane-lists-services-'));
    for (let i = 0; i < ITEMS; i += 1) {
      const folder = path.join(servicesDir, `folder-${i}`);
      mkdirSync(folder);
      writeFileSync(
        path.join(folder, 'service.json'),
        JSON.stringify({ steps: ['deploy'], script: 'deploy.sh' }),
      );
      writeFileSync(path.join(folder, 'deploy.sh'), 'echo deploy\n');
    }
    // no timer of the server's own runs during a measure
    server = await startTestServer(dialect, {
      plugins: [counter],
      config: { ...HAND_DRIVEN, servicesDir },
    });
    owner = await signup(server, 'lists');
    member = await addMember(server, owner, 'operator');

    const paged = (path: string) => ({ small: `${path}?limit=1`, large: `${path}?limit=${ITEMS}` });

    const roles = await times(ITEMS, (i) =>
      created('/api/v1/access/roles', { name: `role-${i}`, permissions: ['audit:read'] }),
    );
    cases.set('/api/v1/access/roles', paged('/api/v1/access/roles'));
    const viewer = await roleId(server, owner.token, 'viewer');
    await times(ITEMS, () => addMember(server, owner, 'viewer'));
    cases.set('/api/v1/access/users', paged('/api/v1/access/users'));
    // a member holds at most 50 roles
    await expectStatus(
      as('PUT', `/api/v1/access/users/${member.userId}/roles`, {
        role_ids: roles.slice(0, 50).map((role) => role.id),
      }),
      200,
    );
    const single = await addMember(server, owner, 'viewer');
    cases.set('/api/v1/access/users/{id}/roles', {
      small: `/api/v1/access/users/${single.userId}/roles`,
      large: `/api/v1/access/users/${member.userId}/roles`,
    });
    await times(ITEMS, () =>
      created('/api/v1/access/invites', { email: uniqueEmail('invited'), role_id: viewer }),
    );
    cases.set('/api/v1/access/invites', paged('/api/v1/access/invites'));
    await times(ITEMS, (i) => created('/api/v1/api-keys', { name: `key-${i}`, role_id: viewer }));
    cases.set('/api/v1/api-keys', paged('/api/v1/api-keys'));
    cases.set('/api/v1/audit', paged('/api/v1/audit'));

    await times(ITEMS, (i) => created('/api/v1/orgs', { name: `org-${i}` }));
    cases.set('/api/v1/orgs', { small: '/api/v1/orgs', large: '/api/v1/orgs', smallAs: () => single });

    const groups = await times(ITEMS, (i) => created('/api/v1/agent-groups', { name: `group-${i}` }));
    cases.set('/api/v1/agent-groups', paged('/api/v1/agent-groups'));
    await times(ITEMS, (i) =>
      created('/api/v1/enrollment-tokens', { name: `enroll-${i}`, group_id: groups[i]!.id, tags: ['t'] }),
    );
    cases.set('/api/v1/enrollment-tokens', paged('/api/v1/enrollment-tokens'));
    const agentIds = await times(ITEMS, (i) => createAgent(server, owner, 'ubuntu', [`tag-${i % 3}`]));
    cases.set('/api/v1/agents', paged('/api/v1/agents'));

    const busy = agentIds[0]!;
    await times(ITEMS, () =>
      accepted(`/api/v1/agents/${busy}/jobs`, { interpreter: 'sh', command: 'true', env: { A: 'b' } }),
    );
    cases.set('/api/v1/agents/{id}/jobs', paged(`/api/v1/agents/${busy}/jobs`));
    cases.set('/api/v1/jobs', paged('/api/v1/jobs'));
    await times(ITEMS - 1, () =>
      accepted('/api/v1/runs', {
        target: { agent_ids: [busy] },
        job: { interpreter: 'sh', command: 'true' },
      }),
    );
    const wide = await accepted('/api/v1/runs', {
      target: { agent_ids: agentIds },
      job: { interpreter: 'sh', command: 'true' },
      concurrency: 10,
    });
    cases.set('/api/v1/runs', paged('/api/v1/runs'));
    cases.set('/api/v1/runs/{id}/jobs', paged(`/api/v1/runs/${wide.id}/jobs`));

    const scripts = await times(ITEMS, (i) =>
      created('/api/v1/scripts', { name: `script-${i}`, language: 'sh', content: 'true', tags: ['x'] }),
    );
    cases.set('/api/v1/scripts', paged('/api/v1/scripts'));
    const edited = scripts[0]!.id as string;
    for (let i = 1; i < ITEMS; i += 1)
      await expectStatus(as('PATCH', `/api/v1/scripts/${edited}`, { content: `echo ${i}` }), 200);
    cases.set('/api/v1/scripts/{id}/versions', paged(`/api/v1/scripts/${edited}/versions`));

    const task = (i: number) => ({ name: `task-${i}`, action: 'script', script_id: scripts[i % 10]!.id });
    for (const kind of ['profiles', 'templates'] as const) {
      await times(ITEMS, (i) => created(`/api/v1/${kind}`, { name: `${kind}-${i}`, tasks: [task(i)] }));
      const one = await created(`/api/v1/${kind}`, { name: uniqueName(kind), tasks: [task(0)] });
      const full = await created(`/api/v1/${kind}`, {
        name: uniqueName(kind),
        tasks: Array.from({ length: ITEMS }, (_, i) => task(i)),
      });
      cases.set(`/api/v1/${kind}`, paged(`/api/v1/${kind}`));
      cases.set(`/api/v1/${kind}/{id}/tasks`, {
        small: `/api/v1/${kind}/${one.id}/tasks`,
        large: `/api/v1/${kind}/${full.id}/tasks`,
      });
    }
    await times(ITEMS, (i) =>
      created('/api/v1/schedules', {
        name: `schedule-${i}`,
        action: { kind: 'script', script_id: scripts[i % 10]!.id },
        target: { tags: ['tag-1'] },
        interval_seconds: 3600,
      }),
    );
    cases.set('/api/v1/schedules', paged('/api/v1/schedules'));

    await times(ITEMS, (i) => uploadPackage(server, owner, 'lists-bot', `1.0.${i}`));
    cases.set('/api/v1/packages', paged('/api/v1/packages'));
    const processes = await times(ITEMS, (i) =>
      created('/api/v1/processes', processBody('lists-bot', { name: `process-${i}` })),
    );
    cases.set('/api/v1/processes', paged('/api/v1/processes'));
    const revised = processes[0]!.id as string;
    for (let i = 1; i < ITEMS; i += 1)
      await expectStatus(as('PATCH', `/api/v1/processes/${revised}`, { timeout_seconds: i + 60 }), 200);
    cases.set('/api/v1/processes/{id}/versions', paged(`/api/v1/processes/${revised}/versions`));
    // a pool no robot is in: the jobs stay queued
    const idle = await created(
      '/api/v1/processes',
      processBody('lists-bot', { name: uniqueName('idle'), robot_pool: 'nobody-here' }),
    );
    await times(ITEMS, () => created('/api/v1/process-jobs', { process_id: idle.id }));
    cases.set('/api/v1/process-jobs', paged('/api/v1/process-jobs'));
    await times(ITEMS, (i) =>
      created('/api/v1/assets', { name: `asset-${i}`, type: 'text', value: `value ${i}` }),
    );
    cases.set('/api/v1/assets', paged('/api/v1/assets'));
    await times(ITEMS, (i) =>
      created('/api/v1/robots', { name: `robot-${i}`, kind: 'runner', pools: [`pool-${i % 3}`] }),
    );
    cases.set('/api/v1/robots', paged('/api/v1/robots'));
    const queues = await times(ITEMS, (i) => created('/api/v1/queues', { name: `queue-${i}` }));
    cases.set('/api/v1/queues', paged('/api/v1/queues'));
    const filled = queues[0]!.id as string;
    await created(`/api/v1/queues/${filled}/items/bulk`, {
      items: Array.from({ length: ITEMS }, (_, i) => ({ content: { n: i }, reference: `ref-${i}` })),
    });
    cases.set('/api/v1/queues/{id}/items', paged(`/api/v1/queues/${filled}/items`));
    await times(ITEMS, () => sdkSignIn());
    cases.set('/api/v1/sdk/tokens', paged('/api/v1/sdk/tokens'));
    // the directory is the server's: every organisation lists the same folders
    cases.set('/api/v1/services/names', { small: '/api/v1/services/names', large: '/api/v1/services/names' });
    // a hundred services, each deployed once to the end with a config published for discovery
    const deployer = await ScriptedAgent.enroll(server, owner, { hostname: 'lists-deployer' });
    const services = await times(ITEMS, (i) =>
      created('/api/v1/services', {
        name: `service-${i}`,
        script: { interpreter: 'bash', content: 'echo deploying' },
        steps: ['build', 'restart'],
        runs_on: { type: 'agent', agent_id: deployer.id },
      }),
    );
    cases.set('/api/v1/services', paged('/api/v1/services'));
    const deployments: string[] = [];
    for (const service of services) {
      deployments.push((await created('/api/v1/deployments', { service_id: service.id })).id);
      const job = await deployer.next();
      await expectStatus(
        call(server, 'PUT', '/api/v1/deployments/finish', {
          token: job.env.FP_DEPLOYMENT_TOKEN,
          body: { config: { url: `https://${service.name}.example` } },
        }),
        200,
      );
      await deployer.finish(job, 'succeeded', 0);
    }
    cases.set('/api/v1/deployments', paged('/api/v1/deployments'));
    // one deployment on one machine, and one on every machine of the organisation
    const fleetWide = await created('/api/v1/services', {
      name: 'fleet-wide',
      script: { interpreter: 'bash', content: 'echo deploying' },
      steps: ['build', 'restart'],
      runs_on: { type: 'selector', selector: { all: true } },
    });
    const everywhere = await created('/api/v1/deployments', { service_id: fleetWide.id });
    cases.set('/api/v1/deployments/{id}/targets', {
      small: `/api/v1/deployments/${deployments[0]}/targets`,
      large: `/api/v1/deployments/${everywhere.id}/targets?limit=${ITEMS}`,
    });
    // discovery is one answer for the whole organisation: no page to ask for
    cases.set('/api/v1/deployed-services', {
      small: '/api/v1/deployed-services',
      large: '/api/v1/deployed-services',
    });
    await times(ITEMS, (i) =>
      created('/api/v1/deploy-tokens', { kind: 'config', origin: `lists-${i}`, expires_in_days: 1 }),
    );
    cases.set('/api/v1/deploy-tokens', paged('/api/v1/deploy-tokens'));
    // housekeeping runs are the instance's own records, written by its upkeep: written here directly
    await server.database.db
      .insertInto('housekeeping_runs')
      .values(
        Array.from({ length: ITEMS }, (_, i) => ({
          id: newId(),
          trigger: 'schedule',
          requested_by: null,
          node: 'lists',
          status: 'succeeded',
          counts: '{"sessions":1}',
          error: null,
          started_at: new Date(Date.now() - (ITEMS - i) * 60_000).toISOString(),
          finished_at: new Date().toISOString(),
        })),
      )
      .execute();
    cases.set('/api/v1/system/housekeeping', paged('/api/v1/system/housekeeping'));

    const channels = await times(ITEMS, (i) =>
      created('/api/v1/notification-channels', {
        name: `channel-${i}`,
        kind: 'email',
        config: { to: [`oncall-${i}@example.test`] },
      }),
    );
    cases.set('/api/v1/notification-channels', paged('/api/v1/notification-channels'));
    const rules = await times(ITEMS, (i) =>
      created('/api/v1/alert-rules', {
        name: `rule-${i}`,
        kind: 'deployment_failed',
        params: {},
        channel_ids: [channels[i]!.id],
      }),
    );
    cases.set('/api/v1/alert-rules', paged('/api/v1/alert-rules'));
    await times(ITEMS, (i) =>
      created('/api/v1/silences', {
        rule_id: rules[i]!.id,
        reason: `silence-${i}`,
        ends_at: '2999-01-01T00:00:00.000Z',
      }),
    );
    cases.set('/api/v1/silences', paged('/api/v1/silences'));
    // alerts are the evaluator's: written here directly, resolved so that no pass of its moves them,
    // each of its own rule so that a lookup of rule names per alert would show
    const firedAt = new Date(Date.now() - 60_000).toISOString();
    await server.database.db
      .insertInto('alerts')
      .values(
        rules.map((rule) => ({
          id: newId(),
          org_id: owner.orgId,
          rule_id: rule.id,
          subject: 'runs',
          subject_label: 'runs',
          state: 'resolved',
          severity: 'info',
          summary: 'a deployment failed',
          fired_at: firedAt,
          acknowledged_at: null,
          acknowledged_by: null,
          notified_at: null,
          resolved_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
        })),
      )
      .execute();
    cases.set('/api/v1/alerts', paged('/api/v1/alerts'));

    // disabled, to a TEST-NET address: nothing is ever sent
    const hooks = await times(ITEMS, (i) =>
      created('/api/v1/webhooks', {
        url: `http://192.0.2.10/lists-${i}`,
        events: ['job.finished'],
        enabled: false,
      }),
    );
    cases.set('/api/v1/webhooks', paged('/api/v1/webhooks'));
    cases.set('/api/v1/webhooks/event-types', {
      small: '/api/v1/webhooks/event-types',
      large: '/api/v1/webhooks/event-types',
      items: webhookEventTypes.length,
    });
    // the builds directory's manifest, read from a file (none here): no statement of its own
    cases.set('/api/v1/agent-builds', {
      small: '/api/v1/agent-builds',
      large: '/api/v1/agent-builds',
      items: 0,
    });
    // deliveries are the enqueuer's, from bus events: written here directly, settled already
    const hook = hooks[0]!.webhook.id as string;
    await server.database.db
      .insertInto('webhook_deliveries')
      .values(
        Array.from({ length: ITEMS }, (_, i) => ({
          id: newId(),
          org_id: owner.orgId,
          webhook_id: hook,
          event: 'job.finished',
          event_key: `lists-${i}`,
          body: '{}',
          status: 'delivered',
          attempts: 1,
          next_attempt_at: null,
          last_status_code: 200,
          last_error: null,
          redelivery_of: null,
          created_at: new Date().toISOString(),
          updated_at: new Date().toISOString(),
          finished_at: new Date().toISOString(),
        })),
      )
      .execute();
    cases.set('/api/v1/webhooks/{id}/deliveries', paged(`/api/v1/webhooks/${hook}/deliveries`));
    // assistant conversations come of model calls: written here directly, the owner's
    const talkedAt = new Date().toISOString();
    await server.database.db
      .insertInto('assistant_conversations')
      .values(
        Array.from({ length: ITEMS }, (_, i) => ({
          id: newId(),
          org_id: owner.orgId,
          user_id: owner.userId,
          title: `conversation ${i}`,
          os_type: 'ubuntu',
          shell: 'bash',
          agent_id: null,
          created_at: talkedAt,
          updated_at: talkedAt,
        })),
      )
      .execute();
    cases.set('/api/v1/assistant/conversations', paged('/api/v1/assistant/conversations'));
    // what the setup set off (runs settling, deployments ending, their events) ends first
    await counter.quiet();
  }, 600_000);
  afterAll(async () => {
    await server?.close();
    rmSync(servicesDir, { recursive: true, force: true });
  });

  /**
   * The fewest statements one request issued over three tries: a cache that expired meanwhile, or a
   * background pass that ran meanwhile, only adds.
   */
  const statementsOf = async (route: string, who: Session) => {
    let fewest: { statements: string[]; body: any } | undefined;
    for (let i = 0; i < 3; i += 1) {
      const { result, statements } = await counter.during(() =>
        expectStatus(as('GET', route, undefined, who), 200),
      );
      if (!fewest || statements.length < fewest.statements.length) fewest = { statements, body: result };
    }
    return fewest!;
  };

  it('lists: every list route answers a hundred items with as many statements as one', async () => {
    const listRoutes = (await openApiOperations(server))
      .filter((op) => op.method === 'GET' && op.returnsList)
      .map((op) => op.path);
    // a new list route must be measured here too
    expect([...cases.keys()].sort()).toEqual([...listRoutes].sort());

    for (const [path, { small, large, as: who = () => owner, smallAs = who, items: listed }] of cases) {
      const one = await statementsOf(small, smallAs());
      const hundred = await statementsOf(large, who());
      const items = hundred.body.items as unknown[];
      expect(
        items.length,
        `${path} lists ${listed ?? ITEMS} items (50 roles of a member, ${ITEMS + 1} orgs)`,
      ).toBeGreaterThanOrEqual(listed ?? (path.endsWith('/roles') && path.includes('users') ? 50 : ITEMS));
      expect(hundred.statements.length, `${path}: ${hundred.statements.join(', ')}`).toBe(
        one.statements.length,
      );
      expect(hundred.statements.length, `${path}: ${hundred.statements.join(', ')}`).toBeLessThanOrEqual(
        MAX_STATEMENTS,
      );
    }
  });
});
