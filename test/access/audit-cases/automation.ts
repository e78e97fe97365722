import { expect } from 'vitest';
import type { AuditCase, AuditCases } from './fixture.js';

/** Scripts and saved commands, and running them. */
export const scriptCases: AuditCases = {
  'POST /api/v1/scripts': {
    action: 'created',
    entityType: 'script',
    before: false,
    after: true,
    async prepare() {
      return {
        body: { name: 'audited script', language: 'sh', content: 'echo audited' },
        entityId: (reply) => reply.id,
        check: (e) => expect(e.after).toMatchObject({ name: 'audited script', version: 1 }),
      };
    },
  },
  'PATCH /api/v1/scripts/{id}': {
    action: 'modified',
    entityType: 'script',
    before: true,
    after: true,
    async prepare(f) {
      return {
        params: { id: (await f.script()).id },
        body: { content: 'echo changed' },
        check: (e) => {
          expect(e.before).toMatchObject({ content: 'echo audited', version: 1 });
          expect(e.after).toMatchObject({ content: 'echo changed', version: 2 });
        },
      };
    },
  },
  'DELETE /api/v1/scripts/{id}': {
    action: 'deleted',
    entityType: 'script',
    before: true,
    after: false,
    async prepare(f) {
      const script = await f.script();
      return { params: { id: script.id }, check: (e) => expect(e.before.name).toBe(script.name) };
    },
  },
  'POST /api/v1/scripts/{id}/run': {
    action: 'created',
    entityType: 'job',
    before: false,
    after: true,
    async prepare(f) {
      const script = await f.script();
      return {
        params: { id: script.id },
        body: { agent_id: await f.agent() },
        entityId: (reply) => reply.id,
        check: (e) => expect(e.after.command).toBe('echo audited'),
      };
    },
  },
  'POST /api/v1/scripts/{id}/execute': {
    action: 'created',
    entityType: 'run',
    before: false,
    after: true,
    async prepare(f) {
      return {
        params: { id: (await f.script()).id },
        body: { target: { agent_ids: [await f.agent()] } },
        entityId: (reply) => reply.id,
      };
    },
  },
};

/** The same routes serve profiles and templates; their events name which. */
function profileCases(kind: 'profiles' | 'templates'): AuditCases {
  const entity = kind === 'profiles' ? 'profile' : 'template';
  const base = `/api/v1/${kind}`;
  const task = (name: string) => ({ name, action: 'command', interpreter: 'sh', content: `echo ${name}` });
  const taskCase = (
    action: string,
    before: boolean,
    after: boolean,
    call: (p: any) => { body?: unknown; taskId: string },
  ): AuditCase => ({
    action,
    entityType: `${entity}_task`,
    before,
    after,
    async prepare(f) {
      const profile = await f.profile(kind);
      const { body, taskId } = call(profile);
      return { params: { id: profile.id, taskId }, body, entityId: taskId };
    },
  });
  return {
    [`POST ${base}`]: {
      action: 'created',
      entityType: entity,
      before: false,
      after: true,
      async prepare() {
        return {
          body: { name: `audited ${entity}`, tasks: [task('one')] },
          entityId: (reply) => reply.id,
          check: (e) => expect(e.after).toMatchObject({ name: `audited ${entity}`, task_count: 1 }),
        };
      },
    },
    [`PATCH ${base}/{id}`]: {
      action: 'modified',
      entityType: entity,
      before: true,
      after: true,
      async prepare(f) {
        return {
          params: { id: (await f.profile(kind)).id },
          body: { description: 'changed' },
          check: (e) => {
            expect(e.before.description).toBe('');
            expect(e.after.description).toBe('changed');
          },
        };
      },
    },
    [`DELETE ${base}/{id}`]: {
      action: 'deleted',
      entityType: entity,
      before: true,
      after: false,
      async prepare(f) {
        const profile = await f.profile(kind);
        return { params: { id: profile.id }, check: (e) => expect(e.before.name).toBe(profile.name) };
      },
    },
    [`POST ${base}/{id}/tasks`]: {
      action: 'created',
      entityType: `${entity}_task`,
      before: false,
      after: true,
      async prepare(f) {
        return {
          params: { id: (await f.profile(kind)).id },
          body: task('three'),
          entityId: (reply) => reply.id,
          check: (e) => expect(e.after.name).toBe('three'),
        };
      },
    },
    [`PATCH ${base}/{id}/tasks/{taskId}`]: taskCase('modified', true, true, (p) => ({
      body: { description: 'changed' },
      taskId: p.tasks[0].id,
    })),
    [`DELETE ${base}/{id}/tasks/{taskId}`]: taskCase('deleted', true, false, (p) => ({
      taskId: p.tasks[1].id,
    })),
    [`PUT ${base}/{id}/tasks/order`]: {
      action: 'modified',
      entityType: entity,
      before: true,
      after: true,
      async prepare(f) {
        const profile = await f.profile(kind);
        const ids = profile.tasks.map((t: { id: string }) => t.id);
        return {
          params: { id: profile.id },
          body: { task_ids: [...ids].reverse() },
          check: (e) => {
            expect(e.before.task_ids).toEqual(ids);
            expect(e.after.task_ids).toEqual([...ids].reverse());
          },
        };
      },
    },
    [`PUT ${base}/{id}/tasks/bulk`]: {
      action: 'modified',
      entityType: entity,
      before: true,
      after: true,
      async prepare(f) {
        return {
          params: { id: (await f.profile(kind)).id },
          body: { tasks: [task('only')] },
          check: (e) => {
            expect(e.before.tasks.map((t: { name: string }) => t.name)).toEqual(['one', 'two']);
            expect(e.after.tasks.map((t: { name: string }) => t.name)).toEqual(['only']);
          },
        };
      },
    },
  };
}

/** Profiles and templates, their tasks, applying a profile and making one from a template. */
export const profileAndTemplateCases: AuditCases = {
  ...profileCases('profiles'),
  ...profileCases('templates'),
  'POST /api/v1/profiles/{id}/apply': {
    action: 'created',
    entityType: 'run',
    before: false,
    after: true,
    async prepare(f) {
      return {
        params: { id: (await f.profile('profiles')).id },
        body: { agent_ids: [await f.agent()] },
        entityId: (reply) => reply.id,
      };
    },
  },
  'POST /api/v1/templates/{id}/instantiate': {
    action: 'created',
    entityType: 'profile',
    before: false,
    after: true,
    async prepare(f) {
      const template = await f.profile('templates');
      return {
        params: { id: template.id },
        body: { name: 'from template' },
        entityId: (reply) => reply.id,
        check: (e) => expect(e.after).toMatchObject({ name: 'from template', from_template: template.id }),
      };
    },
  },
};

const toggle = (enable: boolean): AuditCase => ({
  action: 'status_changed',
  entityType: 'schedule',
  before: true,
  after: true,
  async prepare(f) {
    return {
      params: { id: (await f.schedule(!enable)).id },
      check: (e) => {
        expect(e.before.enabled).toBe(!enable);
        expect(e.after.enabled).toBe(enable);
      },
    };
  },
});

export const scheduleCases: AuditCases = {
  'POST /api/v1/schedules': {
    action: 'created',
    entityType: 'schedule',
    before: false,
    after: true,
    async prepare(f) {
      return {
        body: {
          name: 'audited schedule',
          action: { kind: 'script', script_id: (await f.script()).id },
          target: { agent_ids: [await f.agent()] },
          cron: '0 9 * * *',
          timezone: 'Europe/Paris',
        },
        entityId: (reply) => reply.id,
        check: (e) => expect(e.after).toMatchObject({ name: 'audited schedule', cron: '0 9 * * *' }),
      };
    },
  },
  'PATCH /api/v1/schedules/{id}': {
    action: 'modified',
    entityType: 'schedule',
    before: true,
    after: true,
    async prepare(f) {
      return {
        params: { id: (await f.schedule()).id },
        body: { interval_seconds: 600 },
        check: (e) => {
          expect(e.before.interval_seconds).toBe(3600);
          expect(e.after.interval_seconds).toBe(600);
        },
      };
    },
  },
  'DELETE /api/v1/schedules/{id}': {
    action: 'deleted',
    entityType: 'schedule',
    before: true,
    after: false,
    async prepare(f) {
      const schedule = await f.schedule();
      return { params: { id: schedule.id }, check: (e) => expect(e.before.name).toBe(schedule.name) };
    },
  },
  'POST /api/v1/schedules/{id}/enable': toggle(true),
  'POST /api/v1/schedules/{id}/disable': toggle(false),
};
