import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, pageParams } from '../../lib/pagination.js';
import {
  DeployTokenCreateBody,
  DeployTokenCreated,
  DeployTokenListQuery,
  DeployTokenSchema,
} from './deploy-tokens.schemas.js';
import type { DeployTokensService } from './deploy-tokens.service.js';

const tags = ['deploy tokens'];

export function deployTokensRoutes(deps: { deployTokens: DeployTokensService }): FastifyPluginAsyncTypebox {
  const { deployTokens } = deps;
  return async (app) => {
    app.get(
      '/api/v1/deploy-tokens',
      {
        config: { permission: 'deploy_tokens:read' },
        schema: {
          operationId: 'listDeployTokens',
          tags,
          summary: 'Deploy tokens, newest first (masked); `kind` and `service_id` filters',
          querystring: DeployTokenListQuery,
          response: { 200: PageOf(DeployTokenSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return deployTokens.list(
          contextOf(request).orgId,
          { kind: q.kind, serviceId: q.service_id },
          pageParams(q),
        );
      },
    );

    app.post(
      '/api/v1/deploy-tokens',
      {
        config: { permission: 'deploy_tokens:create', errors: ['unprocessable'] },
        schema: {
          operationId: 'createDeployToken',
          tags,
          summary: 'Create a service or config token; the secret is shown once',
          body: DeployTokenCreateBody,
          response: { 201: DeployTokenCreated },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await deployTokens.create(contextOf(request), request.body)),
    );

    app.delete(
      '/api/v1/deploy-tokens/:id',
      {
        config: { permission: 'deploy_tokens:delete' },
        schema: {
          operationId: 'revokeDeployToken',
          tags,
          summary: 'Revoke a deploy token at once; revoking it again is 204 too',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await deployTokens.revoke(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
