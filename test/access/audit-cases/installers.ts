import { expect } from 'vitest';
import { created } from './builders.js';
import type { AuditCases } from './fixture.js';

/** Installers (the audit server serves fake agent builds, see audit.test.ts). */
export const installerCases: AuditCases = {
  // The token it makes writes its own event too; this one names the installer and never the token.
  'POST /api/v1/installers': created('installer', async () => ({
    body: { os: 'linux', arch: 'x64', format: 'command', token: { tags: ['audited'] } },
    entityId: (reply) => reply.enrollment_token_id,
    check: (e, reply) => {
      expect(e.after).toMatchObject({
        os: 'linux',
        arch: 'x64',
        format: 'command',
        enrollment: { id: reply.enrollment_token_id, created: true },
      });
      expect(JSON.stringify(e)).not.toContain(reply.enrollment_token);
    },
  })),
};
