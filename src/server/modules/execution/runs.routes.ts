import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams } from '../../http/schemas.js';
import { PageOf, mapPage, pageParams } from '../../lib/pagination.js';
import { assertEnvNames } from './jobs.env.js';
import { jobView } from './jobs.routes.js';
import { JobSchema, RunJobsQuery } from './jobs.schemas.js';
import type { JobsService } from './jobs.service.js';
import { RunCreateBody, RunListQuery, RunSchema } from './runs.schemas.js';
import type { RunsService } from './runs.service.js';

const tags = ['runs'];

export function runsRoutes(deps: { runs: RunsService; jobs: JobsService }): FastifyPluginAsyncTypebox {
  const { runs, jobs } = deps;
  return async (app) => {
    app.post(
      '/api/v1/runs',
      {
        config: { permission: 'runs:execute', errors: ['unprocessable'] },
        schema: {
          operationId: 'createRun',
          tags,
          summary:
            'Run one command (job), or several at once (commands), on a target set, with a concurrency limit and a failure threshold',
          body: RunCreateBody,
          response: { 202: RunSchema },
        },
      },
      async (request, reply) => {
        if (request.body.job) assertEnvNames(request.body.job, 'job.');
        return reply.status(202).send(await runs.create(contextOf(request), request.body));
      },
    );

    app.get(
      '/api/v1/runs',
      {
        config: { permission: 'runs:read' },
        schema: {
          operationId: 'listRuns',
          tags,
          summary: 'Runs, newest first',
          querystring: RunListQuery,
          response: { 200: PageOf(RunSchema) },
        },
      },
      async (request) =>
        runs.list(contextOf(request).orgId, { status: request.query.status }, pageParams(request.query)),
    );

    app.get(
      '/api/v1/runs/:id',
      {
        config: { permission: 'runs:read' },
        schema: {
          operationId: 'getRun',
          tags,
          summary: 'A run with its job counts',
          params: IdParams,
          response: { 200: RunSchema },
        },
      },
      async (request) => runs.get(contextOf(request).orgId, request.params.id),
    );

    app.get(
      '/api/v1/runs/:id/jobs',
      {
        config: { permission: 'runs:read' },
        schema: {
          operationId: 'listRunJobs',
          tags,
          summary: "A run's jobs",
          params: IdParams,
          querystring: RunJobsQuery,
          response: { 200: PageOf(JobSchema) },
        },
      },
      async (request) => {
        const orgId = contextOf(request).orgId;
        await runs.get(orgId, request.params.id);
        const filter = { runId: request.params.id, status: request.query.status };
        const page = await jobs.list(orgId, filter, pageParams(request.query));
        return mapPage(await jobs.namedPage(orgId, page), jobView);
      },
    );

    app.post(
      '/api/v1/runs/:id/cancel',
      {
        config: { permission: 'runs:execute', errors: ['conflict'] },
        schema: {
          operationId: 'cancelRun',
          tags,
          summary: 'Cancel what has not finished',
          params: IdParams,
          response: { 202: RunSchema },
        },
      },
      async (request, reply) =>
        reply.status(202).send(await runs.cancel(contextOf(request), request.params.id)),
    );
  };
}
