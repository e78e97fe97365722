import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { contextOf, deploymentOf } from '../../http/context.js';
import { IdParams } from '../../http/schemas.js';
import { PageOf, pageParams } from '../../lib/pagination.js';
import { assertEnvNames } from '../execution/jobs.env.js';
import type { DeploymentReports } from './deployments.reports.js';
import {
  DeployedServiceSchema,
  DeploymentCreateBody,
  DeploymentDetailSchema,
  DeploymentListQuery,
  DeploymentSchema,
  FinishBody,
  StepReportBody,
  StepSchema,
  TargetListQuery,
  TargetOutputSchema,
  TargetParams,
  TargetSchema,
  TargetWithStepsSchema,
} from './deployments.schemas.js';
import type { DeploymentsService } from './deployments.service.js';

const tags = ['deployments'];

/**
 * Deployments as people and CI see them (a user, an API key, or a service token for its own
 * service), and as deploy scripts report on them with their deployment token.
 */
export function deploymentsRoutes(deps: {
  deployments: DeploymentsService;
  reports: DeploymentReports;
}): FastifyPluginAsyncTypebox {
  const { deployments, reports } = deps;
  return async (app) => {
    app.post(
      '/api/v1/deployments',
      {
        config: { permission: 'deployments:execute', errors: ['unprocessable'] },
        schema: {
          operationId: 'startDeployment',
          tags,
          summary:
            'Deploy a service: its script runs on its machines, batch by batch; a service token deploys its own service',
          body: DeploymentCreateBody,
          response: { 201: DeploymentDetailSchema },
        },
      },
      async (request, reply) => {
        assertEnvNames(request.body);
        return reply.status(201).send(await deployments.start(contextOf(request), request.body));
      },
    );

    app.get(
      '/api/v1/deployments',
      {
        config: { permission: 'deployments:read' },
        schema: {
          operationId: 'listDeployments',
          tags,
          summary: 'Deployments, newest first, by service, status, origin and start time',
          querystring: DeploymentListQuery,
          response: { 200: PageOf(DeploymentSchema) },
        },
      },
      async (request) => {
        const { service_id, status, origin, from, to } = request.query;
        return deployments.list(
          contextOf(request),
          {
            ...(service_id ? { serviceId: service_id } : {}),
            ...(status ? { status } : {}),
            ...(origin ? { origin } : {}),
            ...(from ? { from: new Date(from).toISOString() } : {}),
            ...(to ? { to: new Date(to).toISOString() } : {}),
          },
          pageParams(request.query),
        );
      },
    );

    app.get(
      '/api/v1/deployments/:id',
      {
        config: { permission: 'deployments:read' },
        schema: {
          operationId: 'getDeployment',
          tags,
          summary: 'A deployment with its batches, its machines and each machine’s steps',
          params: IdParams,
          response: { 200: DeploymentDetailSchema },
        },
      },
      async (request) => deployments.get(contextOf(request), request.params.id),
    );

    app.post(
      '/api/v1/deployments/:id/cancel',
      {
        config: { permission: 'deployments:execute', errors: ['conflict'] },
        schema: {
          operationId: 'cancelDeployment',
          tags,
          summary: 'Stop a deployment: machines not started are canceled, running scripts are stopped',
          params: IdParams,
          response: { 200: DeploymentDetailSchema },
        },
      },
      async (request) => deployments.cancel(contextOf(request), request.params.id),
    );

    app.post(
      '/api/v1/deployments/:id/continue',
      {
        config: { permission: 'deployments:execute', errors: ['conflict'] },
        schema: {
          operationId: 'continueDeployment',
          tags,
          summary: 'Start the next batch of a rollout paused between batches',
          params: IdParams,
          response: { 200: DeploymentDetailSchema },
        },
      },
      async (request) => deployments.continue(contextOf(request), request.params.id),
    );

    app.get(
      '/api/v1/deployments/:id/targets',
      {
        config: { permission: 'deployments:read' },
        schema: {
          operationId: 'listDeploymentTargets',
          tags,
          summary: "A deployment's machines with their steps, newest first, by batch and status",
          params: IdParams,
          querystring: TargetListQuery,
          response: { 200: PageOf(TargetWithStepsSchema) },
        },
      },
      async (request) => {
        const { batch, status } = request.query;
        return deployments.targets(
          contextOf(request),
          request.params.id,
          { ...(batch === undefined ? {} : { batch }), ...(status ? { status } : {}) },
          pageParams(request.query),
        );
      },
    );

    app.get(
      '/api/v1/deployments/:id/targets/:targetId/output',
      {
        config: { permission: 'deployments:read' },
        schema: {
          operationId: 'getDeploymentTargetOutput',
          tags,
          summary: 'What the deploy script wrote on one machine, as stored',
          params: TargetParams,
          response: { 200: TargetOutputSchema },
        },
      },
      async (request) => deployments.output(contextOf(request), request.params.id, request.params.targetId),
    );

    app.get(
      '/api/v1/deployed-services',
      {
        config: { permission: 'deployed_services:read' },
        schema: {
          operationId: 'listDeployedServices',
          tags,
          summary:
            'Discovery: the config each service published in its last successful deployment (config tokens)',
          response: { 200: Type.Object({ items: Type.Array(DeployedServiceSchema) }) },
        },
      },
      async (request) => ({ items: await deployments.deployed(contextOf(request).orgId) }),
    );

    app.post(
      '/api/v1/steps',
      {
        config: { permission: 'deployment', errors: ['forbidden'] },
        schema: {
          operationId: 'reportDeploymentStep',
          tags,
          summary:
            'A deploy script reports a step by name (an unknown name is appended), with its FP_DEPLOYMENT_TOKEN',
          body: StepReportBody,
          response: { 200: StepSchema },
        },
      },
      async (request) => reports.step(deploymentOf(request), request.body),
    );

    app.put(
      '/api/v1/deployments/finish',
      {
        config: { permission: 'deployment', errors: ['forbidden', 'conflict', 'unprocessable'] },
        schema: {
          operationId: 'finishDeployment',
          tags,
          summary:
            'A deploy script says it is done on its machine, with the config the service publishes (FP_DEPLOYMENT_TOKEN)',
          body: FinishBody,
          response: { 200: TargetSchema },
        },
      },
      async (request) => reports.finish(deploymentOf(request), request.body),
    );
  };
}
