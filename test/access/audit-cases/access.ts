import { expect } from 'vitest';
import type { AuditCases } from './fixture.js';

/** Roles, members, invites and API keys. */
export const accessCases: AuditCases = {
  'POST /api/v1/access/roles': {
    action: 'created',
    entityType: 'role',
    before: false,
    after: true,
    async prepare() {
      return {
        body: { name: 'created-role', permissions: ['users:read'] },
        entityId: (reply) => reply.id,
        check: (e) => expect(e.after).toMatchObject({ name: 'created-role', permissions: ['users:read'] }),
      };
    },
  },
  'PATCH /api/v1/access/roles/{id}': {
    action: 'modified',
    entityType: 'role',
    before: true,
    after: true,
    async prepare(f) {
      const role = await f.role();
      return {
        params: { id: role.id },
        body: { description: 'changed' },
        check: (e) => {
          expect(e.before.description).toBe('for audit');
          expect(e.after.description).toBe('changed');
        },
      };
    },
  },
  'DELETE /api/v1/access/roles/{id}': {
    action: 'deleted',
    entityType: 'role',
    before: true,
    after: false,
    async prepare(f) {
      const role = await f.role();
      return { params: { id: role.id }, check: (e) => expect(e.before.name).toBe(role.name) };
    },
  },
  'PUT /api/v1/access/users/{id}/roles': {
    action: 'modified',
    entityType: 'member_roles',
    before: true,
    after: true,
    async prepare(f) {
      const member = await f.member('viewer');
      return {
        params: { id: member.userId },
        body: { role_ids: [await f.roleId('operator')] },
        check: (e) => {
          expect(e.before.roles.map((r: { name: string }) => r.name)).toEqual(['viewer']);
          expect(e.after.roles.map((r: { name: string }) => r.name)).toEqual(['operator']);
        },
      };
    },
  },
  'DELETE /api/v1/access/users/{id}': {
    action: 'deleted',
    entityType: 'member',
    before: true,
    after: false,
    async prepare(f) {
      const member = await f.member('viewer');
      return { params: { id: member.userId }, check: (e) => expect(e.before.email).toBe(member.email) };
    },
  },
  'POST /api/v1/access/invites': {
    action: 'created',
    entityType: 'invite',
    before: false,
    after: true,
    async prepare(f) {
      return {
        body: { email: 'invitee@example.test', role_id: await f.roleId('viewer') },
        entityId: (reply) => reply.invite.id,
        check: (e, reply) => {
          expect(e.after.email).toBe('invitee@example.test');
          expect(JSON.stringify(e)).not.toContain(reply.token);
        },
      };
    },
  },
  'DELETE /api/v1/access/invites/{id}': {
    action: 'deleted',
    entityType: 'invite',
    before: true,
    after: true,
    async prepare(f) {
      const invite = await f.as('POST', '/api/v1/access/invites', {
        email: 'revoked@example.test',
        role_id: await f.roleId('viewer'),
      });
      return {
        params: { id: invite.invite.id },
        check: (e) => {
          expect(e.before.status).toBe('pending');
          expect(e.after.status).toBe('revoked');
        },
      };
    },
  },
  'POST /api/v1/api-keys': {
    action: 'created',
    entityType: 'api_key',
    before: false,
    after: true,
    async prepare(f) {
      return {
        body: { name: 'audited key', role_id: await f.roleId('viewer') },
        entityId: (reply) => reply.key.id,
        check: (e, reply) => {
          expect(e.after.name).toBe('audited key');
          expect(JSON.stringify(e)).not.toContain(reply.secret);
        },
      };
    },
  },
  'DELETE /api/v1/api-keys/{id}': {
    action: 'status_changed',
    entityType: 'api_key',
    before: true,
    after: true,
    async prepare(f) {
      const key = await f.as('POST', '/api/v1/api-keys', {
        name: 'doomed key',
        role_id: await f.roleId('viewer'),
      });
      return {
        params: { id: key.key.id },
        check: (e) => {
          expect(e.before.revoked_at).toBeNull();
          expect(e.after.revoked_at).toEqual(expect.any(String));
        },
      };
    },
  },
};

/** A change to one field of each settings group, and what the field held before. */
const settingsChanges: Record<string, [field: string, before: unknown, after: unknown]> = {
  general: ['instance_name', 'Fleetplane', 'Audited fleet'],
  // Named like a secret, but a number: a setting, so the audit log shows it in clear.
  security: ['password_min_length', 8, 12],
  jobs: ['max_attempts', 3, 7],
  // Not the SMTP fields: the masking test of the audit log starts from them empty.
  email: ['from_address', 'fleetplane@localhost', 'audit@example.test'],
  // Not the level: the password reset cases read their mail from the server's log.
  logging: ['audit_retention_days', 365, 400],
  ai: ['model', '', 'audited-model'],
};

/** Every settings group, one case each. */
export const settingsCases: AuditCases = Object.fromEntries(
  Object.entries(settingsChanges).map(([group, [field, before, after]]) => [
    `PUT /api/v1/settings/${group}`,
    {
      action: 'modified',
      entityType: 'settings',
      before: true,
      after: true,
      async prepare(f) {
        const route = `/api/v1/settings/${group}`;
        expect((await f.as('GET', route, undefined, 200))[field]).toBe(before);
        return {
          params: {},
          body: { [field]: after },
          entityId: group,
          check: (e) => {
            expect(e.before[field]).toBe(before);
            expect(e.after[field]).toBe(after);
          },
          undo: async () => {
            await f.as('PUT', route, { [field]: before }, 200);
          },
        };
      },
    },
  ]),
);
