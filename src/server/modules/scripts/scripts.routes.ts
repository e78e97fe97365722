import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isFinal } from '../../../protocol/jobs.js';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, PageQuery, pageParams } from '../../lib/pagination.js';
import { jobView } from '../execution/jobs.routes.js';
import { JobSchema, WaitQuery } from '../execution/jobs.schemas.js';
import type { JobsService } from '../execution/jobs.service.js';
import { RunSchema } from '../execution/runs.schemas.js';
import type { ScriptRunner } from './scripts.runner.js';
import {
  ScriptCreateBody,
  ScriptExecuteBody,
  ScriptListQuery,
  ScriptRunBody,
  ScriptSchema,
  ScriptUpdateBody,
  ScriptVersionSchema,
  VersionParams,
} from './scripts.schemas.js';
import type { ScriptsService } from './scripts.service.js';

const tags = ['scripts'];

export function scriptsRoutes(deps: {
  scripts: ScriptsService;
  runner: ScriptRunner;
  jobs: JobsService;
}): FastifyPluginAsyncTypebox {
  const { scripts, runner, jobs } = deps;
  return async (app) => {
    app.get(
      '/api/v1/scripts',
      {
        config: { permission: 'scripts:read' },
        schema: {
          operationId: 'listScripts',
          tags,
          summary: 'Library scripts and saved commands (`?kind=command`), newest first',
          querystring: ScriptListQuery,
          response: { 200: PageOf(ScriptSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return scripts.list(
          contextOf(request).orgId,
          { kind: q.kind, language: q.language, tag: q.tag, text: q.q },
          pageParams(q),
        );
      },
    );

    app.post(
      '/api/v1/scripts',
      {
        config: { permission: 'scripts:create', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'createScript',
          tags,
          summary: 'Add a script or saved command; names are unique in the organisation',
          body: ScriptCreateBody,
          response: { 201: ScriptSchema },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await scripts.create(contextOf(request), request.body)),
    );

    app.get(
      '/api/v1/scripts/:id',
      {
        config: { permission: 'scripts:read' },
        schema: {
          operationId: 'getScript',
          tags,
          summary: 'Get a script',
          params: IdParams,
          response: { 200: ScriptSchema },
        },
      },
      async (request) => scripts.get(contextOf(request).orgId, request.params.id),
    );

    app.patch(
      '/api/v1/scripts/:id',
      {
        config: { permission: 'scripts:update', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'updateScript',
          tags,
          summary: 'Change a script; a change to its content, language or parameters adds a version',
          params: IdParams,
          body: ScriptUpdateBody,
          response: { 200: ScriptSchema },
        },
      },
      async (request) => scripts.update(contextOf(request), request.params.id, request.body),
    );

    app.delete(
      '/api/v1/scripts/:id',
      {
        config: { permission: 'scripts:delete', errors: ['conflict'] },
        schema: {
          operationId: 'deleteScript',
          tags,
          summary: 'Delete a script and its versions',
          description: 'A script a profile task or a schedule runs is 409, naming them',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await scripts.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/v1/scripts/:id/versions',
      {
        config: { permission: 'scripts:read' },
        schema: {
          operationId: 'listScriptVersions',
          tags,
          summary: "A script's versions, newest first",
          params: IdParams,
          querystring: PageQuery,
          response: { 200: PageOf(ScriptVersionSchema) },
        },
      },
      async (request) =>
        scripts.listVersions(contextOf(request).orgId, request.params.id, pageParams(request.query)),
    );

    app.get(
      '/api/v1/scripts/:id/versions/:version',
      {
        config: { permission: 'scripts:read' },
        schema: {
          operationId: 'getScriptVersion',
          tags,
          summary: 'One version of a script, as it was',
          params: VersionParams,
          response: { 200: ScriptVersionSchema },
        },
      },
      async (request) =>
        scripts.getVersion(contextOf(request).orgId, request.params.id, request.params.version),
    );

    app.post(
      '/api/v1/scripts/:id/run',
      {
        config: { permission: 'scripts:execute', errors: ['unprocessable'] },
        schema: {
          operationId: 'runScript',
          tags,
          summary:
            'Run the script on one agent; parameters reach it as FP_PARAM_<NAME> (FP_SECRET_<NAME>) ' +
            'environment variables. `?wait=N` holds the request up to N seconds for the result',
          params: IdParams,
          querystring: WaitQuery,
          body: ScriptRunBody,
          response: { 200: JobSchema, 202: JobSchema },
        },
      },
      async (request, reply) => {
        const ctx = contextOf(request);
        let job = await runner.run(ctx, request.params.id, request.body);
        const wait = request.query.wait ?? 0;
        if (wait > 0) job = await jobs.waitForFinal(ctx.orgId, job.id, wait * 1000);
        return reply
          .status(isFinal(job.status) ? 200 : 202)
          .send(jobView(await jobs.namedOne(ctx.orgId, job)));
      },
    );

    app.post(
      '/api/v1/scripts/:id/execute',
      {
        config: { permission: 'scripts:execute', errors: ['unprocessable'] },
        schema: {
          operationId: 'executeScript',
          tags,
          summary: 'Run the script on a target set: a run with a concurrency limit and a failure threshold',
          params: IdParams,
          body: ScriptExecuteBody,
          response: { 202: RunSchema },
        },
      },
      async (request, reply) =>
        reply.status(202).send(await runner.execute(contextOf(request), request.params.id, request.body)),
    );
  };
}
