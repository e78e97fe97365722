import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Registry } from 'prom-client';
import { Type } from 'typebox';
import { contextOf } from '../../http/context.js';
import { databaseUnavailable } from '../../http/errors.js';
import { AppError } from '../../lib/errors.js';
import type { SystemService } from './system.service.js';

const tags = ['system'];

const Percent = Type.Number({ minimum: 0, maximum: 100 });
/** The server host (this node): its figures only. */
const HostSchema = Type.Object({
  cpu: Type.Object({
    cores: Type.Integer(),
    load: Type.Array(Type.Number(), {
      minItems: 3,
      maxItems: 3,
      description: '1, 5 and 15-minute load averages',
    }),
    percent: Type.Number({
      description: 'Busy share of all cores since the previous reading (since boot for the first)',
    }),
  }),
  memory: Type.Object({ total_bytes: Type.Number(), free_bytes: Type.Number(), used_percent: Percent }),
  disk: Type.Union(
    [
      Type.Object({ total_bytes: Type.Number(), free_bytes: Type.Number(), used_percent: Percent }),
      Type.Null(),
    ],
    { description: "The data directory's file system; null when it cannot be read" },
  ),
});

export function systemRoutes(deps: { system: SystemService; metrics: Registry }): FastifyPluginAsyncTypebox {
  const { system, metrics } = deps;
  return async (app) => {
    app.get(
      '/health',
      {
        config: { permission: 'public' },
        logLevel: 'warn',
        schema: {
          operationId: 'getHealth',
          tags,
          summary: 'Liveness: the process answers',
          response: { 200: Type.Object({ status: Type.Literal('ok') }) },
        },
      },
      () => ({ status: 'ok' as const }),
    );

    app.get(
      '/ready',
      {
        config: { permission: 'public', errors: ['not_ready'] },
        logLevel: 'warn',
        schema: {
          operationId: 'getReadiness',
          tags,
          summary: 'Readiness: the database answers and events of other nodes are heard',
          response: { 200: Type.Object({ status: Type.Literal('ready') }) },
        },
      },
      async () => {
        const missing = await system.unready();
        if (missing === 'database') throw databaseUnavailable();
        if (missing === 'events')
          throw new AppError('not_ready', 'not hearing the other server nodes yet; reconnecting', {
            retryAfterSeconds: 1,
          });
        return { status: 'ready' as const };
      },
    );

    app.get(
      '/api/v1/system/info',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'getSystemInfo',
          tags,
          summary:
            "Version, uptime, database kind, the server host's CPU, memory and disk, and counts for your organisation",
          response: {
            200: Type.Object({
              instance_name: Type.String({
                description: 'The general.instance_name setting: the console shows it as its title',
              }),
              version: Type.String(),
              uptime_seconds: Type.Number(),
              database: Type.String(),
              host: HostSchema,
              counts: Type.Record(Type.String(), Type.Integer()),
            }),
          },
        },
      },
      async (request) => system.info(contextOf(request).orgId),
    );

    app.get('/openapi.json', { config: { permission: 'public' }, schema: { hide: true } }, () =>
      app.swagger(),
    );

    app.get(
      '/metrics',
      { config: { permission: 'public' }, logLevel: 'warn', schema: { hide: true } },
      async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()),
    );
  };
}
