import { expect } from 'vitest';
import { uniqueName } from '../../support/client.js';
import { processBody, uploadPackage } from '../../processes/support.js';
import { created, deletedNamed, modified } from './builders.js';
import type { AuditCases, AuditFixture } from './fixture.js';

/** A process of a package uploaded for it, with the fixture's owner. */
async function process(f: AuditFixture): Promise<any> {
  const pkg = await uploadPackage(f.server, f.owner, uniqueName('audit-pkg'), '1.0.0');
  return f.as('POST', '/api/v1/processes', processBody(pkg.name, { name: uniqueName('process') }));
}

/** Processes: their definitions and versions. */
export const processCases: AuditCases = {
  'POST /api/v1/processes': created('process', async (f) => {
    const pkg = await uploadPackage(f.server, f.owner, uniqueName('audit-pkg'), '1.0.0');
    return {
      body: processBody(pkg.name, { name: 'audited process' }),
      check: (e) =>
        expect(e.after).toMatchObject({ name: 'audited process', package_name: pkg.name, version: 1 }),
    };
  }),
  'PATCH /api/v1/processes/{id}': modified('process', async (f) => ({
    params: { id: (await process(f)).id },
    body: { timeout_seconds: 60 },
    check: (e) => {
      expect(e.before).toMatchObject({ timeout_seconds: 3600, version: 1 });
      expect(e.after).toMatchObject({ timeout_seconds: 60, version: 2 });
    },
  })),
  'DELETE /api/v1/processes/{id}': deletedNamed('process', process),
};
