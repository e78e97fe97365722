import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import { Type } from 'typebox';
import { notFound } from '../../lib/errors.js';
import {
  BuildArch,
  BuildOs,
  BuildSummary,
  downloadPath,
  executableName,
  type AgentBuild,
  type AgentBuilds,
} from './agent-builds.js';

const tags = ['agent-builds'];

const AgentBuildSchema = Type.Object({
  ...BuildSummary.properties,
  download_path: Type.String({ description: 'Where the executable is downloaded, under this server' }),
});

const PlatformParams = Type.Object({ os: BuildOs, arch: BuildArch });

function sendBuild(reply: FastifyReply, build: AgentBuild, stream: Readable): FastifyReply {
  return reply
    .type('application/octet-stream')
    .header('content-length', String(build.size))
    .header('x-content-sha256', build.sha256)
    .header('x-agent-version', build.version)
    .header('content-disposition', `attachment; filename="${executableName(build)}"`)
    .send(stream);
}

function buildView(build: AgentBuild) {
  const { os, arch, version, sha256, size } = build;
  return { os, arch, version, sha256, size, download_path: downloadPath(build) };
}

export function agentBuildsRoutes(deps: { builds: AgentBuilds }): FastifyPluginAsyncTypebox {
  const { builds } = deps;
  return async (app) => {
    app.get(
      '/api/v1/agent-builds',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'listAgentBuilds',
          tags,
          summary: 'The single-file agents this server hands out, one per platform built',
          response: { 200: Type.Object({ items: Type.Array(AgentBuildSchema) }) },
        },
      },
      async () => ({ items: (await builds.list()).map(buildView) }),
    );

    app.get(
      '/api/v1/agent-builds/:os/:arch/download',
      {
        // Installers on new machines fetch it before they hold any credential; it holds no secret.
        config: { permission: 'public' },
        schema: {
          operationId: 'downloadAgentBuild',
          tags,
          summary: "A platform's single-file agent, with its SHA-256 in `x-content-sha256`",
          params: PlatformParams,
          response: {
            200: {
              description: 'The executable',
              content: { 'application/octet-stream': { schema: Type.String({ format: 'binary' }) } },
            },
          },
        },
      },
      async (request, reply) => {
        const build = await builds.find(request.params.os, request.params.arch);
        if (!build) throw notFound(`agent build for ${request.params.os}-${request.params.arch}`);
        return sendBuild(reply, build, builds.open(build));
      },
    );
  };
}
