import { expect } from 'vitest';
import { uniqueName } from '../../support/client.js';
import { created, deletedNamed, modified, patched } from './builders.js';
import type { AuditCase, AuditCases, AuditFixture } from './fixture.js';

/** A runner robot of the fixture's organisation: its id, name and one-time machine key. */
async function runner(f: AuditFixture): Promise<{ id: string; name: string; machineKey: string }> {
  const reply = await f.as('POST', '/api/v1/robots', { name: uniqueName('robot'), kind: 'runner' });
  return { id: reply.robot.id, name: reply.robot.name, machineKey: reply.machine_key };
}

/** A runner that registered, so that it holds a token. */
async function registered(f: AuditFixture): Promise<{ id: string; token: string }> {
  const robot = await runner(f);
  const reply = await f.as(
    'POST',
    '/api/v1/runner/register',
    { name: robot.name, machine_key: robot.machineKey },
    200,
  );
  return { id: robot.id, token: reply.robot_token };
}

const revokeToken: AuditCase = {
  action: 'status_changed',
  entityType: 'robot',
  before: true,
  after: true,
  async prepare(f) {
    const robot = await registered(f);
    return {
      params: { id: robot.id },
      check: (e) => {
        expect(e.before.name).toEqual(e.after.name);
        expect(JSON.stringify(e)).not.toContain(robot.token);
      },
    };
  },
};

const register: AuditCase = {
  action: 'status_changed',
  entityType: 'robot',
  before: true,
  after: true,
  async prepare(f) {
    const robot = await runner(f);
    return {
      caller: null,
      body: { name: robot.name, machine_key: robot.machineKey },
      entityId: (reply) => reply.robot_id,
      // The runner registers itself: the robot is the actor, in its organisation.
      outcome: () => ({ actorType: 'robot', actorId: robot.id }),
      check: (e, reply) => {
        expect(e.actor_label).toBe(robot.name);
        expect(JSON.stringify(e)).not.toContain(robot.machineKey);
        expect(JSON.stringify(e)).not.toContain(reply.robot_token);
      },
    };
  },
};

/** Robots and the runner's registration. */
export const robotCases: AuditCases = {
  'POST /api/v1/robots': created('robot', async () => ({
    body: { name: 'audited robot', kind: 'runner', pools: ['audit'] },
    entityId: (reply) => reply.robot.id,
    check: (e, reply) => {
      expect(e.after).toMatchObject({ name: 'audited robot', kind: 'runner', pools: ['audit'] });
      expect(JSON.stringify(e)).not.toContain(reply.machine_key);
    },
  })),
  'PATCH /api/v1/robots/{id}': patched('robot', {
    of: async (f) => (await runner(f)).id,
    field: 'description',
    from: '',
    to: 'patched',
  }),
  'DELETE /api/v1/robots/{id}': deletedNamed('robot', runner),
  'POST /api/v1/robots/{id}/machine-key': modified('robot', async (f) => {
    const robot = await runner(f);
    return {
      params: { id: robot.id },
      check: (e, reply) => {
        expect(e.after.machine_key_issued).toBe(true);
        expect(JSON.stringify(e)).not.toContain(robot.machineKey);
        expect(JSON.stringify(e)).not.toContain(reply.machine_key);
      },
    };
  }),
  'POST /api/v1/robots/{id}/revoke-token': revokeToken,
  'POST /api/v1/runner/register': register,
};
