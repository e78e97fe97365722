import type {} from '@fastify/websocket';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { HeartbeatRequest, HeartbeatResponse, JobEventsRequest } from '../../protocol/agent.js';
import { agentOf } from '../http/context.js';
import { AppError } from '../lib/errors.js';
import type { AgentsService } from '../modules/agents/agents.service.js';
import type { Liveness } from '../modules/agents/liveness.js';
import type { JobsService } from '../modules/execution/jobs.service.js';
import type { AgentGateway } from './agent-gateway.js';

const tags = ['agent channel'];

/** The agent's side of the API: the WebSocket, and the HTTP fallback speaking the same messages. */
export function agentChannelRoutes(deps: {
  gateway: AgentGateway;
  jobs: JobsService;
  agents: AgentsService;
  liveness: Liveness;
  heartbeatIntervalMs: number;
}): FastifyPluginAsyncTypebox {
  const { gateway, jobs, agents, liveness, heartbeatIntervalMs } = deps;
  return async (app) => {
    app.get(
      '/api/v1/agent/ws',
      {
        websocket: true,
        config: { permission: 'agent' },
        schema: { tags, summary: 'Agent WebSocket: jobs pushed, events streamed' },
      },
      (socket, request) => gateway.attach(agentOf(request), socket, request.ip),
    );

    app.post(
      '/api/v1/agent/heartbeat',
      {
        config: { permission: 'agent' },
        schema: {
          tags,
          summary: 'HTTP fallback: report liveness, receive waiting jobs and cancels',
          body: HeartbeatRequest,
          response: { 200: HeartbeatResponse },
        },
      },
      async (request) => {
        const agent = agentOf(request);
        liveness.record(agent.id, request.body.metrics);
        if (request.body.facts) await agents.updateFacts(agent.id, request.body.facts, request.ip);
        await jobs.reconcileHeld(agent.id, request.body.running_job_ids);
        const [jobsToRun, cancels] = await Promise.all([jobs.claim(agent.id), jobs.pendingCancels(agent.id)]);
        return {
          jobs: jobsToRun,
          cancel_job_ids: cancels.map((c) => c.id),
          heartbeat_interval_ms: heartbeatIntervalMs,
        };
      },
    );

    app.post(
      '/api/v1/agent/jobs/:id/events',
      {
        config: { permission: 'agent' },
        schema: {
          tags,
          summary: 'HTTP fallback: acknowledgements, output and results of one job, in order',
          params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
          body: JobEventsRequest,
          response: { 200: Type.Object({ accepted: Type.Integer() }) },
        },
      },
      async (request) => {
        const agent = agentOf(request);
        for (const event of request.body.events) {
          if (event.job_id !== request.params.id)
            throw new AppError('bad_request', 'every event must be about the job in the path');
          await jobs.applyEvent(agent.id, event);
        }
        return { accepted: request.body.events.length };
      },
    );
  };
}
