import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams } from '../../http/schemas.js';
import {
  AgentMetricsQuery,
  AgentMetricsSchema,
  FleetOverviewSchema,
  OverviewQuery,
} from './metrics.schemas.js';
import type { MetricsService } from './metrics.service.js';

const tags = ['metrics'];

export function metricsRoutes(deps: { metrics: MetricsService }): FastifyPluginAsyncTypebox {
  const { metrics } = deps;
  return async (app) => {
    app.get(
      '/api/v1/agents/:id/metrics',
      {
        config: { permission: 'agents:read', errors: ['unprocessable'] },
        schema: {
          operationId: 'getAgentMetrics',
          tags,
          summary:
            "An agent's CPU, memory, disk and uptime over a range: raw points, 1-minute or 1-hour buckets",
          description:
            'Refused (422 on `from`) when `from` is not before `to`, or when the range is too long for the step',
          params: IdParams,
          querystring: AgentMetricsQuery,
          response: { 200: AgentMetricsSchema },
        },
      },
      async (request) => metrics.agentSeries(contextOf(request).orgId, request.params.id, request.query),
    );

    app.get(
      '/api/v1/metrics/overview',
      {
        config: { permission: 'agents:read' },
        schema: {
          operationId: 'getFleetOverview',
          tags,
          summary:
            'The fleet over a window: agents, usage, uptime, jobs and runs by outcome, backlogs, deployments',
          description:
            'Jobs, runs, queues and deployments are null for a caller without jobs:read, runs:read, ' +
            'queues:read or deployments:read. History is rolled up each minute: the last minute or so is not in it yet.',
          querystring: OverviewQuery,
          response: { 200: FleetOverviewSchema },
        },
      },
      async (request) => metrics.overview(contextOf(request), request.query.window ?? '24h'),
    );
  };
}
