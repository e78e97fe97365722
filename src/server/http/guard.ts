import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.js';
import type { Authenticator } from '../modules/auth/authenticator.js';
import type { RobotsService } from '../modules/robots/robots.service.js';
import type { DeploymentReports } from '../modules/deployments/deployments.reports.js';
import type { EnrollmentService } from '../modules/enrollment/enrollment.service.js';
import type { AgentAuthenticator } from '../realtime/agent-auth.js';
import type { RoutePermission } from './context.js';

function isWebSocketUpgrade(request: FastifyRequest): boolean {
  return request.headers.upgrade?.toLowerCase() === 'websocket';
}

function credentialOf(request: FastifyRequest): string | null {
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey) return apiKey;
  const authorization = request.headers.authorization;
  if (authorization?.toLowerCase().startsWith('bearer ')) return authorization.slice(7).trim() || null;
  // Browsers cannot set headers on a WebSocket, so consoles may send the token in the query.
  if (isWebSocketUpgrade(request)) {
    const token = (request.query as { access_token?: unknown } | undefined)?.access_token;
    if (typeof token === 'string' && token) return token;
  }
  return null;
}

/** A runner robot's token: `X-Robot-Token`, or a bearer token. */
function robotTokenOf(request: FastifyRequest): string | null {
  const header = request.headers['x-robot-token'];
  if (typeof header === 'string' && header) return header;
  const authorization = request.headers.authorization;
  if (authorization?.toLowerCase().startsWith('bearer ')) return authorization.slice(7).trim() || null;
  return null;
}

/** The OpenAPI security of the kinds of caller that take their own credential (the rest: the document's). */
const CALLER_SECURITY = new Map<RoutePermission, Record<string, string[]>[]>([
  ['public', []],
  ['robot', [{ robotToken: [] }, { bearer: [] }]],
  ['deployment', [{ bearer: [] }]],
  ['enrollment', [{ bearer: [] }]],
]);

/**
 * Every route declares the permission it needs (`config.permission`); a route that does not
 * is refused at startup. Authentication and the permission check run before the body is
 * parsed, so an anonymous caller learns nothing from validation errors.
 */
export function installGuard(
  app: FastifyInstance,
  auth: {
    users: Authenticator;
    agents: AgentAuthenticator;
    robots: Pick<RobotsService, 'authenticate'>;
    deployments: Pick<DeploymentReports, 'authenticate'>;
    enrollment: Pick<EnrollmentService, 'authenticate'>;
  },
): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('agent', null);
  app.decorateRequest('robot', null);
  app.decorateRequest('deployment', null);
  app.decorateRequest('enrollment', null);

  app.addHook('onRoute', (route) => {
    const permission = route.config?.permission;
    if (permission === undefined) {
      if (route.url.startsWith('/docs')) {
        route.config = { ...route.config, permission: 'public' };
        return;
      }
      throw new Error(`route ${String(route.method)} ${route.url} declares no permission`);
    }
    if (route.schema) {
      const security = CALLER_SECURITY.get(permission);
      route.schema = {
        ...route.schema,
        'x-permission': permission,
        ...(security ? { security } : {}),
      } as typeof route.schema;
    }
  });

  // An upgrade refused here never reaches @fastify/websocket's own hooks, which close the sockets
  // of the refusals they see: without this, the socket would stay open after the answer.
  app.addHook('onResponse', async (request) => {
    if (isWebSocketUpgrade(request)) request.raw.socket.destroy();
  });

  app.addHook('onRequest', async (request) => {
    const permission = request.routeOptions.config.permission;
    if (permission === undefined || permission === 'public') return;
    // A robot token is no user credential, nor the reverse: each kind of route takes its own.
    if (permission === 'robot') {
      request.robot = await auth.robots.authenticate(robotTokenOf(request));
      return;
    }
    // a deploy script's FP_DEPLOYMENT_TOKEN, as a bearer token
    if (permission === 'deployment') {
      request.deployment = await auth.deployments.authenticate(credentialOf(request));
      return;
    }
    // a new machine's enrollment token, as a bearer token: it fetches its installer, spending no use
    if (permission === 'enrollment') {
      request.enrollment = await auth.enrollment.authenticate(credentialOf(request));
      return;
    }
    const credential = credentialOf(request);
    if (permission === 'agent') {
      request.agent = await auth.agents.authenticate(credential);
      return;
    }
    if (!credential) {
      // Such a socket authenticates with its first message; its route holds it until then.
      if (request.routeOptions.config.socketAuth && isWebSocketUpgrade(request)) return;
      throw new AppError(
        'unauthorized',
        'authentication required: send a bearer token or an X-API-Key header',
      );
    }
    const principal = await auth.users.authenticate(credential);
    if (!principal) throw new AppError('unauthorized', 'credentials are not valid or have expired');
    if (permission !== 'authenticated' && !principal.permissions.has(permission)) {
      throw new AppError('forbidden', `permission "${permission}" is required`);
    }
    request.principal = principal;
  });
}
