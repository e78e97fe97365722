import { expect } from 'vitest';
import { created, deleted, deletedNamed, modified, moved, patched } from './builders.js';
import type { AuditCase, AuditCases, AuditFixture, Prepared } from './fixture.js';

/** Scripts and saved commands, and running them. */
export const scriptCases: AuditCases = {
  'POST /api/v1/scripts': created('script', async () => ({
    body: { name: 'audited script', language: 'sh', content: 'echo audited' },
    check: (e) => expect(e.after).toMatchObject({ name: 'audited script', version: 1 }),
  })),
  'PATCH /api/v1/scripts/{id}': modified('script', async (f) => ({
    params: { id: (await f.script()).id },
    body: { content: 'echo changed' },
    check: (e) => {
      expect(e.before).toMatchObject({ content: 'echo audited', version: 1 });
      expect(e.after).toMatchObject({ content: 'echo changed', version: 2 });
    },
  })),
  'DELETE /api/v1/scripts/{id}': deletedNamed('script', (f) => f.script()),
  'POST /api/v1/scripts/{id}/run': created('job', async (f) => ({
    params: { id: (await f.script()).id },
    body: { agent_id: await f.agent() },
    check: (e) => expect(e.after.command).toBe('echo audited'),
  })),
  'POST /api/v1/scripts/{id}/execute': created('run', async (f) => ({
    params: { id: (await f.script()).id },
    body: { target: { agent_ids: [await f.agent()] } },
  })),
};

/** The same routes serve profiles and templates; their events name which. */
function profileCases(kind: 'profiles' | 'templates'): AuditCases {
  const entity = kind === 'profiles' ? 'profile' : 'template';
  const base = `/api/v1/${kind}`;
  const task = (name: string) => ({ name, action: 'command', interpreter: 'sh', content: `echo ${name}` });
  /** A call on one task of a new profile (of its two), picked with the body to send. */
  const onTask =
    (pick: (profile: any) => { body?: unknown; taskId: string }) =>
    async (f: AuditFixture): Promise<Prepared> => {
      const profile = await f.profile(kind);
      const { body, taskId } = pick(profile);
      return { params: { id: profile.id, taskId }, body, entityId: taskId };
    };
  return {
    [`POST ${base}`]: created(entity, async () => ({
      body: { name: `audited ${entity}`, tasks: [task('one')] },
      check: (e) => expect(e.after).toMatchObject({ name: `audited ${entity}`, task_count: 1 }),
    })),
    [`PATCH ${base}/{id}`]: patched(entity, {
      of: async (f) => (await f.profile(kind)).id,
      field: 'description',
      from: '',
      to: 'changed',
    }),
    [`DELETE ${base}/{id}`]: deletedNamed(entity, (f) => f.profile(kind)),
    [`POST ${base}/{id}/tasks`]: created(`${entity}_task`, async (f) => ({
      params: { id: (await f.profile(kind)).id },
      body: task('three'),
      check: (e) => expect(e.after.name).toBe('three'),
    })),
    [`PATCH ${base}/{id}/tasks/{taskId}`]: modified(
      `${entity}_task`,
      onTask((p) => ({ body: { description: 'changed' }, taskId: p.tasks[0].id })),
    ),
    [`DELETE ${base}/{id}/tasks/{taskId}`]: deleted(
      `${entity}_task`,
      onTask((p) => ({ taskId: p.tasks[1].id })),
    ),
    [`PUT ${base}/{id}/tasks/order`]: modified(entity, async (f) => {
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
    }),
    [`PUT ${base}/{id}/tasks/bulk`]: modified(entity, async (f) => ({
      params: { id: (await f.profile(kind)).id },
      body: { tasks: [task('only')] },
      check: (e) => {
        expect(e.before.tasks.map((t: { name: string }) => t.name)).toEqual(['one', 'two']);
        expect(e.after.tasks.map((t: { name: string }) => t.name)).toEqual(['only']);
      },
    })),
  };
}

/** Profiles and templates, their tasks, applying a profile and making one from a template. */
export const profileAndTemplateCases: AuditCases = {
  ...profileCases('profiles'),
  ...profileCases('templates'),
  'POST /api/v1/profiles/{id}/apply': created('run', async (f) => ({
    params: { id: (await f.profile('profiles')).id },
    body: { agent_ids: [await f.agent()] },
  })),
  'POST /api/v1/templates/{id}/instantiate': created('profile', async (f) => {
    const template = await f.profile('templates');
    return {
      params: { id: template.id },
      body: { name: 'from template' },
      check: (e) => expect(e.after).toMatchObject({ name: 'from template', from_template: template.id }),
    };
  }),
};

const toggle = (enable: boolean): AuditCase =>
  moved('status_changed', 'schedule', {
    of: async (f) => (await f.schedule(!enable)).id,
    field: 'enabled',
    from: !enable,
    to: enable,
  });

export const scheduleCases: AuditCases = {
  'POST /api/v1/schedules': created('schedule', async (f) => ({
    body: {
      name: 'audited schedule',
      action: { kind: 'script', script_id: (await f.script()).id },
      target: { agent_ids: [await f.agent()] },
      cron: '0 9 * * *',
      timezone: 'Europe/Paris',
    },
    check: (e) => expect(e.after).toMatchObject({ name: 'audited schedule', cron: '0 9 * * *' }),
  })),
  'PATCH /api/v1/schedules/{id}': patched('schedule', {
    of: async (f) => (await f.schedule()).id,
    field: 'interval_seconds',
    from: 3600,
    to: 600,
  }),
  'DELETE /api/v1/schedules/{id}': deletedNamed('schedule', (f) => f.schedule()),
  'POST /api/v1/schedules/{id}/enable': toggle(true),
  'POST /api/v1/schedules/{id}/disable': toggle(false),
};
