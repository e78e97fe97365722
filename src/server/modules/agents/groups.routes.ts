import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, PageQuery, pageParams } from '../../lib/pagination.js';
import { GroupCreateBody, GroupSchema, GroupUpdateBody } from './agents.schemas.js';
import type { GroupsService } from './groups.service.js';

const tags = ['agent groups'];

export function groupsRoutes(deps: { groups: GroupsService }): FastifyPluginAsyncTypebox {
  const { groups } = deps;
  return async (app) => {
    app.get(
      '/api/v1/agent-groups',
      {
        config: { permission: 'agent_groups:read' },
        schema: {
          operationId: 'listAgentGroups',
          tags,
          summary: 'List agent groups',
          querystring: PageQuery,
          response: { 200: PageOf(GroupSchema) },
        },
      },
      async (request) => groups.list(contextOf(request).orgId, pageParams(request.query)),
    );

    app.post(
      '/api/v1/agent-groups',
      {
        config: { permission: 'agent_groups:create', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'createAgentGroup',
          tags,
          summary: 'Create an agent group; names are unique in the organisation',
          body: GroupCreateBody,
          response: { 201: GroupSchema },
        },
      },
      async (request, reply) => reply.status(201).send(await groups.create(contextOf(request), request.body)),
    );

    app.get(
      '/api/v1/agent-groups/:id',
      {
        config: { permission: 'agent_groups:read' },
        schema: {
          operationId: 'getAgentGroup',
          tags,
          summary: 'Get an agent group',
          params: IdParams,
          response: { 200: GroupSchema },
        },
      },
      async (request) => groups.get(contextOf(request).orgId, request.params.id),
    );

    app.patch(
      '/api/v1/agent-groups/:id',
      {
        config: { permission: 'agent_groups:update', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'updateAgentGroup',
          tags,
          summary: 'Rename or describe an agent group',
          params: IdParams,
          body: GroupUpdateBody,
          response: { 200: GroupSchema },
        },
      },
      async (request) => groups.update(contextOf(request), request.params.id, request.body),
    );

    app.delete(
      '/api/v1/agent-groups/:id',
      {
        config: { permission: 'agent_groups:delete' },
        schema: {
          operationId: 'deleteAgentGroup',
          tags,
          summary: 'Delete an agent group; its agents stay, without a group',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await groups.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
