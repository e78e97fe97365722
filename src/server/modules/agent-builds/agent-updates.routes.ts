import type {} from '@fastify/websocket';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ServerFrame } from '../../../protocol/agent.js';
import { agentOf, contextOf } from '../../http/context.js';
import { parseAgentFrame } from '../../realtime/frames.js';
import { UpdatePolicyBody, UpdatePolicySchema, UpdateStatusSchema } from './agent-updates.schemas.js';
import type { AgentUpdatesService } from './agent-updates.service.js';

const tags = ['agent-builds'];
/** A trial that says nothing for this long is cut; the agent's own bound is longer. */
const TRIAL_SILENCE_MS = 20_000;

export function agentUpdatesRoutes(deps: {
  updates: AgentUpdatesService;
  heartbeatIntervalMs: number;
}): FastifyPluginAsyncTypebox {
  const { updates, heartbeatIntervalMs } = deps;
  return async (app) => {
    app.get(
      '/api/v1/agent-updates',
      {
        config: { permission: 'agents:read' },
        schema: {
          operationId: 'getAgentUpdates',
          tags,
          summary:
            'The update policy, the builds offered, agents by version, and updates under way or failed',
          response: { 200: UpdateStatusSchema },
        },
      },
      async (request) => updates.status(contextOf(request).orgId),
    );

    app.put(
      '/api/v1/agent-updates',
      {
        config: { permission: 'agents:update', errors: ['unprocessable'] },
        schema: {
          operationId: 'setAgentUpdatePolicy',
          tags,
          summary: 'Pause or resume updates, set the canary group, promote from canary to all',
          description: 'A canary group that is not one of the organisation is 422',
          body: UpdatePolicyBody,
          response: { 200: UpdatePolicySchema },
        },
      },
      async (request) => updates.setPolicy(contextOf(request), request.body),
    );

    // An update's trial run: the new executable proves it starts, reads its state and is welcomed
    // with the agent's token, without taking the live session's place or any job.
    app.get(
      '/api/v1/agent/update-trial',
      {
        websocket: true,
        config: { permission: 'agent' },
        schema: { tags, summary: "Agent WebSocket for a new build's trial: hello, welcome, close" },
      },
      (socket, request) => {
        const agent = agentOf(request);
        const silence = setTimeout(() => socket.terminate(), TRIAL_SILENCE_MS);
        socket.on('close', () => clearTimeout(silence));
        socket.on('message', (data: Buffer) => {
          const frame = parseAgentFrame(data.toString('utf8'));
          if (frame?.type !== 'hello') return;
          request.log.info(
            { agentId: agent.id, version: frame.facts.agent_version },
            'agent update trial welcomed',
          );
          const welcome: ServerFrame = {
            type: 'welcome',
            agent_id: agent.id,
            heartbeat_interval_ms: heartbeatIntervalMs,
          };
          socket.send(JSON.stringify(welcome));
          socket.close(1000, 'trial passed');
        });
      },
    );
  };
}
