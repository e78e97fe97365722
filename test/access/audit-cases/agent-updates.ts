import { expect } from 'vitest';
import { modified } from './builders.js';
import type { AuditCases } from './fixture.js';

/** The organisation's agent update policy: the event holds it before and after. */
export const agentUpdateCases: AuditCases = {
  'PUT /api/v1/agent-updates': modified('agent_update_policy', async (f) => ({
    body: { paused: true, stage: 'all', canary_group_id: null },
    entityId: f.owner.orgId,
    check: (e) => {
      expect(e.before).toMatchObject({ paused: false, stage: 'all' });
      expect(e.after).toMatchObject({ paused: true, stage: 'all', canary_group_id: null });
    },
    undo: async () => {
      await f.as('PUT', '/api/v1/agent-updates', { paused: false, stage: 'all', canary_group_id: null }, 200);
    },
  })),
};
