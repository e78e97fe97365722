import { expect } from 'vitest';
import { created, deleted, deletedNamed, modified, moved, patched } from './builders.js';
import type { AuditCases } from './fixture.js';

/** Roles, members, invites and API keys. */
export const accessCases: AuditCases = {
  'POST /api/v1/access/roles': created('role', async () => ({
    body: { name: 'created-role', permissions: ['users:read'] },
    check: (e) => expect(e.after).toMatchObject({ name: 'created-role', permissions: ['users:read'] }),
  })),
  'PATCH /api/v1/access/roles/{id}': patched('role', {
    of: async (f) => (await f.role()).id,
    field: 'description',
    from: 'for audit',
    to: 'changed',
  }),
  'DELETE /api/v1/access/roles/{id}': deletedNamed('role', (f) => f.role()),
  'PUT /api/v1/access/users/{id}/roles': modified('member_roles', async (f) => {
    const member = await f.member('viewer');
    return {
      params: { id: member.userId },
      body: { role_ids: [await f.roleId('operator')] },
      check: (e) => {
        expect(e.before.roles.map((r: { name: string }) => r.name)).toEqual(['viewer']);
        expect(e.after.roles.map((r: { name: string }) => r.name)).toEqual(['operator']);
      },
    };
  }),
  'DELETE /api/v1/access/users/{id}': deleted('member', async (f) => {
    const member = await f.member('viewer');
    return { params: { id: member.userId }, check: (e) => expect(e.before.email).toBe(member.email) };
  }),
  'POST /api/v1/access/invites': created('invite', async (f) => ({
    body: { email: 'invitee@example.test', role_id: await f.roleId('viewer') },
    entityId: (reply) => reply.invite.id,
    check: (e, reply) => {
      expect(e.after.email).toBe('invitee@example.test');
      expect(JSON.stringify(e)).not.toContain(reply.token);
    },
  })),
  // Revoked, not removed: the event shows the invite's status before and after.
  'DELETE /api/v1/access/invites/{id}': moved('deleted', 'invite', {
    of: async (f) => {
      const body = { email: 'revoked@example.test', role_id: await f.roleId('viewer') };
      return (await f.as('POST', '/api/v1/access/invites', body)).invite.id;
    },
    field: 'status',
    from: 'pending',
    to: 'revoked',
  }),
  'POST /api/v1/api-keys': created('api_key', async (f) => ({
    body: { name: 'audited key', role_id: await f.roleId('viewer') },
    entityId: (reply) => reply.key.id,
    check: (e, reply) => {
      expect(e.after.name).toBe('audited key');
      expect(JSON.stringify(e)).not.toContain(reply.secret);
    },
  })),
  'DELETE /api/v1/api-keys/{id}': moved('status_changed', 'api_key', {
    of: async (f) => {
      const body = { name: 'doomed key', role_id: await f.roleId('viewer') };
      return (await f.as('POST', '/api/v1/api-keys', body)).key.id;
    },
    field: 'revoked_at',
    from: null,
    to: expect.any(String),
  }),
};

/** A change to one field of each settings group, and what the field held before. */
const settingsChanges: Record<string, [field: string, before: unknown, after: unknown]> = {
  general: ['instance_name', 'Fleetplane', 'Audited fleet'],
  // Named like a secret, but a number: a setting, so the audit log shows it in clear.
  security: ['password_min_length', 8, 12],
  jobs: ['max_attempts', 1, 7],
  // Not the SMTP fields: the masking test of the audit log starts from them empty.
  email: ['from_address', 'fleetplane@localhost', 'audit@example.test'],
  // Not the level: the password reset cases read their mail from the server's log.
  logging: ['audit_retention_days', 365, 400],
  ai: ['model', '', 'audited-model'],
  packages: ['max_upload_mib', 100, 200],
  webhooks: ['max_attempts', 8, 5],
  metrics: ['minute_retention_days', 7, 14],
  alerts: ['evaluation_interval_seconds', 30, 60],
};

/** Every settings group, one case each. */
export const settingsCases: AuditCases = Object.fromEntries(
  Object.entries(settingsChanges).map(([group, [field, before, after]]) => [
    `PUT /api/v1/settings/${group}`,
    modified('settings', async (f) => {
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
    }),
  ]),
);
