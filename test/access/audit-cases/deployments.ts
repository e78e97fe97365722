import { expect } from 'vitest';
import { ScriptedAgent } from '../../support/agents.js';
import { uniqueName } from '../../support/client.js';
import { created, deletedNamed, moved, patched } from './builders.js';
import type { AuditCases, AuditFixture } from './fixture.js';

/** A service of one step on the given machines (a machine record with no agent behind it by default). */
async function service(
  f: AuditFixture,
  runsOn?: object,
  extra: Record<string, unknown> = {},
): Promise<{ id: string; name: string }> {
  return f.as('POST', '/api/v1/services', {
    name: uniqueName('service'),
    script: { interpreter: 'sh', content: 'echo deploying' },
    steps: ['deploy'],
    runs_on: runsOn ?? { type: 'agent', agent_id: await f.agent() },
    ...extra,
  });
}

/** A deployment running: its job waits for an agent that never comes. */
async function running(f: AuditFixture): Promise<string> {
  const deployment = await f.as('POST', '/api/v1/deployments', { service_id: (await service(f)).id });
  return deployment.id;
}

/** A manual rollout over two machines, paused after its first batch succeeded: it waits for continue. */
async function paused(f: AuditFixture): Promise<string> {
  const tag = uniqueName('rollout');
  const agents: ScriptedAgent[] = [];
  for (const i of [0, 1]) {
    const agent = await ScriptedAgent.enroll(f.server, f.owner, { hostname: `${tag}-${i}` });
    await f.as('PATCH', `/api/v1/agents/${agent.id}`, { tags: [tag] }, 200);
    agents.push(agent);
  }
  const svc = await service(
    f,
    { type: 'selector', selector: { tags: [tag] } },
    { rollout: { batch_size: 1, manual_continue: true } },
  );
  const deployment = await f.as('POST', '/api/v1/deployments', { service_id: svc.id });
  const first = deployment.targets.find((t: { batch: number }) => t.batch === 0);
  const agent = agents.find((a) => a.id === first.agent_id)!;
  // a new agent may also take jobs other cases left for any agent: only the deploy job is played
  const job = (await agent.poll()).find((j) => j.env?.FP_DEPLOYMENT_ID === deployment.id);
  if (!job) throw new Error(`the deploy job of ${deployment.id} was not claimed`);
  await agent.finish(job, 'succeeded', 0);
  const now = await f.as('GET', `/api/v1/deployments/${deployment.id}`, undefined, 200);
  expect(now).toMatchObject({ status: 'paused', awaiting_continue: true });
  return deployment.id;
}

async function deployToken(f: AuditFixture): Promise<{ id: string; secret: string }> {
  const reply = await f.as('POST', '/api/v1/deploy-tokens', {
    kind: 'config',
    origin: 'audit',
    expires_in_days: 1,
  });
  return { id: reply.token.id, secret: reply.secret };
}

/** Services, deploy tokens and deployments. A deploy script's own reports are not audited (see audit.test.ts). */
export const deploymentCases: AuditCases = {
  'POST /api/v1/services': created('service', async (f) => ({
    body: {
      name: 'audited-service',
      script: { interpreter: 'sh', content: 'echo audited' },
      steps: ['build', 'restart'],
      runs_on: { type: 'agent', agent_id: await f.agent() },
      secret_env: { DB_PASSWORD: 'audited-clear-secret' },
    },
    check: (e) => {
      expect(e.after).toMatchObject({ name: 'audited-service', steps: ['build', 'restart'] });
      expect(JSON.stringify(e)).not.toContain('audited-clear-secret');
    },
  })),
  'PATCH /api/v1/services/{id}': patched('service', {
    of: async (f) => (await service(f)).id,
    field: 'description',
    from: '',
    to: 'patched',
  }),
  'DELETE /api/v1/services/{id}': deletedNamed('service', (f) => service(f)),
  // One event for the whole sync, naming the organisation whose directory it brought in.
  'POST /api/v1/services/sync': {
    action: 'synced',
    entityType: 'service_directory',
    before: false,
    after: true,
    async prepare(f) {
      return {
        entityId: f.owner.orgId,
        check: (e) => expect(e.after).toMatchObject({ created: [], updated: [], removed: [], invalid: [] }),
      };
    },
  },
  'POST /api/v1/deploy-tokens': created('deploy_token', async (f) => ({
    body: { kind: 'service', service_id: (await service(f)).id, origin: 'github', expires_in_days: 7 },
    entityId: (reply) => reply.token.id,
    check: (e, reply) => {
      expect(e.after).toMatchObject({ kind: 'service', origin: 'github', revoked_at: null });
      expect(JSON.stringify(e)).not.toContain(reply.secret);
    },
  })),
  'DELETE /api/v1/deploy-tokens/{id}': {
    action: 'status_changed',
    entityType: 'deploy_token',
    before: true,
    after: true,
    async prepare(f) {
      const token = await deployToken(f);
      return {
        params: { id: token.id },
        check: (e) => {
          expect(e.before.revoked_at).toBeNull();
          expect(e.after.revoked_at).toEqual(expect.any(String));
          expect(JSON.stringify(e)).not.toContain(token.secret);
        },
      };
    },
  },
  'POST /api/v1/deployments': created('deployment', async (f) => {
    const svc = await service(f);
    return {
      body: { service_id: svc.id, env: { GIT_SHA: 'abc123' }, secret_env: { API_KEY: 'audited-api-key' } },
      check: (e) => {
        expect(e.after).toMatchObject({ service_id: svc.id, env: { GIT_SHA: 'abc123' }, machines: 1 });
        expect(JSON.stringify(e)).not.toContain('audited-api-key');
      },
    };
  }),
  'POST /api/v1/deployments/{id}/cancel': moved('status_changed', 'deployment', {
    of: running,
    field: 'status',
    from: 'running',
    to: 'failed',
  }),
  'POST /api/v1/deployments/{id}/continue': moved('status_changed', 'deployment', {
    of: paused,
    field: 'status',
    from: 'paused',
    to: 'running',
  }),
};
