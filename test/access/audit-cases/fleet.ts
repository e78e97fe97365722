import { expect } from 'vitest';
import { facts } from '../../fleet/fleet.js';
import type { AuditCases } from './fixture.js';

const JOB = { interpreter: 'sh', command: 'echo audited' };

/** Agents, groups, enrollment, jobs and runs. */
export const fleetCases: AuditCases = {
  'POST /api/v1/agents': {
    action: 'created',
    entityType: 'agent',
    before: false,
    after: true,
    async prepare() {
      return {
        body: { name: 'audited machine' },
        entityId: (reply) => reply.agent.id,
        check: (e, reply) => {
          expect(e.after.name).toBe('audited machine');
          expect(JSON.stringify(e)).not.toContain(reply.machine_key);
        },
      };
    },
  },
  'PATCH /api/v1/agents/{id}': {
    action: 'modified',
    entityType: 'agent',
    before: true,
    after: true,
    async prepare(f) {
      return {
        params: { id: await f.agent() },
        body: { notes: 'patched' },
        check: (e) => {
          expect(e.before.notes).toBe('');
          expect(e.after.notes).toBe('patched');
        },
      };
    },
  },
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
  'POST /api/v1/agent-groups': {
    action: 'created',
    entityType: 'agent_group',
    before: false,
    after: true,
    async prepare() {
      return {
        body: { name: 'audited group' },
        entityId: (reply) => reply.id,
        check: (e) => expect(e.after.name).toBe('audited group'),
      };
    },
  },
  'PATCH /api/v1/agent-groups/{id}': {
    action: 'modified',
    entityType: 'agent_group',
    before: true,
    after: true,
    async prepare(f) {
      return {
        params: { id: (await f.group()).id },
        body: { description: 'changed' },
        check: (e) => {
          expect(e.before.description).toBe('for audit');
          expect(e.after.description).toBe('changed');
        },
      };
    },
  },
  'DELETE /api/v1/agent-groups/{id}': {
    action: 'deleted',
    entityType: 'agent_group',
    before: true,
    after: false,
    async prepare(f) {
      const group = await f.group();
      return { params: { id: group.id }, check: (e) => expect(e.before.name).toBe(group.name) };
    },
  },
  'POST /api/v1/enrollment-tokens': {
    action: 'created',
    entityType: 'enrollment_token',
    before: false,
    after: true,
    async prepare() {
      return {
        body: { name: 'audited enrollment' },
        entityId: (reply) => reply.enrollment_token.id,
        check: (e, reply) => {
          expect(e.after.name).toBe('audited enrollment');
          expect(JSON.stringify(e)).not.toContain(reply.secret);
        },
      };
    },
  },
  'DELETE /api/v1/enrollment-tokens/{id}': {
    action: 'status_changed',
    entityType: 'enrollment_token',
    before: true,
    after: true,
    async prepare(f) {
      return {
        params: { id: (await f.enrollmentToken()).enrollment_token.id },
        check: (e) => {
          expect(e.before.revoked_at).toBeNull();
          expect(e.after.revoked_at).toEqual(expect.any(String));
        },
      };
    },
  },
  'POST /api/v1/agent/register': {
    action: 'created',
    entityType: 'agent',
    before: false,
    after: true,
    async prepare(f) {
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
    },
  },
  'POST /api/v1/agents/{id}/jobs': {
    action: 'created',
    entityType: 'job',
    before: false,
    after: true,
    async prepare(f) {
      return {
        params: { id: await f.agent() },
        body: JOB,
        entityId: (reply) => reply.id,
        check: (e) => expect(e.after.command).toBe(JOB.command),
      };
    },
  },
  'POST /api/v1/jobs/{id}/cancel': {
    action: 'status_changed',
    entityType: 'job',
    before: true,
    after: true,
    async prepare(f) {
      return {
        params: { id: (await f.job()).id },
        check: (e) => {
          expect(e.before.status).toBe('queued');
          expect(e.after.status).toBe('canceled');
        },
      };
    },
  },
  'POST /api/v1/runs': {
    action: 'created',
    entityType: 'run',
    before: false,
    after: true,
    async prepare(f) {
      return {
        body: { name: 'audited run', target: { agent_ids: [await f.agent()] }, job: JOB },
        entityId: (reply) => reply.id,
      };
    },
  },
  'POST /api/v1/runs/{id}/cancel': {
    action: 'status_changed',
    entityType: 'run',
    before: true,
    after: true,
    async prepare(f) {
      return {
        params: { id: (await f.run()).id },
        check: (e) => {
          expect(e.before.status).toBe('running');
          expect(e.after.status).toBe('canceled');
        },
      };
    },
  },
};
