import { expect } from 'vitest';
import { created } from './builders.js';
import type { AuditCases } from './fixture.js';

/** A housekeeping run asked for by hand: the event holds what it deleted. */
export const housekeepingCases: AuditCases = {
  'POST /api/v1/system/housekeeping/run': created('housekeeping_run', async () => ({
    check: (e, reply) => {
      expect(e.after).toMatchObject({ trigger: 'manual', status: 'succeeded', counts: reply.counts });
    },
  })),
};
