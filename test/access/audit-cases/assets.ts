import { expect } from 'vitest';
import { call, expectStatus, uniqueName } from '../../support/client.js';
import { created, deletedNamed, modified, patched } from './builders.js';
import type { AuditCase, AuditCases, AuditFixture } from './fixture.js';

const PASSWORD = 'audit-case-password-never-shown';

function asset(f: AuditFixture, value: unknown = { username: 'svc', password: PASSWORD }): Promise<any> {
  return f.as('POST', '/api/v1/assets', { name: uniqueName('asset'), type: 'credential', value });
}

async function robot(f: AuditFixture): Promise<string> {
  const reply = await f.as('POST', '/api/v1/robots', { name: uniqueName('robot'), kind: 'runner' });
  return reply.robot.id;
}

/** Every value change is audited as a change of the asset, its value never in the event. */
function valueChange(robotValue: boolean): AuditCase {
  return modified('asset', async (f) => {
    const made = await asset(f);
    const robotId = robotValue ? await robot(f) : undefined;
    const fresh = 'fresh-password-never-shown';
    return {
      params: { id: made.id, ...(robotId ? { robotId } : {}) },
      body: { value: { username: 'svc', password: fresh } },
      check: (e) => {
        expect(e.after).toMatchObject({ robot_id: robotId ?? null, value: 'changed', has_value: true });
        expect(JSON.stringify(e)).not.toContain(fresh);
        expect(JSON.stringify(e)).not.toContain(PASSWORD);
      },
    };
  });
}

/** A device sign-in started by an SDK and approved by the fixture's owner: its device code. */
async function approvedDevice(f: AuditFixture): Promise<string> {
  const started = await expectStatus(
    call(f.server, 'POST', '/api/v1/sdk/device/start', { body: { client_name: 'audited sdk' } }),
    200,
  );
  await f.as('POST', '/api/v1/sdk/device/confirm', { user_code: started.user_code, approve: true }, 200);
  return started.device_code;
}

/** The id of the owner's newest SDK token. */
async function newestToken(f: AuditFixture): Promise<string> {
  const tokens = await f.as('GET', '/api/v1/sdk/tokens', undefined, 200);
  return tokens.items[0].id;
}

/** Credential assets and their values. */
export const assetCases: AuditCases = {
  'POST /api/v1/assets': created('asset', async () => ({
    body: { name: 'audited-asset', type: 'secret', value: PASSWORD },
    check: (e) => {
      expect(e.after).toMatchObject({ name: 'audited-asset', type: 'secret', has_value: true });
      expect(JSON.stringify(e)).not.toContain(PASSWORD);
    },
  })),
  'PATCH /api/v1/assets/{id}': patched('asset', {
    of: async (f) => (await asset(f)).id,
    field: 'description',
    from: '',
    to: 'patched',
  }),
  'DELETE /api/v1/assets/{id}': deletedNamed('asset', (f) => asset(f)),
  'PUT /api/v1/assets/{id}/value': valueChange(false),
  'PUT /api/v1/assets/{id}/robots/{robotId}/value': valueChange(true),
  'DELETE /api/v1/assets/{id}/robots/{robotId}/value': modified('asset', async (f) => {
    const made = await asset(f);
    const robotId = await robot(f);
    await f.as(
      'PUT',
      `/api/v1/assets/${made.id}/robots/${robotId}/value`,
      { value: { username: 'r', password: 'p' } },
      200,
    );
    return {
      params: { id: made.id, robotId },
      check: (e) => {
        expect(e.before).toMatchObject({ robot_id: robotId, has_value: true });
        expect(e.after).toMatchObject({ robot_id: robotId, has_value: false });
      },
    };
  }),
};

/** SDK sign-in: the user's decision, the token's issue (by the SDK, as the new token) and its revocation. */
export const sdkCases: AuditCases = {
  'POST /api/v1/sdk/device/confirm': {
    action: 'status_changed',
    entityType: 'sdk_device',
    before: true,
    after: true,
    async prepare(f) {
      const started = await expectStatus(
        call(f.server, 'POST', '/api/v1/sdk/device/start', { body: { client_name: 'audited sdk' } }),
        200,
      );
      return {
        body: { user_code: started.user_code, approve: false },
        entityId: null,
        check: (e) => {
          expect(e.before.status).toBe('pending');
          expect(e.after).toEqual({ client_name: 'audited sdk', status: 'denied' });
          expect(JSON.stringify(e)).not.toContain(started.device_code);
        },
      };
    },
  },
  'POST /api/v1/sdk/device/token': {
    action: 'created',
    entityType: 'sdk_token',
    before: false,
    after: true,
    async prepare(f) {
      const deviceCode = await approvedDevice(f);
      return {
        caller: null,
        body: { device_code: deviceCode },
        entityId: null,
        outcome: async () => ({
          reader: f.owner.token,
          actorType: 'sdk_token',
          actorId: await newestToken(f),
        }),
        check: (e, reply) => {
          expect(e.after).toMatchObject({
            client_name: 'audited sdk',
            user_id: f.owner.userId,
            revoked_at: null,
          });
          expect(JSON.stringify(e)).not.toContain(reply.access_token);
          expect(JSON.stringify(e)).not.toContain(deviceCode);
        },
      };
    },
  },
  'DELETE /api/v1/sdk/tokens/{id}': {
    action: 'status_changed',
    entityType: 'sdk_token',
    before: true,
    after: true,
    async prepare(f) {
      await expectStatus(
        call(f.server, 'POST', '/api/v1/sdk/device/token', {
          body: { device_code: await approvedDevice(f) },
        }),
        200,
      );
      return {
        params: { id: await newestToken(f) },
        check: (e) => {
          expect(e.before.revoked_at).toBeNull();
          expect(e.after.revoked_at).toEqual(expect.any(String));
        },
      };
    },
  },
};
