import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, PageQuery, pageParams } from '../../lib/pagination.js';
import {
  InviteCreateBody,
  InviteCreated,
  InviteSchema,
  MemberRolesBody,
  MemberSchema,
  PermissionCatalogue,
  RoleCreateBody,
  RoleSchema,
  RoleUpdateBody,
} from './access.schemas.js';
import type { AccessService } from './access.service.js';
import { builtinRoleNames, builtinRolePermissions, catalogue } from './permissions.js';

const tags = ['access'];

export function accessRoutes(deps: { access: AccessService }): FastifyPluginAsyncTypebox {
  const { access } = deps;
  return async (app) => {
    app.get(
      '/api/v1/access/permissions',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'listPermissions',
          tags,
          summary: 'Every permission, and those of the built-in roles',
          response: { 200: PermissionCatalogue },
        },
      },
      () => ({
        artifacts: Object.fromEntries(
          Object.entries(catalogue).map(([artifact, actions]) => [artifact, [...actions]]),
        ),
        builtin_roles: Object.fromEntries(
          builtinRoleNames.map((name) => [name, [...builtinRolePermissions(name)]]),
        ),
      }),
    );

    app.get(
      '/api/v1/access/roles',
      {
        config: { permission: 'roles:read' },
        schema: {
          operationId: 'listRoles',
          tags,
          summary: 'List roles',
          querystring: PageQuery,
          response: { 200: PageOf(RoleSchema) },
        },
      },
      async (request) => access.listRoles(contextOf(request).orgId, pageParams(request.query)),
    );

    app.post(
      '/api/v1/access/roles',
      {
        config: { permission: 'roles:create', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'createRole',
          tags,
          summary: 'Create a custom role',
          body: RoleCreateBody,
          response: { 201: RoleSchema },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await access.createRole(contextOf(request), request.body)),
    );

    app.get(
      '/api/v1/access/roles/:id',
      {
        config: { permission: 'roles:read' },
        schema: {
          operationId: 'getRole',
          tags,
          summary: 'Get a role',
          params: IdParams,
          response: { 200: RoleSchema },
        },
      },
      async (request) => access.getRole(contextOf(request).orgId, request.params.id),
    );

    app.patch(
      '/api/v1/access/roles/:id',
      {
        config: { permission: 'roles:update', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'updateRole',
          tags,
          summary: 'Change a custom role',
          params: IdParams,
          body: RoleUpdateBody,
          response: { 200: RoleSchema },
        },
      },
      async (request) => access.updateRole(contextOf(request), request.params.id, request.body),
    );

    app.delete(
      '/api/v1/access/roles/:id',
      {
        config: { permission: 'roles:delete', errors: ['conflict'] },
        schema: {
          operationId: 'deleteRole',
          tags,
          summary: 'Delete a custom role that nobody holds',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await access.deleteRole(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/v1/access/users',
      {
        config: { permission: 'users:read' },
        schema: {
          operationId: 'listUsers',
          tags,
          summary: 'Members of the organisation',
          querystring: PageQuery,
          response: { 200: PageOf(MemberSchema) },
        },
      },
      async (request) => access.listMembers(contextOf(request).orgId, pageParams(request.query)),
    );

    app.get(
      '/api/v1/access/users/:id',
      {
        config: { permission: 'users:read' },
        schema: {
          operationId: 'getUser',
          tags,
          summary: 'Get a member',
          params: IdParams,
          response: { 200: MemberSchema },
        },
      },
      async (request) => access.getMember(contextOf(request).orgId, request.params.id),
    );

    app.delete(
      '/api/v1/access/users/:id',
      {
        config: { permission: 'users:delete', errors: ['conflict'] },
        schema: {
          operationId: 'removeUser',
          tags,
          summary: 'Remove a member from the organisation',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await access.removeMember(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/v1/access/users/:id/roles',
      {
        config: { permission: 'users:read' },
        schema: {
          operationId: 'listUserRoles',
          tags,
          summary: "A member's roles",
          params: IdParams,
          response: { 200: Type.Object({ items: Type.Array(RoleSchema) }) },
        },
      },
      async (request) => ({ items: await access.memberRoles(contextOf(request).orgId, request.params.id) }),
    );

    app.put(
      '/api/v1/access/users/:id/roles',
      {
        config: { permission: 'users:update', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'setUserRoles',
          tags,
          summary: "Replace a member's roles",
          params: IdParams,
          body: MemberRolesBody,
          response: { 200: Type.Object({ items: Type.Array(RoleSchema) }) },
        },
      },
      async (request) => ({
        items: await access.setMemberRoles(contextOf(request), request.params.id, request.body.role_ids),
      }),
    );

    app.get(
      '/api/v1/access/invites',
      {
        config: { permission: 'invites:read' },
        schema: {
          operationId: 'listInvites',
          tags,
          summary: 'List invites',
          querystring: PageQuery,
          response: { 200: PageOf(InviteSchema) },
        },
      },
      async (request) => access.listInvites(contextOf(request).orgId, pageParams(request.query)),
    );

    app.post(
      '/api/v1/access/invites',
      {
        config: { permission: 'invites:create', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'createInvite',
          tags,
          summary: 'Invite someone by email; the token is shown once',
          body: InviteCreateBody,
          response: { 201: InviteCreated },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await access.createInvite(contextOf(request), request.body)),
    );

    app.delete(
      '/api/v1/access/invites/:id',
      {
        config: { permission: 'invites:delete', errors: ['conflict'] },
        schema: {
          operationId: 'revokeInvite',
          tags,
          summary: 'Revoke an invite',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await access.revokeInvite(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
