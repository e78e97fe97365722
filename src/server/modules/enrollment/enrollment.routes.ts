import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { RegisterRequest, RegisterResponse } from '../../../protocol/agent.js';
import { contextOf, metaOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, PageQuery, pageParams } from '../../lib/pagination.js';
import {
  EnrollmentTokenCreateBody,
  EnrollmentTokenCreated,
  EnrollmentTokenSchema,
} from './enrollment.schemas.js';
import type { EnrollmentService } from './enrollment.service.js';
import type { RegistrationService } from './registration.service.js';

const tags = ['enrollment'];

export function enrollmentRoutes(deps: {
  enrollment: EnrollmentService;
  registration: RegistrationService;
}): FastifyPluginAsyncTypebox {
  const { enrollment, registration } = deps;
  return async (app) => {
    app.get(
      '/api/v1/enrollment-tokens',
      {
        config: { permission: 'enrollment:read' },
        schema: {
          operationId: 'listEnrollmentTokens',
          tags,
          summary: 'List enrollment tokens (masked)',
          querystring: PageQuery,
          response: { 200: PageOf(EnrollmentTokenSchema) },
        },
      },
      async (request) => enrollment.list(contextOf(request).orgId, pageParams(request.query)),
    );

    app.post(
      '/api/v1/enrollment-tokens',
      {
        config: { permission: 'enrollment:create', errors: ['unprocessable'] },
        schema: {
          operationId: 'createEnrollmentToken',
          tags,
          summary: 'Create an enrollment token; the secret is shown once',
          body: EnrollmentTokenCreateBody,
          response: { 201: EnrollmentTokenCreated },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await enrollment.create(contextOf(request), request.body)),
    );

    app.get(
      '/api/v1/enrollment-tokens/:id',
      {
        config: { permission: 'enrollment:read' },
        schema: {
          operationId: 'getEnrollmentToken',
          tags,
          summary: 'Get an enrollment token (masked)',
          params: IdParams,
          response: { 200: EnrollmentTokenSchema },
        },
      },
      async (request) => enrollment.get(contextOf(request).orgId, request.params.id),
    );

    app.delete(
      '/api/v1/enrollment-tokens/:id',
      {
        config: { permission: 'enrollment:delete' },
        schema: {
          operationId: 'revokeEnrollmentToken',
          tags,
          summary: 'Revoke an enrollment token',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await enrollment.revoke(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.post(
      '/api/v1/agent/register',
      {
        config: { permission: 'public', errors: ['unauthorized', 'conflict', 'not_ready'] },
        schema: {
          operationId: 'registerAgent',
          tags,
          summary: 'An agent trades an enrollment token or a machine key for its own token, shown once',
          body: RegisterRequest,
          response: { 200: RegisterResponse },
        },
      },
      async (request) => registration.register(request.body, metaOf(request)),
    );
  };
}
