import type { SwaggerOptions } from '@fastify/swagger';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { errorStatus, type ErrorCode } from '../lib/errors.js';
import { CALLER_KINDS } from './context.js';
import { ERROR_BODY_ID } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Error codes the route answers besides those every route of its kind answers (see
     * `errorCodesOf`): a name taken (`conflict`), a rule refused (`unprocessable`)...
     */
    errors?: readonly ErrorCode[];
  }
}

/** Every tag an operation may carry, with what it groups. */
const tagDescriptions: Record<string, string> = {
  system: 'Liveness, readiness and instance facts',
  metrics: 'Metrics history of agents (raw, 1-minute and 1-hour) and the fleet overview',
  auth: 'Sign-up, login, tokens, sessions and passwords',
  organizations: 'The organisations (tenants) a user belongs to',
  access: 'Roles, permissions, members and invites (RBAC)',
  'api keys': 'Long-lived keys for tools; each carries a role',
  audit: 'Who changed what, when and from where',
  settings: 'Runtime settings by group; secrets stored encrypted and read back masked',
  agents: 'The machines of the fleet',
  'agent groups': 'Named sets of agents, with an optional profile applied on enrollment',
  enrollment: 'Enrollment tokens, and the registration agents make with them',
  jobs: 'One command on one agent',
  runs: 'One command fanned out to a target set of agents',
  scripts: 'The script library and saved commands, versioned',
  packages: 'Automation packages: versioned zips with a fleetplane.json manifest, run by robots',
  profiles: 'Deployment profiles: ordered tasks applied to agents',
  templates: 'Deployment templates: profiles to copy from',
  schedules: 'Scripts, saved commands and profiles run by cron expression or interval',
  queues: 'Work queues and their items, taken by unattended robots or people, with retries and statistics',
  'agent channel': "The agent's side: the HTTP fallback of its WebSocket",
  processes: "Processes: a package's entry point published for robots to run, versioned",
  'process jobs':
    'Processes run by robots: JSON input in, JSON result out; reassigned or ended by hand when needed',
  robots: 'The unattended identities that run processes: on one of our agents, or runners of their own',
  'runner channel': "A runner robot's side: registration with a machine key, then its robot token",
  assets: 'Credential assets: named values for processes, stored encrypted and never read back',
  installers:
    'Agent installers per platform (shell, PowerShell, offline zip) with the server and an enrollment token embedded, and the one-line install commands',
  'agent-builds':
    'Single-file agents per platform, as `npm run build:agents` built them: listed, and downloaded by installers',
  sdk: 'SDK sign-in by device code (RFC 8628) and the SDK tokens it issues',
  services:
    'Services: deployment recipes (script, steps, where it runs, rollout), defined here or synced from the services directory',
  'deploy tokens':
    'Service and config tokens for CI pipelines: narrower than API keys, shown once, always expiring',
  deployments:
    "Deployments of services, batch by batch, with each machine's steps as its deploy script reports them; discovery",
  alerts:
    'Alert rules, the alerts they fire (acknowledged, resolved by themselves), silences and notification channels',
  webhooks:
    'Outbound webhooks: subscriptions to fleet events, signed deliveries retried with backoff, and their attempt logs',
  assistant:
    'The command assistant: natural language to a command for a shell, checked by a deterministic safety analyzer, run as a job or run',
};

/** What each error code means; a response describes the codes its route can answer. */
const codeDescriptions: Record<ErrorCode, string> = {
  bad_request: '`bad_request`: the request cannot be read or makes no sense',
  validation_failed: '`validation_failed`: the input breaks its schema; each detail names its `field`',
  unauthorized: '`unauthorized`: credentials are missing, not valid or expired',
  forbidden: '`forbidden`: the caller lacks the permission, or a rule of its role refuses it',
  csrf_failed:
    '`csrf_failed`: a request authenticated by the session cookie lacks the `X-CSRF-Token` header matching the `fp_csrf` cookie',
  not_found: '`not_found`: no such entity; an id of another organisation answers the same',
  conflict: '`conflict`: the current state refuses it (a name taken, an entity in use, a state already left)',
  gone: '`gone`: it existed and is no more: a deleted agent (its order to uninstall), an expired device code',
  payload_too_large: '`payload_too_large`: the body is larger than the server accepts',
  unprocessable: '`unprocessable`: well-formed but refused by a rule; the details say which',
  rate_limited: '`rate_limited`: too many attempts; wait `Retry-After` seconds',
  internal: '`internal`: a fault of the server, logged with the request id',
  bad_gateway: '`bad_gateway`: a receiver this server called could not be reached; the message says why',
  not_ready: '`not_ready`: the database is not reachable; try again after `Retry-After` seconds',
  node_full: '`node_full`: this node holds as many agent sockets as it may; try again later',
  provider_unavailable:
    '`provider_unavailable`: the AI provider is not configured, cannot be reached or is rate-limiting; `Retry-After` when it said',
  gateway_timeout: '`gateway_timeout`: the AI provider did not answer within the configured timeout',
};

const responseHeaders: Partial<Record<number, object>> = {
  401: { 'WWW-Authenticate': { description: 'The scheme to authenticate with', type: 'string' } },
  429: { 'Retry-After': { description: 'Seconds to wait before trying again', type: 'integer' } },
  503: { 'Retry-After': { description: 'Seconds to wait before trying again', type: 'integer' } },
};

const permissionless = new Set<string>(CALLER_KINDS);

/**
 * The error codes a route can answer: those that follow from what it takes (input, a path id, a
 * body) and who may call it, plus the ones it declares in `config.errors`.
 */
function errorCodesOf(route: RouteOptions): Set<ErrorCode> {
  const schema = route.schema ?? {};
  const permission = route.config?.permission ?? 'public';
  const codes = new Set<ErrorCode>(route.config?.errors ?? []);
  if (schema.body || schema.querystring || schema.params || schema.headers) codes.add('validation_failed');
  if (schema.body) {
    codes.add('bad_request'); // a body that is not JSON, or of another content type
    codes.add('payload_too_large');
  }
  if (route.url.includes('/:')) codes.add('not_found');
  if (permission !== 'public') {
    codes.add('unauthorized');
    // Credentials are looked up in the database when the node has not cached them.
    codes.add('not_ready');
  }
  if (!permissionless.has(permission)) codes.add('forbidden');
  if (permission === 'agent') codes.add('gone');
  return codes;
}

function errorResponses(codes: Set<ErrorCode>): Record<number, object> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes)
    byStatus.set(errorStatus[code], [...(byStatus.get(errorStatus[code]) ?? []), code]);
  return Object.fromEntries(
    [...byStatus].map(([status, same]) => [
      status,
      {
        description: same.map((code) => codeDescriptions[code]).join('; '),
        ...(responseHeaders[status] ? { headers: responseHeaders[status] } : {}),
        content: { 'application/json': { schema: { $ref: `${ERROR_BODY_ID}#` } } },
      },
    ]),
  );
}

/** @fastify/swagger's options: the document's info, servers, tags and security schemes. */
export function openApiOptions(deps: { version: string; publicUrl: string | undefined }): SwaggerOptions {
  return {
    openapi: {
      // 3.1: schemas are JSON Schema, as TypeBox writes them (`propertyNames`, `type: 'null'`).
      openapi: '3.1.0',
      info: {
        title: 'Fleetplane API',
        version: deps.version,
        description:
          'Self-hosted control plane for fleets of machines. Every error answers one shape, ' +
          '`ErrorBody`, with a stable `error.code`; lists are cursor-paginated.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [
        deps.publicUrl
          ? { url: deps.publicUrl, description: 'This server' }
          : { url: '/', description: 'The server that serves this document' },
      ],
      tags: Object.entries(tagDescriptions).map(([name, description]) => ({ name, description })),
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT or API key' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          robotToken: { type: 'apiKey', in: 'header', name: 'X-Robot-Token' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
    },
    // Shared schemas keep their own name in components.schemas (else `def-0`).
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === 'string' ? json.$id : `def-${i}`,
    },
  };
}

/**
 * What every documented operation carries, checked as routes are added (a route that breaks it
 * stops the start, as one without a permission does): an explicit `operationId`, unique, that a
 * generated client names its function after; declared tags; and its error answers in the one
 * error shape. The error responses are real response schemas, so error bodies are serialized by
 * `ErrorBody` (its details keep every property).
 */
export function installOpenApiConventions(app: FastifyInstance): void {
  const operationIds = new Map<string, string>();
  app.addHook('onRoute', (route) => {
    // HEAD routes are Fastify's copies of GETs, and WebSocket routes are not in the document.
    if (route.method === 'HEAD' || route.websocket || !route.schema || route.schema.hide) return;
    const where = `${String(route.method)} ${route.url}`;
    const { operationId } = route.schema;
    if (!operationId) throw new Error(`route ${where} has no schema.operationId`);
    const taken = operationIds.get(operationId);
    if (taken) throw new Error(`routes ${taken} and ${where} share the operationId "${operationId}"`);
    operationIds.set(operationId, where);
    for (const tag of route.schema.tags ?? [])
      if (!(tag in tagDescriptions)) throw new Error(`route ${where}: tag "${tag}" is not described`);
    route.schema = {
      ...route.schema,
      response: { ...errorResponses(errorCodesOf(route)), ...(route.schema.response ?? {}) },
    };
  });
}
