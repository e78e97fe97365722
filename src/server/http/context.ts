import type {} from '@fastify/swagger';
import type { FastifyRequest } from 'fastify';
import type { Principal, RequestContext, RequestMeta } from '../modules/access/context.js';
import type { Permission } from '../modules/access/permissions.js';
import type { Agent } from '../modules/agents/agents.repo.js';
import type { RobotIdentity } from '../modules/robots/robots.service.js';
import type { DeploymentCaller } from '../modules/deployments/deployments.reports.js';
import type { EnrollmentCaller } from '../modules/enrollment/enrollment.service.js';
import { AppError } from '../lib/errors.js';

/**
 * Who may call a route, when no permission decides it: nobody in particular (`public`), any
 * signed-in principal (`authenticated`), an agent's own token (`agent`), a runner robot's token
 * (`robot`), a deploy script's deployment token (`deployment`), an enrollment token (`enrollment`:
 * a new machine fetching its installer).
 */
export const CALLER_KINDS = [
  'public',
  'authenticated',
  'agent',
  'robot',
  'deployment',
  'enrollment',
] as const;
export type CallerKind = (typeof CALLER_KINDS)[number];

/** What a route needs: a kind of caller, or one permission. */
export type RoutePermission = CallerKind | Permission;

declare module 'fastify' {
  interface FastifyContextConfig {
    permission?: RoutePermission;
    /**
     * A WebSocket route whose clients may open it with no credential and authenticate with their
     * first message (browsers and some clients cannot set headers); the route checks that message.
     */
    socketAuth?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
    agent: Agent | null;
    robot: RobotIdentity | null;
    deployment: DeploymentCaller | null;
    enrollment: EnrollmentCaller | null;
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

/** The deploy script whose deployment token authenticated the request (routes with permission `deployment`). */
export function deploymentOf(request: FastifyRequest): DeploymentCaller {
  if (!request.deployment) throw new AppError('unauthorized', 'a deployment token is required');
  return request.deployment;
}

/** The enrollment token that authenticated the request (routes with permission `enrollment`). */
export function enrollmentOf(request: FastifyRequest): EnrollmentCaller {
  if (!request.enrollment) throw new AppError('unauthorized', 'an enrollment token is required');
  return request.enrollment;
}

/** The URL clients reach this server at: FLEETPLANE_PUBLIC_URL, else the origin of the request. */
export function publicOrigin(request: FastifyRequest, publicUrl: string | undefined): string {
  return publicUrl ?? `${request.protocol}://${request.host}`;
}
