import type {} from '@fastify/websocket';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  HeartbeatRequest,
  HeartbeatResponse,
  JobEventsRequest,
  JobEventsResponse,
} from '../../protocol/agent.js';
import { agentOf } from '../http/context.js';
import { AppError } from '../lib/errors.js';
import type { AgentSession } from '../modules/execution/agent-session.js';
import type { AgentGateway } from './agent-gateway.js';

const tags = ['agent channel'];
/**
 * Seconds a refused agent waits before it tries again (its backoff's jitter comes on top): behind
 * a load balancer the retry may reach another node; here a socket may have freed.
 */
const NODE_FULL_RETRY_AFTER_SECONDS = 5;

/**
 * The agent's side of the API: the WebSocket, and the HTTP fallback speaking the same messages.
 * Both are transports of the one agent session; here a heartbeat is a hello, a heartbeat and a
 * request for work at once, and events are answered in the reply, one outcome each.
 */
export function agentChannelRoutes(deps: {
  gateway: AgentGateway;
  session: AgentSession;
}): FastifyPluginAsyncTypebox {
  const { gateway, session } = deps;
  return async (app) => {
    app.get(
      '/api/v1/agent/ws',
      {
        websocket: true,
        config: { permission: 'agent' },
        schema: { tags, summary: 'Agent WebSocket: jobs pushed, events streamed' },
        // Refused before the upgrade: a plain 503, and the connection closes with it. Synchronous,
        // so nothing attaches between this count and the handler's: the cap holds exactly.
        preHandler: (request, _reply, done) => {
          if (gateway.admits(agentOf(request).id)) return done();
          done(
            new AppError('node_full', 'this node holds as many agent sockets as it may; try again later', {
              retryAfterSeconds: NODE_FULL_RETRY_AFTER_SECONDS,
            }),
          );
        },
      },
      (socket, request) => gateway.attach(agentOf(request), socket, request.ip),
    );

    app.post(
      '/api/v1/agent/heartbeat',
      {
        config: { permission: 'agent' },
        schema: {
          operationId: 'sendAgentHeartbeat',
          tags,
          summary: 'HTTP fallback: report liveness, receive waiting jobs and cancels',
          body: HeartbeatRequest,
          response: { 200: HeartbeatResponse },
        },
      },
      async (request) => {
        const agent = agentOf(request);
        const { metrics, facts, running_job_ids, update_result } = request.body;
        session.heartbeat(agent.id, metrics);
        await session.hello(agent, { facts, heldJobIds: running_job_ids, ip: request.ip });
        if (update_result) await session.updateResult(agent, update_result);
        const [jobs, cancels] = await Promise.all([
          // over HTTP each poll looks for pooled work: no socket can be woken for it
          session.jobsToRun(agent.id, { pooled: true }),
          session.cancelsDue(agent.id),
        ]);
        const update = await session.updateOffer(agent, facts);
        return {
          jobs,
          cancel_job_ids: cancels,
          heartbeat_interval_ms: session.heartbeatIntervalMs,
          ...(update ? { update } : {}),
          ...(agent.facts_requested_at !== null && facts === undefined ? { refresh_facts: true } : {}),
        };
      },
    );

    app.post(
      '/api/v1/agent/jobs/:id/events',
      {
        config: { permission: 'agent' },
        schema: {
          operationId: 'reportAgentJobEvents',
          tags,
          summary:
            'HTTP fallback: acknowledgements, output and results of one job, in order; each answered with its outcome',
          params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
          body: JobEventsRequest,
          response: { 200: JobEventsResponse },
        },
      },
      async (request) => {
        const agent = agentOf(request);
        if (request.body.events.some((event) => event.job_id !== request.params.id))
          throw new AppError('bad_request', 'every event must be about the job in the path');
        return { acks: await session.events(agent.id, request.body.events) };
      },
    );
  };
}
