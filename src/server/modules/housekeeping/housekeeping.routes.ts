import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { PageQuery, pageParams } from '../../lib/pagination.js';
import { HousekeepingOverview, HousekeepingRunSchema } from './housekeeping.schemas.js';
import type { Housekeeper } from './housekeeping.service.js';

const tags = ['system'];

export function housekeepingRoutes(deps: { housekeeper: Housekeeper }): FastifyPluginAsyncTypebox {
  const { housekeeper } = deps;
  return async (app) => {
    app.get(
      '/api/v1/system/housekeeping',
      {
        config: { permission: 'settings:read' },
        schema: {
          operationId: 'getHousekeeping',
          tags,
          summary:
            'The last housekeeping runs (newest first, paginated) and when the next is due; what each deleted for the primary organisation only',
          querystring: PageQuery,
          response: { 200: HousekeepingOverview },
        },
      },
      async (request) => housekeeper.overview(contextOf(request), pageParams(request.query)),
    );

    app.post(
      '/api/v1/system/housekeeping/run',
      {
        config: { permission: 'settings:update', errors: ['conflict'] },
        schema: {
          operationId: 'runHousekeeping',
          tags,
          summary:
            "Run housekeeping now and answer the finished run (the primary organisation's members); 409 while a run is under way on any node",
          response: { 200: HousekeepingRunSchema },
        },
      },
      async (request) => housekeeper.runNow(contextOf(request)),
    );
  };
}
