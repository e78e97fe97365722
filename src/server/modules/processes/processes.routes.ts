import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, PageQuery, pageParams } from '../../lib/pagination.js';
import {
  ProcessCreateBody,
  ProcessDetailSchema,
  ProcessListQuery,
  ProcessSchema,
  ProcessUpdateBody,
  ProcessVersionParams,
  ProcessVersionSchema,
} from './processes.schemas.js';
import type { ProcessesService } from './processes.service.js';

const tags = ['processes'];

export function processesRoutes(deps: { processes: ProcessesService }): FastifyPluginAsyncTypebox {
  const { processes } = deps;
  return async (app) => {
    app.get(
      '/api/v1/processes',
      {
        config: { permission: 'processes:read' },
        schema: {
          operationId: 'listProcesses',
          tags,
          summary: 'Processes, newest first; `package_name` and text (`q`) filters',
          querystring: ProcessListQuery,
          response: { 200: PageOf(ProcessSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return processes.list(
          contextOf(request).orgId,
          { packageName: q.package_name, text: q.q },
          pageParams(q),
        );
      },
    );

    app.post(
      '/api/v1/processes',
      {
        config: { permission: 'processes:create', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'createProcess',
          tags,
          summary: "Publish a package's entry point as a process; names are unique in the organisation",
          description:
            'The package must resolve (the version given, or its latest active one) and have the entry ' +
            "point (422); default_input must match the entry point's input_schema (422, one detail per field)",
          body: ProcessCreateBody,
          response: { 201: ProcessSchema },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await processes.create(contextOf(request), request.body)),
    );

    app.get(
      '/api/v1/processes/:id',
      {
        config: { permission: 'processes:read' },
        schema: {
          operationId: 'getProcess',
          tags,
          summary: 'Get a process, with the package version and entry point it resolves to now',
          params: IdParams,
          response: { 200: ProcessDetailSchema },
        },
      },
      async (request) => processes.get(contextOf(request).orgId, request.params.id),
    );

    app.patch(
      '/api/v1/processes/:id',
      {
        config: { permission: 'processes:update', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'updateProcess',
          tags,
          summary: 'Change a process; a change to anything but its name or description adds a version',
          params: IdParams,
          body: ProcessUpdateBody,
          response: { 200: ProcessSchema },
        },
      },
      async (request) => processes.update(contextOf(request), request.params.id, request.body),
    );

    app.delete(
      '/api/v1/processes/:id',
      {
        config: { permission: 'processes:delete', errors: ['conflict'] },
        schema: {
          operationId: 'deleteProcess',
          tags,
          summary: 'Delete a process and its versions',
          description: 'A process with jobs queued or running is 409, naming them',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await processes.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/v1/processes/:id/versions',
      {
        config: { permission: 'processes:read' },
        schema: {
          operationId: 'listProcessVersions',
          tags,
          summary: "A process's versions, newest first",
          params: IdParams,
          querystring: PageQuery,
          response: { 200: PageOf(ProcessVersionSchema) },
        },
      },
      async (request) =>
        processes.listVersions(contextOf(request).orgId, request.params.id, pageParams(request.query)),
    );

    app.get(
      '/api/v1/processes/:id/versions/:version',
      {
        config: { permission: 'processes:read' },
        schema: {
          operationId: 'getProcessVersion',
          tags,
          summary: 'One version of a process, as it was',
          params: ProcessVersionParams,
          response: { 200: ProcessVersionSchema },
        },
      },
      async (request) =>
        processes.getVersion(contextOf(request).orgId, request.params.id, request.params.version),
    );
  };
}
