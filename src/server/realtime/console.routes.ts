import type {} from '@fastify/websocket';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { WebSocket } from 'ws';
import { metaOf } from '../http/context.js';
import { AppError, assertNever } from '../lib/errors.js';
import type { Principal, RequestContext } from '../modules/access/context.js';
import type { Authenticator } from '../modules/auth/authenticator.js';
import type { JobsService } from '../modules/execution/jobs.service.js';
import { corkForThisTurn } from './corked.js';
import type { EventBus, FleetEvent } from './events.js';

/** What the stream needs of deployments: the jobs its targets have had so far. */
export interface DeploymentJobs {
  /** not_found for an unknown deployment or another organisation's, forbidden for another service's. */
  jobsOf(ctx: RequestContext, deploymentId: string): Promise<string[]>;
}

interface ConsoleDeps {
  bus: EventBus;
  jobs: Pick<JobsService, 'get'>;
  deployments: DeploymentJobs;
  /** The guard's own authenticator: a token sent as the first message counts as one sent in a header. */
  auth: Pick<Authenticator, 'authenticate'>;
  /** How long a socket opened without a credential may wait for its token (10 s; tests pass less). */
  authTimeoutMs?: number;
}

const AUTH_TIMEOUT_MS = 10_000;
/** Close codes: 4000 + the HTTP status the same refusal gets before the upgrade. */
const UNAUTHORIZED = 4401;
const FORBIDDEN = 4403;
const USAGE = 'send {"type":"subscribe","job_id":"…"} or {"type":"subscribe","deployment_id":"…"}';

type Followed = { job_id: string } | { deployment_id: string };
type ConsoleCommand = { type: 'subscribe' | 'unsubscribe' } & Followed;

function parseJson(raw: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function parseCommand(raw: string): ConsoleCommand | null {
  const value = parseJson(raw);
  const type = value?.type;
  if (type !== 'subscribe' && type !== 'unsubscribe') return null;
  const { job_id: jobId, deployment_id: deploymentId } = value as Record<string, unknown>;
  if (typeof jobId === 'string' && deploymentId === undefined) return { type, job_id: jobId };
  if (typeof deploymentId === 'string' && jobId === undefined) return { type, deployment_id: deploymentId };
  return null;
}

/** The token of a first message `{"access_token":"…"}`, or null for anything else. */
function accessTokenOf(raw: string): string | null {
  const token = parseJson(raw)?.access_token;
  return typeof token === 'string' && token ? token : null;
}

/** Someone who would see nothing on the stream is not let onto it. */
function mayConnect(principal: Principal): boolean {
  return principal.permissions.has('jobs:read') || principal.permissions.has('deployments:read');
}

const CONNECT_REFUSED = 'permission "jobs:read" or "deployments:read" is required';

/**
 * What a console follows: jobs by id, and deployments with the jobs of their targets, those known
 * when it subscribed and those its `deployment.target` events name later. A deployment being
 * looked up collects those jobs already, and shows them only once the lookup allowed it.
 */
class Follows {
  readonly jobs = new Set<string>();
  readonly #deployments = new Map<string, Set<string>>();
  readonly #pending = new Map<string, Set<string>>();

  /** Starts following a deployment under lookup; answers the set its target jobs go into meanwhile. */
  begin(deploymentId: string): Set<string> {
    const collecting = new Set<string>();
    this.#pending.set(deploymentId, collecting);
    return collecting;
  }

  /** False when the console stopped following (or followed again) during the lookup. */
  confirm(deploymentId: string, collecting: Set<string>, jobIds: readonly string[]): boolean {
    if (this.#pending.get(deploymentId) !== collecting) return false;
    this.#pending.delete(deploymentId);
    const known = this.#deployments.get(deploymentId) ?? new Set<string>();
    for (const id of [...jobIds, ...collecting]) known.add(id);
    this.#deployments.set(deploymentId, known);
    return true;
  }

  abandon(deploymentId: string, collecting: Set<string>): void {
    if (this.#pending.get(deploymentId) === collecting) this.#pending.delete(deploymentId);
  }

  drop(deploymentId: string): void {
    this.#deployments.delete(deploymentId);
    this.#pending.delete(deploymentId);
  }

  /** A later batch's target gets its job: its output is followed with the deployment. */
  note(event: FleetEvent): void {
    if (event.type !== 'deployment.target' || event.job_id === null) return;
    (this.#deployments.get(event.deployment_id) ?? this.#pending.get(event.deployment_id))?.add(event.job_id);
  }

  hasOutputOf(jobId: string): boolean {
    if (this.jobs.has(jobId)) return true;
    for (const jobs of this.#deployments.values()) if (jobs.has(jobId)) return true;
    return false;
  }
}

/**
 * What a console sees of an event: only its organisation's, only what its permissions read (a
 * service token only its service's deployments), nothing internal, output only of what it follows.
 */
function visible(event: FleetEvent, principal: Principal, follows: Follows): boolean {
  if (event.org_id !== principal.orgId) return false;
  switch (event.type) {
    case 'agent.status':
    case 'agent.deleted':
    case 'agent.facts':
    case 'job.state':
    case 'run.progress':
      return principal.permissions.has('jobs:read');
    case 'service.changed':
      return principal.permissions.has('services:read');
    case 'alert.fired':
    case 'alert.resolved':
      return principal.permissions.has('alerts:read');
    case 'deployment.state':
    case 'deployment.target':
    case 'deployment.step':
      return (
        principal.permissions.has('deployments:read') &&
        (principal.serviceId === undefined || event.service_id === principal.serviceId)
      );
    case 'job.output':
      // a followed job was checked when followed: jobs:read for a job, the lookup for a deployment
      return follows.hasOutputOf(event.job_id);
    case 'agent.jobs_available':
    case 'agent.facts_requested':
    case 'agent.token_replaced':
    case 'principals.changed':
    case 'settings.changed':
    case 'job.cancel':
      return false;
    default:
      return assertNever(event);
  }
}

type SessionState =
  | { is: 'awaiting'; timer: NodeJS.Timeout }
  /** Messages that came meanwhile wait their turn. */
  | { is: 'authenticating'; waiting: string[] }
  | { is: 'open'; ctx: RequestContext; unsubscribe: () => void }
  | { is: 'closed' };

/**
 * One console's socket. States: awaiting its token (opened without a credential; closed 4401
 * when none comes in time) → authenticating → open (events flow, commands are answered) →
 * closed. A socket opened with a credential starts open.
 */
class ConsoleSession {
  #state: SessionState;
  readonly #follows = new Follows();
  readonly #socket: WebSocket;
  readonly #request: FastifyRequest;
  readonly #deps: ConsoleDeps;

  constructor(socket: WebSocket, request: FastifyRequest, deps: ConsoleDeps) {
    this.#socket = socket;
    this.#request = request;
    this.#deps = deps;
    this.#state = request.principal
      ? this.#open(request.principal)
      : {
          is: 'awaiting',
          timer: setTimeout(
            () => socket.close(UNAUTHORIZED, 'no {"access_token":"…"} message in time'),
            deps.authTimeoutMs ?? AUTH_TIMEOUT_MS,
          ),
        };
    socket.on('close', () => this.#closed());
    socket.on('message', (data: Buffer) => this.#onMessage(data.toString('utf8')));
  }

  #onMessage(raw: string): void {
    const state = this.#state;
    switch (state.is) {
      case 'awaiting':
        clearTimeout(state.timer);
        this.#authenticate(raw);
        return;
      case 'authenticating':
        state.waiting.push(raw);
        return;
      case 'open':
        this.#command(state.ctx, raw);
        return;
      case 'closed':
        return;
      default:
        assertNever(state);
    }
  }

  #authenticate(raw: string): void {
    const token = accessTokenOf(raw);
    if (!token) {
      this.#refuse(UNAUTHORIZED, 'the first message must be {"access_token":"…"}');
      return;
    }
    const waiting: string[] = [];
    this.#state = { is: 'authenticating', waiting };
    this.#deps.auth.authenticate(token).then(
      (principal) => {
        if (this.#state.is === 'closed') return;
        if (!principal) this.#refuse(UNAUTHORIZED, 'credentials are not valid or have expired');
        else if (!mayConnect(principal)) this.#refuse(FORBIDDEN, CONNECT_REFUSED);
        else {
          this.#send({ type: 'authentication', status: 'success' });
          const open = this.#open(principal);
          this.#state = open;
          for (const message of waiting) this.#command(open.ctx, message);
        }
      },
      (error: unknown) => {
        this.#request.log.error({ err: error }, 'events socket: authentication failed');
        this.#socket.close(1011, 'authentication failed');
      },
    );
  }

  #refuse(code: number, message: string): void {
    this.#send({ type: 'authentication', status: 'failure', message });
    this.#socket.close(code, message);
  }

  /** Starts the flow of events. */
  #open(principal: Principal): SessionState & { is: 'open' } {
    const ctx: RequestContext = { ...principal, meta: metaOf(this.#request) };
    const unsubscribe = this.#deps.bus.subscribe((event) => {
      if (!visible(event, ctx, this.#follows)) return;
      this.#follows.note(event);
      if (this.#socket.readyState !== this.#socket.OPEN) return;
      // the WebSocket writes to the request's own socket once upgraded
      corkForThisTurn(this.#request.raw.socket);
      this.#socket.send(JSON.stringify(event));
    });
    return { is: 'open', ctx, unsubscribe };
  }

  #closed(): void {
    const state = this.#state;
    this.#state = { is: 'closed' };
    if (state.is === 'awaiting') clearTimeout(state.timer);
    if (state.is === 'open') state.unsubscribe();
  }

  #command(ctx: RequestContext, raw: string): void {
    const command = parseCommand(raw);
    if (!command) this.#send({ type: 'error', code: 'bad_request', message: USAGE });
    else if ('job_id' in command) this.#followJob(ctx, command.type, command.job_id);
    else this.#followDeployment(ctx, command.type, command.deployment_id);
  }

  #followJob(ctx: RequestContext, type: ConsoleCommand['type'], jobId: string): void {
    if (type === 'unsubscribe') {
      this.#follows.jobs.delete(jobId);
      return;
    }
    if (!ctx.permissions.has('jobs:read')) {
      this.#sendError(new AppError('forbidden', 'permission "jobs:read" is required'), { job_id: jobId });
      return;
    }
    this.#deps.jobs.get(ctx.orgId, jobId).then(
      () => {
        this.#follows.jobs.add(jobId);
        this.#send({ type: 'subscribed', job_id: jobId });
      },
      (error: unknown) => this.#sendError(error, { job_id: jobId }),
    );
  }

  #followDeployment(ctx: RequestContext, type: ConsoleCommand['type'], deploymentId: string): void {
    if (type === 'unsubscribe') {
      this.#follows.drop(deploymentId);
      return;
    }
    const about = { deployment_id: deploymentId };
    if (!ctx.permissions.has('deployments:read')) {
      this.#sendError(new AppError('forbidden', 'permission "deployments:read" is required'), about);
      return;
    }
    const collecting = this.#follows.begin(deploymentId);
    this.#deps.deployments.jobsOf(ctx, deploymentId).then(
      (jobIds) => {
        if (this.#follows.confirm(deploymentId, collecting, jobIds))
          this.#send({ type: 'subscribed', ...about });
      },
      (error: unknown) => {
        this.#follows.abandon(deploymentId, collecting);
        this.#sendError(error, about);
      },
    );
  }

  #sendError(error: unknown, about: Followed): void {
    this.#send({
      type: 'error',
      code: error instanceof AppError ? error.code : 'internal',
      message: error instanceof Error ? error.message : 'failed',
      ...about,
    });
  }

  #send(message: object): void {
    if (this.#socket.readyState === this.#socket.OPEN) this.#socket.send(JSON.stringify(message));
  }
}

/**
 * Live stream for consoles, only ever of the caller's organisation and of what its permissions
 * read: agents, job states and run progress (jobs:read), services (services:read), deployments
 * (deployments:read), and output lines of the jobs and deployments a client follows.
 */
export function consoleRoutes(deps: ConsoleDeps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/api/v1/events/ws',
      {
        websocket: true,
        // The guard lets an upgrade without any credential through: its first message authenticates it.
        config: { permission: 'authenticated', socketAuth: true },
        schema: {
          tags: ['events'],
          summary:
            'Live events (WebSocket). Token as bearer, ?access_token= or, sent with none, as the first message ' +
            '{"access_token":…} (answered {"type":"authentication","status":"success"}; close 4401 or 4403 on ' +
            'failure). Send {"type":"subscribe","job_id":…} or {"type":"subscribe","deployment_id":…} to follow ' +
            'output; jobs:read or deployments:read is required',
          querystring: Type.Object({ access_token: Type.Optional(Type.String()) }),
        },
        // Before the upgrade: a credential given up front is refused with a plain 403.
        preHandler: async (request) => {
          if (request.principal && !mayConnect(request.principal))
            throw new AppError('forbidden', CONNECT_REFUSED);
        },
      },
      (socket: WebSocket, request) => {
        new ConsoleSession(socket, request, deps);
      },
    );
  };
}
