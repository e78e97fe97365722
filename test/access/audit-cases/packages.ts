import { expect } from 'vitest';
import { uniqueName } from '../../support/client.js';
import { packageZip, upload } from '../../packages/zips.js';
import { created, deletedNamed, moved } from './builders.js';
import type { AuditCases, AuditFixture } from './fixture.js';

/** The multipart form of a package upload, as the console sends it. */
async function packageForm(name: string): Promise<FormData> {
  const form = new FormData();
  form.append('file', new Blob([await packageZip({ name })], { type: 'application/zip' }), `${name}.zip`);
  return form;
}

async function uploaded(f: AuditFixture): Promise<{ id: string; name: string }> {
  const reply = await upload(f.server, f.owner.token, await packageZip({ name: uniqueName('pkg') }));
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body;
}

/** Automation packages: upload, status changes, delete. */
export const packageCases: AuditCases = {
  'POST /api/v1/packages': created('package', async () => ({
    body: await packageForm('audited-package'),
    check: (e) =>
      expect(e.after).toMatchObject({
        name: 'audited-package',
        version: '1.0.0',
        active: true,
        entry_points: [expect.objectContaining({ name: 'main' })],
      }),
  })),
  'POST /api/v1/packages/{id}/deactivate': moved('status_changed', 'package', {
    of: async (f) => (await uploaded(f)).id,
    field: 'active',
    from: true,
    to: false,
  }),
  'POST /api/v1/packages/{id}/activate': moved('status_changed', 'package', {
    of: async (f) => {
      const { id } = await uploaded(f);
      await f.as('POST', `/api/v1/packages/${id}/deactivate`, undefined, 200);
      return id;
    },
    field: 'active',
    from: false,
    to: true,
  }),
  'DELETE /api/v1/packages/{id}': deletedNamed('package', uploaded),
};
