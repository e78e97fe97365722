import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams } from '../../http/schemas.js';
import { PageOf, pageParams } from '../../lib/pagination.js';
import {
  ProcessJobCreateBody,
  ProcessJobListQuery,
  ProcessJobReassignBody,
  ProcessJobSchema,
  ProcessJobStatusBody,
} from './process-jobs.schemas.js';
import type { ProcessJobsService } from './process-jobs.service.js';

const tags = ['process jobs'];

export function processJobsRoutes(deps: { processJobs: ProcessJobsService }): FastifyPluginAsyncTypebox {
  const { processJobs } = deps;
  return async (app) => {
    app.post(
      '/api/v1/process-jobs',
      {
        config: { permission: 'process_jobs:execute', errors: ['unprocessable'] },
        schema: {
          operationId: 'createProcessJob',
          tags,
          summary: 'Start a process on one robot, or on any robot of its pool',
          description:
            "The input is merged over the process's default input and checked against its entry point's schema (422 per field). Logs: `GET /api/v1/jobs/{id}/output`.",
          body: ProcessJobCreateBody,
          response: { 201: ProcessJobSchema },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await processJobs.create(contextOf(request), request.body)),
    );

    app.get(
      '/api/v1/process-jobs',
      {
        config: { permission: 'process_jobs:read' },
        schema: {
          operationId: 'listProcessJobs',
          tags,
          summary: 'Process jobs, newest first',
          querystring: ProcessJobListQuery,
          response: { 200: PageOf(ProcessJobSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return processJobs.list(
          contextOf(request).orgId,
          { processId: q.process_id, robotId: q.robot_id, status: q.status },
          pageParams(q),
        );
      },
    );

    app.get(
      '/api/v1/process-jobs/:id',
      {
        config: { permission: 'process_jobs:read' },
        schema: {
          operationId: 'getProcessJob',
          tags,
          summary: 'A process job: what it ran, its status, result and error',
          params: IdParams,
          response: { 200: ProcessJobSchema },
        },
      },
      async (request) => processJobs.get(contextOf(request).orgId, request.params.id),
    );

    app.post(
      '/api/v1/process-jobs/:id/cancel',
      {
        config: { permission: 'process_jobs:execute', errors: ['conflict'] },
        schema: {
          operationId: 'cancelProcessJob',
          tags,
          summary: 'Cancel a process job: a waiting one ends at once, a running one is asked to stop',
          params: IdParams,
          response: { 200: ProcessJobSchema },
        },
      },
      async (request) => processJobs.cancel(contextOf(request), request.params.id),
    );

    app.post(
      '/api/v1/process-jobs/:id/reassign',
      {
        config: { permission: 'process_jobs:update', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'reassignProcessJob',
          tags,
          summary: 'Give a waiting process job to another robot, or to a pool',
          params: IdParams,
          body: ProcessJobReassignBody,
          response: { 200: ProcessJobSchema },
        },
      },
      async (request) => processJobs.reassign(contextOf(request), request.params.id, request.body),
    );

    app.post(
      '/api/v1/process-jobs/:id/status',
      {
        config: { permission: 'process_jobs:update', errors: ['conflict'] },
        schema: {
          operationId: 'setProcessJobStatus',
          tags,
          summary: 'End a process job by hand with a final status and the reason',
          params: IdParams,
          body: ProcessJobStatusBody,
          response: { 200: ProcessJobSchema },
        },
      },
      async (request) => processJobs.setStatus(contextOf(request), request.params.id, request.body),
    );
  };
}
