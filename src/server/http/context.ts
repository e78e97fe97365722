import type {} from '@fastify/swagger';
import type { FastifyRequest } from 'fastify';
import type { Principal, RequestContext, RequestMeta } from '../modules/access/context.js';
import type { Permission } from '../modules/access/permissions.js';
import type { Agent } from '../modules/agents/agents.repo.js';
import type { RobotIdentity } from '../modules/robots/robots.service.js';
import { AppError } from '../lib/errors.js';

/**
 * What a route needs: nobody (`public`), any signed-in principal (`authenticated`), an agent's
 * own token (`agent`), a runner robot's token (`robot`), or one permission.
 */
export type RoutePermission = 'public' | 'authenticated' | 'agent' | 'robot' | Permission;

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: RoutePermission;
  }
  interface FastifyRequest {
    principal: Principal | null;
    agent: Agent | null;
    robot: RobotIdentity | null;
  }
}

export function metaOf(request: FastifyRequest): RequestMeta {
  return {
    ip: request.ip,
    userAgent: request.headers['user-agent'] ?? null,
    requestId: request.id,
  };
}

export function contextOf(request: FastifyRequest): RequestContext {
  if (!request.principal) throw new AppError('unauthorized', 'authentication required');
  return { ...request.principal, meta: metaOf(request) };
}

export function agentOf(request: FastifyRequest): Agent {
  if (!request.agent) throw new AppError('unauthorized', 'an agent token is required');
  return request.agent;
}

/** The runner robot whose token authenticated the request (routes with permission `robot`). */
export function robotOf(request: FastifyRequest): RobotIdentity {
  if (!request.robot) throw new AppError('unauthorized', 'a robot token is required');
  return request.robot;
}
