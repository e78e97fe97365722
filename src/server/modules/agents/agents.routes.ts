import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, pageParams } from '../../lib/pagination.js';
import {
  AgentCreateBody,
  AgentCreated,
  AgentDeleteQuery,
  AgentListQuery,
  AgentSchema,
  AgentSummarySchema,
  AgentUpdateBody,
  FactsRequestSchema,
} from './agents.schemas.js';
import type { AgentsService } from './agents.service.js';

const tags = ['agents'];

export function agentsRoutes(deps: { agents: AgentsService }): FastifyPluginAsyncTypebox {
  const { agents } = deps;
  return async (app) => {
    app.get(
      '/api/v1/agents',
      {
        config: { permission: 'agents:read' },
        schema: {
          operationId: 'listAgents',
          tags,
          summary: 'List agents, filtered by status, connection, tag, group, OS or text',
          querystring: AgentListQuery,
          response: { 200: PageOf(AgentSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return agents.list(
          contextOf(request).orgId,
          {
            status: q.status,
            connected: q.connected,
            tag: q.tag,
            groupId: q.group_id,
            osType: q.os_type,
            text: q.q,
          },
          pageParams(q),
        );
      },
    );

    app.get(
      '/api/v1/agents/summary',
      {
        config: { permission: 'agents:read' },
        schema: {
          operationId: 'getAgentSummary',
          tags,
          summary: 'Agents counted by status, in all and per OS',
          response: { 200: AgentSummarySchema },
        },
      },
      async (request) => agents.summary(contextOf(request).orgId),
    );

    app.post(
      '/api/v1/agents',
      {
        config: { permission: 'agents:create', errors: ['unprocessable'] },
        schema: {
          operationId: 'createAgent',
          tags,
          summary: 'Create a machine record; its one-time machine key is shown once',
          body: AgentCreateBody,
          response: { 201: AgentCreated },
        },
      },
      async (request, reply) => reply.status(201).send(await agents.create(contextOf(request), request.body)),
    );

    app.get(
      '/api/v1/agents/:id',
      {
        config: { permission: 'agents:read' },
        schema: {
          operationId: 'getAgent',
          tags,
          summary: 'Get an agent',
          params: IdParams,
          response: { 200: AgentSchema },
        },
      },
      async (request) => agents.get(contextOf(request).orgId, request.params.id),
    );

    app.patch(
      '/api/v1/agents/:id',
      {
        config: { permission: 'agents:update', errors: ['unprocessable'] },
        schema: {
          operationId: 'updateAgent',
          tags,
          summary: "Change an agent's name, tags, group or notes",
          params: IdParams,
          body: AgentUpdateBody,
          response: { 200: AgentSchema },
        },
      },
      async (request) => agents.update(contextOf(request), request.params.id, request.body),
    );

    app.post(
      '/api/v1/agents/:id/facts/refresh',
      {
        config: { permission: 'agents:update', errors: ['conflict'] },
        schema: {
          operationId: 'refreshAgentFacts',
          tags,
          summary: 'Ask the agent to report its facts now (409 when it is not connected)',
          params: IdParams,
          response: { 202: FactsRequestSchema },
        },
      },
      async (request, reply) =>
        reply.status(202).send(await agents.requestFacts(contextOf(request), request.params.id)),
    );

    app.delete(
      '/api/v1/agents/:id',
      {
        config: { permission: 'agents:delete' },
        schema: {
          operationId: 'deleteAgent',
          tags,
          summary: 'Delete an agent: it is told to uninstall itself; registering again revives it',
          params: IdParams,
          querystring: AgentDeleteQuery,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await agents.remove(
          contextOf(request),
          request.params.id,
          request.query.reason ?? 'deleted by an operator',
        );
        return reply.status(204).send();
      },
    );
  };
}
