import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, pageParams } from '../../lib/pagination.js';
import {
  ServiceCreateBody,
  ServiceFolders,
  ServiceListQuery,
  ServiceSchema,
  ServiceUpdateBody,
  SyncReportSchema,
} from './services.schemas.js';
import type { ServicesService } from './services.service.js';

const tags = ['services'];

export function servicesRoutes(deps: { services: ServicesService }): FastifyPluginAsyncTypebox {
  const { services } = deps;
  return async (app) => {
    app.get(
      '/api/v1/services',
      {
        config: { permission: 'services:read' },
        schema: {
          operationId: 'listServices',
          tags,
          summary: 'Services, newest first; name (`search`) and `source` filters; secrets masked',
          querystring: ServiceListQuery,
          response: { 200: PageOf(ServiceSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return services.list(contextOf(request).orgId, { search: q.search, source: q.source }, pageParams(q));
      },
    );

    app.post(
      '/api/v1/services',
      {
        config: { permission: 'services:create', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'createService',
          tags,
          summary: 'Define a service (a deployment recipe); names are unique in the organisation',
          description:
            'Refused (422, one detail per field) when runs_on names an agent or group of no agent of ' +
            'the organisation, when batch_size and batch_percent are both given, when config_schema does ' +
            'not compile, or when an environment name is reserved or given twice',
          body: ServiceCreateBody,
          response: { 201: ServiceSchema },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await services.create(contextOf(request), request.body)),
    );

    // Before `/:id`, which would take `names` for an id.
    app.get(
      '/api/v1/services/names',
      {
        config: { permission: 'services:read' },
        schema: {
          operationId: 'listServiceFolders',
          tags,
          summary: 'The folders of the services directory, each checked as a sync would check it',
          response: { 200: ServiceFolders },
        },
      },
      async (request) => ({ items: await services.folders(contextOf(request).orgId) }),
    );

    app.post(
      '/api/v1/services/sync',
      {
        config: { permission: 'services:update' },
        schema: {
          operationId: 'syncServices',
          tags,
          summary: 'Bring the services directory into the organisation',
          description:
            'One transaction per folder: a bad folder is reported in `invalid` and never stops the ' +
            'rest. A folder whose files are as last synced is `unchanged`; a directory service whose ' +
            'folder is gone is deleted (`removed`), unless its deployments run',
          response: { 200: SyncReportSchema },
        },
      },
      async (request) => services.sync(contextOf(request)),
    );

    app.get(
      '/api/v1/services/:id',
      {
        config: { permission: 'services:read' },
        schema: {
          operationId: 'getService',
          tags,
          summary: 'Get a service; secrets masked',
          params: IdParams,
          response: { 200: ServiceSchema },
        },
      },
      async (request) => services.get(contextOf(request).orgId, request.params.id),
    );

    app.patch(
      '/api/v1/services/:id',
      {
        config: { permission: 'services:update', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'updateService',
          tags,
          summary: 'Change a service; a secret sent back as `********` keeps its value',
          description:
            "A directory service changed here keeps its folder; the next sync brings the folder's definition back",
          params: IdParams,
          body: ServiceUpdateBody,
          response: { 200: ServiceSchema },
        },
      },
      async (request) => services.update(contextOf(request), request.params.id, request.body),
    );

    app.delete(
      '/api/v1/services/:id',
      {
        config: { permission: 'services:delete', errors: ['conflict'] },
        schema: {
          operationId: 'deleteService',
          tags,
          summary: 'Delete a service and its deploy tokens',
          description: 'A service whose deployments run is 409, naming them',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await services.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
