import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, PageQuery, pageParams } from '../../lib/pagination.js';
import { ApiKeyCreateBody, ApiKeyCreated, ApiKeySchema } from './apikeys.schemas.js';
import type { ApiKeysService } from './apikeys.service.js';

const tags = ['api keys'];

export function apiKeysRoutes(deps: { apiKeys: ApiKeysService }): FastifyPluginAsyncTypebox {
  const { apiKeys } = deps;
  return async (app) => {
    app.get(
      '/api/v1/api-keys',
      {
        config: { permission: 'api_keys:read' },
        schema: {
          operationId: 'listApiKeys',
          tags,
          summary: 'List API keys (masked)',
          querystring: PageQuery,
          response: { 200: PageOf(ApiKeySchema) },
        },
      },
      async (request) => apiKeys.list(contextOf(request).orgId, pageParams(request.query)),
    );

    app.post(
      '/api/v1/api-keys',
      {
        config: { permission: 'api_keys:create', errors: ['unprocessable'] },
        schema: {
          operationId: 'createApiKey',
          tags,
          summary: 'Create an API key; the secret is shown once',
          body: ApiKeyCreateBody,
          response: { 201: ApiKeyCreated },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await apiKeys.create(contextOf(request), request.body)),
    );

    app.get(
      '/api/v1/api-keys/:id',
      {
        config: { permission: 'api_keys:read' },
        schema: {
          operationId: 'getApiKey',
          tags,
          summary: 'Get an API key (masked)',
          params: IdParams,
          response: { 200: ApiKeySchema },
        },
      },
      async (request) => apiKeys.get(contextOf(request).orgId, request.params.id),
    );

    app.delete(
      '/api/v1/api-keys/:id',
      {
        config: { permission: 'api_keys:delete' },
        schema: {
          operationId: 'revokeApiKey',
          tags,
          summary: 'Revoke an API key',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await apiKeys.revoke(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
