import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { Readable } from 'node:stream';
import { Type } from 'typebox';
import { contextOf, enrollmentOf, publicOrigin } from '../../http/context.js';
import { BuildArch, BuildOs } from '../agent-builds/agent-builds.js';
import { InstallerCommand, InstallerConfig, InstallerCreateBody } from './installers.schemas.js';
import type { InstallerScript, InstallersService } from './installers.service.js';

const tags = ['installers'];

const ScriptFile = Type.String({ description: 'The installer script' });

function sendScript(reply: FastifyReply, script: InstallerScript): FastifyReply {
  return reply
    .type(script.contentType)
    .header('content-disposition', `attachment; filename="${script.fileName}"`)
    .send(Buffer.from(script.text, 'utf8'));
}

function sendZip(
  reply: FastifyReply,
  zip: { fileName: string; stream: Readable; size: number },
): FastifyReply {
  return reply
    .type('application/zip')
    .header('content-length', String(zip.size))
    .header('content-disposition', `attachment; filename="${zip.fileName}"`)
    .send(zip.stream);
}

export function installersRoutes(deps: {
  installers: InstallersService;
  /** What installers embed; the request's own origin when not configured. */
  publicUrl: string | undefined;
}): FastifyPluginAsyncTypebox {
  const { installers } = deps;
  return async (app) => {
    app.get(
      '/api/v1/installers/config',
      {
        config: { permission: 'enrollment:read' },
        schema: {
          operationId: 'getInstallerConfig',
          tags,
          summary:
            'What installers embed and offer: server URL, builds per platform, locations, defaults, one-liners',
          response: { 200: InstallerConfig },
        },
      },
      async (request) => installers.config(publicOrigin(request, deps.publicUrl)),
    );

    app.post(
      '/api/v1/installers',
      {
        config: { permission: 'enrollment:create', errors: ['unprocessable'] },
        schema: {
          operationId: 'createInstaller',
          tags,
          summary: 'An installer for a platform, with an enrollment token given or created for it',
          description:
            '`format: script` answers the script (sh for Linux and macOS, PowerShell for Windows); `zip` a zip ' +
            'with the executable, the script and a README for machines that cannot download; `command` the ' +
            'one-line command (201). Exactly one of `enrollment_token` (an active token of the organisation) ' +
            'and `token` (options of a new one, made as POST /enrollment-tokens makes it). The id of the ' +
            'token is in `x-enrollment-token-id` on files.',
          body: InstallerCreateBody,
          response: {
            200: {
              description: 'The installer script, or the offline zip',
              content: {
                'text/x-shellscript': { schema: ScriptFile },
                'text/plain': { schema: ScriptFile },
                'application/zip': { schema: Type.String({ format: 'binary' }) },
              },
            },
            201: InstallerCommand,
          },
        },
      },
      async (request, reply) => {
        const answer = await installers.create(
          contextOf(request),
          publicOrigin(request, deps.publicUrl),
          request.body,
        );
        void reply.header('x-enrollment-token-id', answer.tokenId);
        switch (answer.format) {
          case 'script':
            return sendScript(reply, answer.script);
          case 'zip':
            return sendZip(reply, answer);
          case 'command':
            return reply.status(201).send(answer.command);
        }
      },
    );

    app.get(
      '/api/v1/installers/:os/:arch/script',
      {
        // A new machine holds nothing but its enrollment token: the one-line command sends it.
        config: { permission: 'enrollment' },
        schema: {
          operationId: 'fetchInstallerScript',
          tags,
          summary: "A platform's installer, fetched with an enrollment token as the bearer (no use is spent)",
          params: Type.Object({ os: BuildOs, arch: BuildArch }),
          response: {
            200: {
              description: 'The installer script with this token embedded',
              content: { 'text/x-shellscript': { schema: ScriptFile }, 'text/plain': { schema: ScriptFile } },
            },
          },
        },
      },
      async (request, reply) =>
        sendScript(
          reply,
          await installers.scriptFor(
            enrollmentOf(request),
            publicOrigin(request, deps.publicUrl),
            request.params.os,
            request.params.arch,
          ),
        ),
    );
  };
}
