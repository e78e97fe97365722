import { expect } from 'vitest';
import { enroll, facts } from '../../support/agents.js';
import { created, deletedNamed, moved, patched } from './builders.js';
import type { AuditCases } from './fixture.js';

const JOB = { interpreter: 'sh', command: 'echo audited' };

/** Agents, groups, enrollment, jobs and runs. */
export const fleetCases: AuditCases = {
  'POST /api/v1/agents': created('agent', async () => ({
    body: { name: 'audited machine' },
    entityId: (reply) => reply.agent.id,
    check: (e, reply) => {
      expect(e.after.name).toBe('audited machine');
      expect(JSON.stringify(e)).not.toContain(reply.machine_key);
    },
  })),
  'PATCH /api/v1/agents/{id}': patched('agent', {
    of: (f) => f.agent(),
    field: 'notes',
    from: '',
    to: 'patched',
  }),
  // A soft delete: the row stays, marked, so the event has an `after` too.
  'DELETE /api/v1/agents/{id}': {
    action: 'deleted',
    entityType: 'agent',
    before: true,
    after: true,
    async prepare(f) {
      return {
        params: { id: await f.agent() },
        check: (e) => expect(e.after.deleted_at).toEqual(expect.any(String)),
      };
    },
  },
  // a registered agent is online: it hears the request with its next heartbeat
  'POST /api/v1/agents/{id}/facts/refresh': moved('modified', 'agent', {
    of: async (f) => (await enroll(f.server, f.owner)).agentId,
    field: 'facts_requested_at',
    from: null,
    to: expect.any(String),
  }),
  'POST /api/v1/agent-groups': created('agent_group', async () => ({
    body: { name: 'audited group' },
    check: (e) => expect(e.after.name).toBe('audited group'),
  })),
  'PATCH /api/v1/agent-groups/{id}': patched('agent_group', {
    of: async (f) => (await f.group()).id,
    field: 'description',
    from: 'for audit',
    to: 'changed',
  }),
  'DELETE /api/v1/agent-groups/{id}': deletedNamed('agent_group', (f) => f.group()),
  'POST /api/v1/enrollment-tokens': created('enrollment_token', async () => ({
    body: { name: 'audited enrollment' },
    entityId: (reply) => reply.enrollment_token.id,
    check: (e, reply) => {
      expect(e.after.name).toBe('audited enrollment');
      expect(JSON.stringify(e)).not.toContain(reply.secret);
    },
  })),
  'DELETE /api/v1/enrollment-tokens/{id}': moved('status_changed', 'enrollment_token', {
    of: async (f) => (await f.enrollmentToken()).enrollment_token.id,
    field: 'revoked_at',
    from: null,
    to: expect.any(String),
  }),
  'POST /api/v1/agent/register': created('agent', async (f) => {
    const enrollment = await f.enrollmentToken();
    return {
      caller: null,
      body: { enrollment_token: enrollment.secret, facts: facts({ hostname: 'audited-host' }) },
      entityId: (reply) => reply.agent_id,
      // The agent registers itself, into the organisation of the token.
      outcome: (reply) => ({ actorType: 'agent', actorId: reply.agent_id }),
      check: (e, reply) => {
        expect(e.actor_label).toBe('audited-host');
        expect(JSON.stringify(e)).not.toContain(enrollment.secret);
        expect(JSON.stringify(e)).not.toContain(reply.agent_token);
      },
    };
  }),
  'POST /api/v1/agents/{id}/jobs': created('job', async (f) => ({
    params: { id: await f.agent() },
    body: JOB,
    check: (e) => expect(e.after.command).toBe(JOB.command),
  })),
  'POST /api/v1/jobs': created('job', async (f) => {
    await f.agent();
    return {
      body: { ...JOB, pool: {} },
      check: (e) => expect(e.after).toMatchObject({ agent_id: null, pool: {}, command: JOB.command }),
    };
  }),
  'POST /api/v1/jobs/{id}/cancel': moved('status_changed', 'job', {
    of: async (f) => (await f.job()).id,
    field: 'status',
    from: 'queued',
    to: 'canceled',
  }),
  'POST /api/v1/runs': created('run', async (f) => ({
    body: { name: 'audited run', target: { agent_ids: [await f.agent()] }, job: JOB },
  })),
  'POST /api/v1/runs/{id}/cancel': moved('status_changed', 'run', {
    of: async (f) => (await f.run()).id,
    field: 'status',
    from: 'running',
    to: 'canceled',
  }),
};
