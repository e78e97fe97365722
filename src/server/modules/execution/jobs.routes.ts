import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { isFinal } from '../../../protocol/jobs.js';
import { contextOf } from '../../http/context.js';
import { IdParams } from '../../http/schemas.js';
import { PageOf, PageQuery, mapPage, pageParams } from '../../lib/pagination.js';
import { maskAll, maskSecrets } from '../../lib/secrets.js';
import { assertEnvNames } from './jobs.env.js';
import type { JobRow, OutputRow } from './jobs.rows.js';
import {
  JobCreateBody,
  JobListQuery,
  JobSchema,
  JobWithOutputSchema,
  OutputChunks,
  OutputQuery,
  PooledJobCreateBody,
  WaitQuery,
} from './jobs.schemas.js';
import type { JobsService, NamedJob } from './jobs.service.js';

const tags = ['jobs'];

/** The whole output as text, stdout and stderr in the order they came, with a note when cut. */
function outputText(job: JobRow, chunks: readonly OutputRow[]): string {
  const text = chunks.map((c) => c.data).join('');
  return job.output_truncated ? `${text}\n[output truncated at the size cap]\n` : text;
}

export function jobView(job: NamedJob) {
  return {
    id: job.id,
    agent_id: job.agent_id,
    agent_name: job.agent_name,
    pool: job.pool,
    robot_id: job.robot_id,
    run_id: job.run_id,
    kind: job.kind,
    interpreter: job.interpreter,
    command: job.command,
    script_id: job.script_id,
    script_version: job.script_version,
    env: maskSecrets(job.env) as Record<string, string>,
    secret_env: maskAll(job.secret_env),
    cwd: job.cwd,
    run_as: job.run_as,
    timeout_seconds: job.timeout_seconds,
    status: job.status,
    attempt: job.attempt,
    max_attempts: job.max_attempts,
    exit_code: job.exit_code,
    duration_ms: job.duration_ms,
    error: job.error,
    output_bytes: job.output_bytes,
    output_truncated: job.output_truncated,
    cancel_requested_at: job.cancel_requested_at,
    lease_expires_at: job.lease_expires_at,
    created_at: job.created_at,
    dispatched_at: job.dispatched_at,
    started_at: job.started_at,
    finished_at: job.finished_at,
    task_index: job.task_index,
    task_name: job.task_name,
  };
}

export function jobsRoutes(deps: { jobs: JobsService }): FastifyPluginAsyncTypebox {
  const { jobs } = deps;

  /** The job once final within `wait` seconds, with its output; otherwise as it stands. */
  async function waited(orgId: string, created: JobRow, wait = 0) {
    const job = await jobs.namedOne(
      orgId,
      wait > 0 ? await jobs.waitForFinal(orgId, created.id, wait * 1000) : created,
    );
    if (!isFinal(job.status)) return jobView(job);
    const { chunks } = await jobs.output(orgId, job.id);
    return { ...jobView(job), output: outputText(job, chunks) };
  }

  return async (app) => {
    app.post(
      '/api/v1/agents/:id/jobs',
      {
        config: { permission: 'jobs:execute', errors: ['unprocessable'] },
        schema: {
          operationId: 'createAgentJob',
          tags,
          summary: 'Run a command on one agent; `?wait=N` holds the request up to N seconds for the result',
          description:
            'A job that ends within the wait is answered 200 with its output; otherwise 202 with the job as it is',
          params: IdParams,
          querystring: WaitQuery,
          body: JobCreateBody,
          response: { 200: JobWithOutputSchema, 202: JobSchema },
        },
      },
      async (request, reply) => {
        const ctx = contextOf(request);
        assertEnvNames(request.body);
        const created = await jobs.create(ctx, request.params.id, request.body);
        const job = await waited(ctx.orgId, created, request.query.wait);
        return reply.status(isFinal(job.status) ? 200 : 202).send(job);
      },
    );

    app.post(
      '/api/v1/jobs',
      {
        config: { permission: 'jobs:execute', errors: ['unprocessable'] },
        schema: {
          operationId: 'createJob',
          tags,
          summary: 'Run a command on any one agent of a pool; `?wait=N` holds the request up to N seconds',
          description:
            'The first agent of the pool to ask for work takes the job, and no other does. 422 when no ' +
            'agent of the organisation is in the pool. Answered as `POST /agents/{id}/jobs` is.',
          querystring: WaitQuery,
          body: PooledJobCreateBody,
          response: { 200: JobWithOutputSchema, 202: JobSchema },
        },
      },
      async (request, reply) => {
        const ctx = contextOf(request);
        assertEnvNames(request.body);
        const { pool, ...input } = request.body;
        const created = await jobs.createPooled(ctx, pool, input);
        const job = await waited(ctx.orgId, created, request.query.wait);
        return reply.status(isFinal(job.status) ? 200 : 202).send(job);
      },
    );

    app.get(
      '/api/v1/agents/:id/jobs',
      {
        config: { permission: 'jobs:read' },
        schema: {
          operationId: 'listAgentJobs',
          tags,
          summary: "An agent's jobs, newest first",
          params: IdParams,
          querystring: PageQuery,
          response: { 200: PageOf(JobSchema) },
        },
      },
      async (request) => {
        const orgId = contextOf(request).orgId;
        const page = await jobs.listForAgent(orgId, request.params.id, pageParams(request.query));
        return mapPage(await jobs.namedPage(orgId, page), jobView);
      },
    );

    app.get(
      '/api/v1/jobs',
      {
        config: { permission: 'jobs:read' },
        schema: {
          operationId: 'listJobs',
          tags,
          summary: 'Jobs across the fleet',
          querystring: JobListQuery,
          response: { 200: PageOf(JobSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        const orgId = contextOf(request).orgId;
        const page = await jobs.list(
          orgId,
          { agentId: q.agent_id, runId: q.run_id, status: q.status },
          pageParams(q),
        );
        return mapPage(await jobs.namedPage(orgId, page), jobView);
      },
    );

    app.get(
      '/api/v1/jobs/:id',
      {
        config: { permission: 'jobs:read' },
        schema: {
          operationId: 'getJob',
          tags,
          summary: 'Get a job',
          params: IdParams,
          response: { 200: JobSchema },
        },
      },
      async (request) => {
        const orgId = contextOf(request).orgId;
        return jobView(await jobs.namedOne(orgId, await jobs.get(orgId, request.params.id)));
      },
    );

    app.post(
      '/api/v1/jobs/:id/cancel',
      {
        config: { permission: 'jobs:execute', errors: ['conflict'] },
        schema: {
          operationId: 'cancelJob',
          tags,
          summary: 'Cancel a job that has not finished',
          params: IdParams,
          response: { 202: JobSchema },
        },
      },
      async (request, reply) => {
        const ctx = contextOf(request);
        const job = await jobs.cancel(ctx, request.params.id);
        return reply.status(202).send(jobView(await jobs.namedOne(ctx.orgId, job)));
      },
    );

    app.get(
      '/api/v1/jobs/:id/output',
      {
        config: { permission: 'jobs:read' },
        schema: {
          operationId: 'getJobOutput',
          tags,
          summary: "The job's whole output: text (stdout and stderr interleaved in order) or JSON chunks",
          params: IdParams,
          querystring: OutputQuery,
          response: { 200: Type.Union([OutputChunks, Type.String()]) },
        },
      },
      async (request, reply) => {
        const { job, chunks } = await jobs.output(contextOf(request).orgId, request.params.id);
        if (request.query.format === 'json') {
          return {
            job_id: job.id,
            attempt: job.attempt,
            truncated: job.output_truncated,
            chunks: chunks.map((c) => ({
              seq: c.seq,
              stream: c.stream,
              data: c.data,
              created_at: c.created_at,
            })),
          };
        }
        return reply
          .type('text/plain; charset=utf-8')
          .header('content-disposition', `attachment; filename="job-${job.id}.log"`)
          .send(outputText(job, chunks));
      },
    );
  };
}
