import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { profileKinds } from './profiles.routes.js';
import {
  TaskBulkBody,
  TaskCreateBody,
  TaskList,
  TaskOrderBody,
  TaskParams,
  TaskSchema,
  TaskUpdateBody,
} from './profiles.schemas.js';
import type { TaskView } from './profiles.tasks.js';
import type { TasksService } from './tasks.service.js';

function listOf(items: TaskView[]) {
  return { items, next_cursor: null };
}

/** The same task routes under /profiles/{id} and /templates/{id}. */
export function tasksRoutes(deps: { tasks: TasksService }): FastifyPluginAsyncTypebox {
  const { tasks } = deps;
  return async (app) => {
    for (const { kind, base, plural, noun } of profileKinds) {
      const tags = [plural];
      const path = `${base}/:id/tasks`;

      app.get(
        path,
        {
          config: { permission: 'profiles:read' },
          schema: {
            operationId: `list${noun}Tasks`,
            tags,
            summary: `A ${kind}'s tasks, in order (all of them, in one page)`,
            params: IdParams,
            response: { 200: TaskList },
          },
        },
        async (request) => listOf(await tasks.list(contextOf(request).orgId, kind, request.params.id)),
      );

      app.post(
        path,
        {
          config: { permission: 'profiles:update', errors: ['unprocessable'] },
          schema: {
            operationId: `create${noun}Task`,
            tags,
            summary: `Add a task to a ${kind}, at the end or at \`position\``,
            params: IdParams,
            body: TaskCreateBody,
            response: { 201: TaskSchema },
          },
        },
        async (request, reply) =>
          reply
            .status(201)
            .send(await tasks.create(contextOf(request), kind, request.params.id, request.body)),
      );

      app.put(
        `${path}/order`,
        {
          config: { permission: 'profiles:update', errors: ['unprocessable'] },
          schema: {
            operationId: `reorder${noun}Tasks`,
            tags,
            summary: `Reorder a ${kind}'s tasks: every task id, in the new order`,
            params: IdParams,
            body: TaskOrderBody,
            response: { 200: TaskList },
          },
        },
        async (request) =>
          listOf(await tasks.reorder(contextOf(request), kind, request.params.id, request.body.task_ids)),
      );

      app.put(
        `${path}/bulk`,
        {
          config: { permission: 'profiles:update', errors: ['unprocessable'] },
          schema: {
            operationId: `replace${noun}Tasks`,
            tags,
            summary: `Replace all of a ${kind}'s tasks at once; a bad task anywhere changes nothing`,
            params: IdParams,
            body: TaskBulkBody,
            response: { 200: TaskList },
          },
        },
        async (request) =>
          listOf(await tasks.replace(contextOf(request), kind, request.params.id, request.body.tasks)),
      );

      app.get(
        `${path}/:taskId`,
        {
          config: { permission: 'profiles:read' },
          schema: {
            operationId: `get${noun}Task`,
            tags,
            summary: 'Get a task',
            params: TaskParams,
            response: { 200: TaskSchema },
          },
        },
        async (request) =>
          tasks.get(contextOf(request).orgId, kind, request.params.id, request.params.taskId),
      );

      app.patch(
        `${path}/:taskId`,
        {
          config: { permission: 'profiles:update', errors: ['unprocessable'] },
          schema: {
            operationId: `update${noun}Task`,
            tags,
            summary:
              'Change a task; `null` clears a field, and a new action drops the fields it does not use',
            params: TaskParams,
            body: TaskUpdateBody,
            response: { 200: TaskSchema },
          },
        },
        async (request) =>
          tasks.update(contextOf(request), kind, request.params.id, request.params.taskId, request.body),
      );

      app.delete(
        `${path}/:taskId`,
        {
          config: { permission: 'profiles:update' },
          schema: {
            operationId: `delete${noun}Task`,
            tags,
            summary: 'Remove a task; the ones after it move up',
            params: TaskParams,
            response: { 204: NoContent },
          },
        },
        async (request, reply) => {
          await tasks.remove(contextOf(request), kind, request.params.id, request.params.taskId);
          return reply.status(204).send();
        },
      );
    }
  };
}
