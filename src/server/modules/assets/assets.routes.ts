import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, pageParams } from '../../lib/pagination.js';
import {
  AssetCreateBody,
  AssetDetailSchema,
  AssetListQuery,
  AssetRobotParams,
  AssetSchema,
  AssetUpdateBody,
  AssetValueBody,
} from './assets.schemas.js';
import type { AssetsService } from './assets.service.js';

const tags = ['assets'];

/** No route answers a value: reads show only that one exists (and a credential's username). */
export function assetsRoutes(deps: { assets: AssetsService }): FastifyPluginAsyncTypebox {
  const { assets } = deps;
  return async (app) => {
    app.get(
      '/api/v1/assets',
      {
        config: { permission: 'assets:read' },
        schema: {
          operationId: 'listAssets',
          tags,
          summary: 'Credential assets, newest first; values masked',
          querystring: AssetListQuery,
          response: { 200: PageOf(AssetSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return assets.list(contextOf(request).orgId, { type: q.type, text: q.q }, pageParams(q));
      },
    );

    app.post(
      '/api/v1/assets',
      {
        config: { permission: 'assets:create', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'createAsset',
          tags,
          summary: 'Add an asset, with its global value if given; names are unique in the organisation',
          body: AssetCreateBody,
          response: { 201: AssetDetailSchema },
        },
      },
      async (request, reply) => reply.status(201).send(await assets.create(contextOf(request), request.body)),
    );

    app.get(
      '/api/v1/assets/:id',
      {
        config: { permission: 'assets:read' },
        schema: {
          operationId: 'getAsset',
          tags,
          summary: 'Get an asset with its values masked (a credential shows its username only)',
          params: IdParams,
          response: { 200: AssetDetailSchema },
        },
      },
      async (request) => assets.get(contextOf(request).orgId, request.params.id),
    );

    app.patch(
      '/api/v1/assets/:id',
      {
        config: { permission: 'assets:update', errors: ['conflict'] },
        schema: {
          operationId: 'updateAsset',
          tags,
          summary: 'Rename or describe an asset (its type cannot change)',
          params: IdParams,
          body: AssetUpdateBody,
          response: { 200: AssetDetailSchema },
        },
      },
      async (request) => assets.update(contextOf(request), request.params.id, request.body),
    );

    app.delete(
      '/api/v1/assets/:id',
      {
        config: { permission: 'assets:delete', errors: ['conflict'] },
        schema: {
          operationId: 'deleteAsset',
          tags,
          summary: 'Delete an asset and all its values; 409 while a robot runs as it',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await assets.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.put(
      '/api/v1/assets/:id/value',
      {
        config: { permission: 'assets:update', errors: ['unprocessable'] },
        schema: {
          operationId: 'setAssetValue',
          tags,
          summary: "Set the asset's global value (audited without the value)",
          params: IdParams,
          body: AssetValueBody,
          response: { 200: AssetDetailSchema },
        },
      },
      async (request) => assets.setValue(contextOf(request), request.params.id, null, request.body.value),
    );

    app.put(
      '/api/v1/assets/:id/robots/:robotId/value',
      {
        config: { permission: 'assets:update', errors: ['unprocessable'] },
        schema: {
          operationId: 'setAssetRobotValue',
          tags,
          summary:
            "Set one robot's value, preferred over the global one for that robot (audited without the value)",
          params: AssetRobotParams,
          body: AssetValueBody,
          response: { 200: AssetDetailSchema },
        },
      },
      async (request) =>
        assets.setValue(contextOf(request), request.params.id, request.params.robotId, request.body.value),
    );

    app.delete(
      '/api/v1/assets/:id/robots/:robotId/value',
      {
        config: { permission: 'assets:update' },
        schema: {
          operationId: 'deleteAssetRobotValue',
          tags,
          summary: "Delete one robot's value: the robot falls back to the global value",
          params: AssetRobotParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await assets.removeRobotValue(contextOf(request), request.params.id, request.params.robotId);
        return reply.status(204).send();
      },
    );
  };
}
