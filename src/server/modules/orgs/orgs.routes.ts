import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../http/context.js';
import { OrgBody, OrgSchema } from './orgs.schemas.js';
import type { OrgsService } from './orgs.service.js';

const tags = ['organizations'];

export function orgsRoutes(deps: { orgs: OrgsService }): FastifyPluginAsyncTypebox {
  const { orgs } = deps;
  return async (app) => {
    app.get(
      '/api/v1/orgs',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'listOrgs',
          tags,
          summary: 'Organisations you belong to',
          response: { 200: Type.Object({ items: Type.Array(OrgSchema) }) },
        },
      },
      async (request) => {
        const ctx = contextOf(request);
        return {
          items:
            ctx.userId && ctx.actor.type === 'user'
              ? await orgs.listForUser(ctx.userId)
              : [await orgs.get(ctx.orgId)],
        };
      },
    );

    app.post(
      '/api/v1/orgs',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'createOrg',
          tags,
          summary: 'Create an organisation that you own',
          body: OrgBody,
          response: { 201: OrgSchema },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await orgs.create(contextOf(request), request.body.name)),
    );

    app.get(
      '/api/v1/orgs/current',
      {
        config: { permission: 'organization:read' },
        schema: {
          operationId: 'getCurrentOrg',
          tags,
          summary: 'The organisation this request acts in',
          response: { 200: OrgSchema },
        },
      },
      async (request) => orgs.get(contextOf(request).orgId),
    );

    app.patch(
      '/api/v1/orgs/current',
      {
        config: { permission: 'organization:update' },
        schema: {
          operationId: 'updateCurrentOrg',
          tags,
          summary: 'Rename the organisation',
          body: OrgBody,
          response: { 200: OrgSchema },
        },
      },
      async (request) => orgs.rename(contextOf(request), request.body.name),
    );
  };
}
