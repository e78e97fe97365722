import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, pageParams } from '../../lib/pagination.js';
import { RunSchema } from '../execution/runs.schemas.js';
import type { ProfileApplier } from './profiles.apply.js';
import {
  ApplyBody,
  InstantiateBody,
  ProfileCreateBody,
  ProfileDetailSchema,
  ProfileListQuery,
  type ProfileKind,
  ProfileSchema,
  ProfileUpdateBody,
} from './profiles.schemas.js';
import type { ProfilesService } from './profiles.service.js';

/**
 * Where each kind lives: a template is never found under /profiles, nor a profile under /templates.
 * `noun` names its operations (`listProfiles`, `getTemplateTask`).
 */
export const profileKinds: { kind: ProfileKind; base: string; plural: string; noun: string }[] = [
  { kind: 'profile', base: '/api/v1/profiles', plural: 'profiles', noun: 'Profile' },
  { kind: 'template', base: '/api/v1/templates', plural: 'templates', noun: 'Template' },
];

export function profilesRoutes(deps: {
  profiles: ProfilesService;
  applier: ProfileApplier;
}): FastifyPluginAsyncTypebox {
  const { profiles, applier } = deps;
  return async (app) => {
    for (const { kind, base, plural, noun } of profileKinds) {
      const tags = [plural];
      app.get(
        base,
        {
          config: { permission: 'profiles:read' },
          schema: {
            operationId: `list${noun}s`,
            tags,
            summary: `Deployment ${plural}, newest first, with their task counts`,
            querystring: ProfileListQuery,
            response: { 200: PageOf(ProfileSchema) },
          },
        },
        async (request) =>
          profiles.list(contextOf(request).orgId, kind, { text: request.query.q }, pageParams(request.query)),
      );

      app.post(
        base,
        {
          config: { permission: 'profiles:create', errors: ['conflict', 'unprocessable'] },
          schema: {
            operationId: `create${noun}`,
            tags,
            summary: `Add a ${kind}, with its tasks if given; names are unique among the organisation's ${plural}`,
            body: ProfileCreateBody,
            response: { 201: ProfileDetailSchema },
          },
        },
        async (request, reply) =>
          reply.status(201).send(await profiles.create(contextOf(request), kind, request.body)),
      );

      app.get(
        `${base}/:id`,
        {
          config: { permission: 'profiles:read' },
          schema: {
            operationId: `get${noun}`,
            tags,
            summary: `Get a ${kind} with its tasks in order`,
            params: IdParams,
            response: { 200: ProfileDetailSchema },
          },
        },
        async (request) => profiles.get(contextOf(request).orgId, kind, request.params.id),
      );

      app.patch(
        `${base}/:id`,
        {
          config: { permission: 'profiles:update', errors: ['conflict', 'unprocessable'] },
          schema: {
            operationId: `update${noun}`,
            tags,
            summary: `Rename or describe a ${kind}, or change its target OS`,
            params: IdParams,
            body: ProfileUpdateBody,
            response: { 200: ProfileDetailSchema },
          },
        },
        async (request) => profiles.update(contextOf(request), kind, request.params.id, request.body),
      );

      app.delete(
        `${base}/:id`,
        {
          config: { permission: 'profiles:delete', errors: ['conflict'] },
          schema: {
            operationId: `delete${noun}`,
            tags,
            summary: `Delete a ${kind} and its tasks`,
            description:
              'Agents and groups that name it lose the reference; a profile a schedule runs is 409, naming the schedules',
            params: IdParams,
            response: { 204: NoContent },
          },
        },
        async (request, reply) => {
          await profiles.remove(contextOf(request), kind, request.params.id);
          return reply.status(204).send();
        },
      );
    }

    app.post(
      '/api/v1/profiles/:id/apply',
      {
        config: { permission: 'profiles:execute', errors: ['unprocessable'] },
        schema: {
          operationId: 'applyProfile',
          tags: ['profiles'],
          summary:
            'Apply the profile to agents (`agent_ids`) or a `target` selector: one run in which each ' +
            'agent runs the tasks in order and stops at the first failure, unless that task continues on error',
          params: IdParams,
          body: ApplyBody,
          response: { 202: RunSchema },
        },
      },
      async (request, reply) =>
        reply.status(202).send(await applier.apply(contextOf(request), request.params.id, request.body)),
    );

    app.post(
      '/api/v1/templates/:id/instantiate',
      {
        config: { permission: 'profiles:create', errors: ['conflict'] },
        schema: {
          operationId: 'instantiateTemplate',
          tags: ['templates'],
          summary: 'Copy the template and its tasks into a new profile, named as given or as the template',
          params: IdParams,
          body: InstantiateBody,
          response: { 201: ProfileDetailSchema },
        },
      },
      async (request, reply) =>
        reply
          .status(201)
          .send(await profiles.instantiate(contextOf(request), request.params.id, request.body)),
    );
  };
}
