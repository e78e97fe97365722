import type {} from '@fastify/multipart';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Readable } from 'node:stream';
import { Type } from 'typebox';
import { agentOf, contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { AppError } from '../../lib/errors.js';
import { PageOf, pageParams } from '../../lib/pagination.js';
import { HashParams, PackageDetailSchema, PackageListQuery, PackageSchema } from './packages.schemas.js';
import type { PackagesService } from './packages.service.js';

const tags = ['packages'];

/** The upload as the OpenAPI document shows it; read from the stream by the handler, not validated here. */
const UploadBody = {
  content: {
    'multipart/form-data': {
      schema: Type.Object({
        file: Type.String({
          format: 'binary',
          description: 'The package: a zip with fleetplane.json at its root',
        }),
      }),
    },
  },
};

export const ZipResponse = {
  description: 'The package zip',
  content: { 'application/zip': { schema: Type.String({ format: 'binary' }) } },
};

/** The form's parts besides the file: none are used, a few are tolerated. */
const MAX_FORM_PARTS = 10;

/** A name and version only: they match `[a-z0-9._+-]`, but a file name is made safe all the same. */
function zipFileName(name: string, version: string): string {
  return `${name}-${version}.zip`.replace(/[^A-Za-z0-9._+-]/g, '_');
}

export function sendZip(
  reply: FastifyReply,
  blob: { hash: string; size: number; fileName: string },
  stream: Readable,
): FastifyReply {
  return reply
    .type('application/zip')
    .header('content-length', String(blob.size))
    .header('x-content-sha256', blob.hash)
    .header('content-disposition', `attachment; filename="${blob.fileName}"`)
    .send(stream);
}

export function packagesRoutes(deps: { packages: PackagesService }): FastifyPluginAsyncTypebox {
  const { packages } = deps;
  return async (app) => {
    app.post(
      '/api/v1/packages',
      {
        config: {
          permission: 'packages:create',
          errors: ['bad_request', 'payload_too_large', 'unprocessable', 'conflict'],
        },
        schema: {
          operationId: 'uploadPackage',
          tags,
          summary: 'Upload an automation package (multipart/form-data, one `file` part: a zip)',
          description:
            'The zip must hold `fleetplane.json` at its root (name, semantic version, entry points ' +
            'whose files it holds). Larger than the packages settings allow is 413; an unsafe zip ' +
            '(paths escaping, links pointing outside, too many files, too large unpacked) or an ' +
            'invalid manifest is 422 naming the entry; a name and version the organisation has is 409.',
          body: UploadBody,
          response: { 201: PackageDetailSchema },
        },
        // The file is streamed by the handler: nothing to validate before it runs.
        validatorCompiler: () => () => true,
      },
      async (request, reply) => {
        const ctx = contextOf(request);
        if (!request.isMultipart())
          throw new AppError('bad_request', 'send the package as multipart/form-data with a `file` part');
        const limits = await packages.uploadLimits(ctx.orgId);
        const part = await request.file({
          limits: { fileSize: limits.maxUploadBytes, files: 1, parts: MAX_FORM_PARTS },
          throwFileSizeLimit: false,
        });
        if (!part || part.fieldname !== 'file')
          throw new AppError('bad_request', 'the form has no `file` part', {
            details: [{ field: 'body.file', message: 'required' }],
          });
        const created = await packages.upload(
          ctx,
          { stream: part.file, truncated: () => part.file.truncated },
          limits,
        );
        return reply.status(201).send(created);
      },
    );

    app.get(
      '/api/v1/packages',
      {
        config: { permission: 'packages:read' },
        schema: {
          operationId: 'listPackages',
          tags,
          summary: 'Packages, newest first; filter by name, text or active',
          querystring: PackageListQuery,
          response: { 200: PageOf(PackageSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return packages.list(
          contextOf(request).orgId,
          { name: q.name, text: q.q, active: q.active },
          pageParams(q),
        );
      },
    );

    app.get(
      '/api/v1/packages/:id',
      {
        config: { permission: 'packages:read' },
        schema: {
          operationId: 'getPackage',
          tags,
          summary: 'Get a package, with its manifest',
          params: IdParams,
          response: { 200: PackageDetailSchema },
        },
      },
      async (request) => packages.get(contextOf(request).orgId, request.params.id),
    );

    app.get(
      '/api/v1/packages/:id/download',
      {
        config: { permission: 'packages:read' },
        schema: {
          operationId: 'downloadPackage',
          tags,
          summary: "The package's zip, with its SHA-256 in `x-content-sha256`",
          params: IdParams,
          response: { 200: ZipResponse },
        },
      },
      async (request, reply) => {
        const { row, stream, size } = await packages.download(contextOf(request).orgId, request.params.id);
        return sendZip(reply, { hash: row.hash, size, fileName: zipFileName(row.name, row.version) }, stream);
      },
    );

    for (const active of [true, false]) {
      const verb = active ? 'activate' : 'deactivate';
      app.post(
        `/api/v1/packages/:id/${verb}`,
        {
          config: { permission: 'packages:update' },
          schema: {
            operationId: `${verb}Package`,
            tags,
            summary: active
              ? 'Activate a package version: it may be picked as the latest again'
              : 'Deactivate a package version: never picked when no version is named, still downloadable',
            params: IdParams,
            response: { 200: PackageSchema },
          },
        },
        async (request) => packages.setActive(contextOf(request), request.params.id, active),
      );
    }

    app.delete(
      '/api/v1/packages/:id',
      {
        config: { permission: 'packages:delete', errors: ['conflict'] },
        schema: {
          operationId: 'deletePackage',
          tags,
          summary: 'Delete a package version',
          description:
            'A package a process uses is 409, naming them. Its zip goes with the last package holding it.',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await packages.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/v1/agent/packages/:hash',
      {
        config: { permission: 'agent' },
        schema: {
          operationId: 'downloadAgentPackage',
          tags: ['agent channel'],
          summary: "A package's zip by its SHA-256, for an agent of an organisation that has it",
          params: HashParams,
          response: { 200: ZipResponse },
        },
      },
      async (request, reply) => {
        const agent = agentOf(request);
        const { hash } = request.params;
        const { stream, size } = await packages.openBlob(agent.org_id, hash);
        return sendZip(reply, { hash, size, fileName: `${hash}.zip` }, stream);
      },
    );
  };
}
