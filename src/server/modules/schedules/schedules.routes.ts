import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, pageParams } from '../../lib/pagination.js';
import {
  ScheduleCreateBody,
  ScheduleListQuery,
  ScheduleSchema,
  ScheduleUpdateBody,
} from './schedules.schemas.js';
import type { SchedulesService } from './schedules.service.js';

const tags = ['schedules'];

export function schedulesRoutes(deps: { schedules: SchedulesService }): FastifyPluginAsyncTypebox {
  const { schedules } = deps;
  return async (app) => {
    app.get(
      '/api/v1/schedules',
      {
        config: { permission: 'schedules:read' },
        schema: {
          operationId: 'listSchedules',
          tags,
          summary: 'Schedules, newest first (`?enabled=`, `?kind=script|command|profile`)',
          querystring: ScheduleListQuery,
          response: { 200: PageOf(ScheduleSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return schedules.list(contextOf(request).orgId, { enabled: q.enabled, kind: q.kind }, pageParams(q));
      },
    );

    app.post(
      '/api/v1/schedules',
      {
        config: { permission: 'schedules:create', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'createSchedule',
          tags,
          summary:
            'Schedule a script, saved command or profile on a target set, by cron expression (in a time ' +
            'zone) or interval; it runs as you, and needs the permission to run the action by hand',
          body: ScheduleCreateBody,
          response: { 201: ScheduleSchema },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await schedules.create(contextOf(request), request.body)),
    );

    app.get(
      '/api/v1/schedules/:id',
      {
        config: { permission: 'schedules:read' },
        schema: {
          operationId: 'getSchedule',
          tags,
          summary: 'A schedule with its last and next fire',
          params: IdParams,
          response: { 200: ScheduleSchema },
        },
      },
      async (request) => schedules.get(contextOf(request).orgId, request.params.id),
    );

    app.patch(
      '/api/v1/schedules/:id',
      {
        config: { permission: 'schedules:update', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'updateSchedule',
          tags,
          summary: 'Change a schedule; a change of timing counts the next fire from now',
          params: IdParams,
          body: ScheduleUpdateBody,
          response: { 200: ScheduleSchema },
        },
      },
      async (request) => schedules.update(contextOf(request), request.params.id, request.body),
    );

    app.delete(
      '/api/v1/schedules/:id',
      {
        config: { permission: 'schedules:delete' },
        schema: {
          operationId: 'deleteSchedule',
          tags,
          summary: 'Delete a schedule; its past runs stay',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await schedules.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    for (const [verb, enabled] of [
      ['enable', true],
      ['disable', false],
    ] as const) {
      app.post(
        `/api/v1/schedules/:id/${verb}`,
        {
          config: { permission: 'schedules:update', errors: ['unprocessable'] },
          schema: {
            operationId: `${verb}Schedule`,
            tags,
            summary: enabled
              ? 'Enable a schedule: its next fire is the next time after now (times passed are not caught up)'
              : 'Disable a schedule: it fires no more until enabled',
            params: IdParams,
            response: { 200: ScheduleSchema },
          },
        },
        async (request) => schedules.setEnabled(contextOf(request), request.params.id, enabled),
      );
    }
  };
}
