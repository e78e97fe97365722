import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import { errorCodes, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AppError } from '../lib/errors.js';

/** Paths the server answers itself: never the console's index.html, even for a browser. */
const SERVER_PREFIXES = ['/api/', '/docs', '/openapi.json', '/metrics', '/health', '/ready'];

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Every file of the build, relative and with forward slashes: only these are ever sent. */
function filesUnder(dir: string): Set<string> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && !/\.(br|gz)$/.test(entry.name))
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'));
  return new Set(files);
}

function isServerPath(url: string): boolean {
  return SERVER_PREFIXES.some((prefix) => url === prefix.replace(/\/$/, '') || url.startsWith(prefix));
}

function wantsHtml(request: FastifyRequest): boolean {
  return request.headers.accept?.includes('text/html') ?? false;
}

/**
 * Serves the built web console at `/`: its hashed assets compressed (the `.br`/`.gz` written at
 * build) and cached for a year, `index.html` revalidated on every load, and `index.html` for any
 * other page a browser asks for, so deep links work. Without a build only the API is served.
 */
export function webConsole(deps: { dir: string }) {
  const { dir } = deps;
  const built = existsSync(path.join(dir, 'index.html'));
  const files = built ? filesUnder(dir) : new Set<string>();

  const send = (reply: FastifyReply, file: string) =>
    reply
      .header('cache-control', file.startsWith('assets/') ? IMMUTABLE : 'no-cache')
      .header('vary', 'accept-encoding')
      .sendFile(file, { cacheControl: false });

  return async (app: FastifyInstance) => {
    if (built) await app.register(fastifyStatic, { root: dir, serve: false, preCompressed: true });
    app.get(
      '/*',
      { config: { permission: 'public' }, schema: { hide: true }, logLevel: 'warn' },
      async (request, reply) => {
        const url = request.url.split('?')[0] ?? '/';
        if (isServerPath(url)) {
          // the router falls back to this route when a parameter is too long: answer as it would
          if (url.split('/').some((segment) => segment.length > (app.initialConfig.maxParamLength ?? 100)))
            throw new errorCodes.FST_ERR_MAX_PARAM_LENGTH(url);
          return reply.callNotFound();
        }
        const file = (request.params as { '*': string })['*'];
        if (files.has(file)) return send(reply, file);
        const page = file === '' || (wantsHtml(request) && !file.startsWith('assets/'));
        if (!page) return reply.callNotFound();
        if (!built)
          throw new AppError(
            'not_found',
            'the web console is not built: run `npm run build:web` (`npm start` builds it when missing)',
          );
        return send(reply, 'index.html');
      },
    );
  };
}
