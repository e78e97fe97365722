import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, pageParams } from '../../lib/pagination.js';
import type { QueueConsumers } from './consumers.service.js';
import type { QueueItemsService } from './items.service.js';
import {
  QueueCreateBody,
  QueueDeleteQuery,
  QueueItemBulkBody,
  QueueItemBulkResult,
  QueueItemInput,
  QueueItemListQuery,
  QueueItemSchema,
  QueueListQuery,
  QueueSchema,
  QueueStatsSchema,
  QueueUpdateBody,
} from './queues.schemas.js';
import type { QueuesService } from './queues.service.js';

const tags = ['queues'];
/** A bulk add carries up to 10,000 items: more than the server's default body limit. */
const BULK_BODY_LIMIT_BYTES = 32 * 1024 * 1024;

export function queuesRoutes(deps: {
  queues: QueuesService;
  items: QueueItemsService;
  consumers: QueueConsumers;
}): FastifyPluginAsyncTypebox {
  const { queues, items, consumers } = deps;
  return async (app) => {
    app.get(
      '/api/v1/queues',
      {
        config: { permission: 'queues:read' },
        schema: {
          operationId: 'listQueues',
          tags,
          summary: 'Work queues, newest first',
          querystring: QueueListQuery,
          response: { 200: PageOf(QueueSchema) },
        },
      },
      async (request) =>
        queues.list(
          contextOf(request).orgId,
          { text: request.query.q, active: request.query.active },
          pageParams(request.query),
        ),
    );

    app.post(
      '/api/v1/queues',
      {
        config: { permission: 'queues:create', errors: ['conflict'] },
        schema: {
          operationId: 'createQueue',
          tags,
          summary: 'Add a work queue; names are unique in the organisation',
          body: QueueCreateBody,
          response: { 201: QueueSchema },
        },
      },
      async (request, reply) => reply.status(201).send(await queues.create(contextOf(request), request.body)),
    );

    app.get(
      '/api/v1/queues/:id',
      {
        config: { permission: 'queues:read' },
        schema: {
          operationId: 'getQueue',
          tags,
          summary: 'Get a work queue',
          params: IdParams,
          response: { 200: QueueSchema },
        },
      },
      async (request) => queues.get(contextOf(request).orgId, request.params.id),
    );

    app.patch(
      '/api/v1/queues/:id',
      {
        config: { permission: 'queues:update', errors: ['conflict'] },
        schema: {
          operationId: 'updateQueue',
          tags,
          summary: 'Change a work queue',
          params: IdParams,
          body: QueueUpdateBody,
          response: { 200: QueueSchema },
        },
      },
      async (request) => queues.update(contextOf(request), request.params.id, request.body),
    );

    app.delete(
      '/api/v1/queues/:id',
      {
        config: { permission: 'queues:delete', errors: ['conflict'] },
        schema: {
          operationId: 'deleteQueue',
          tags,
          summary: 'Delete a work queue and its items',
          description: 'A queue with items new or in progress is 409 unless `?force=true`',
          params: IdParams,
          querystring: QueueDeleteQuery,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await queues.remove(contextOf(request), request.params.id, request.query.force ?? false);
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/v1/queues/:id/stats',
      {
        config: { permission: 'queues:read' },
        schema: {
          operationId: 'getQueueStats',
          tags,
          summary: "A queue's items by status, processing time, SLA and deadline breaches",
          params: IdParams,
          response: { 200: QueueStatsSchema },
        },
      },
      async (request) => queues.stats(contextOf(request).orgId, request.params.id),
    );

    app.get(
      '/api/v1/queues/:id/items',
      {
        config: { permission: 'queue_items:read' },
        schema: {
          operationId: 'listQueueItems',
          tags,
          summary: "A queue's items, newest first",
          params: IdParams,
          querystring: QueueItemListQuery,
          response: { 200: PageOf(QueueItemSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return items.list(
          contextOf(request).orgId,
          request.params.id,
          { status: q.status, priority: q.priority, reference: q.reference, robotId: q.robot_id },
          pageParams(q),
        );
      },
    );

    app.post(
      '/api/v1/queues/:id/items',
      {
        config: { permission: 'queue_items:create', errors: ['conflict'] },
        schema: {
          operationId: 'addQueueItem',
          tags,
          summary: 'Add an item to a queue',
          description:
            'An inactive queue, or a reference another item holds in a queue with unique references, is 409',
          params: IdParams,
          body: QueueItemInput,
          response: { 201: QueueItemSchema },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await items.add(contextOf(request), request.params.id, request.body)),
    );

    app.post(
      '/api/v1/queues/:id/items/bulk',
      {
        bodyLimit: BULK_BODY_LIMIT_BYTES,
        config: { permission: 'queue_items:create', errors: ['conflict', 'unprocessable'] },
        schema: {
          operationId: 'addQueueItems',
          tags,
          summary: 'Add up to 10,000 items to a queue at once: all of them or none',
          description:
            'More than 10,000 items is 413; references repeated in the batch are 422, references the ' +
            'queue holds 409, each listed in the details',
          params: IdParams,
          body: QueueItemBulkBody,
          response: { 201: QueueItemBulkResult },
        },
      },
      async (request, reply) =>
        reply
          .status(201)
          .send(await items.addBulk(contextOf(request), request.params.id, request.body.items)),
    );

    app.post(
      '/api/v1/queues/:id/items/claim',
      {
        config: { permission: 'queue_items:update', errors: ['conflict'] },
        schema: {
          operationId: 'claimQueueItem',
          tags,
          summary: "Take the queue's next item: high priority first, then the oldest; 204 when none waits",
          description: 'Items deferred to a later time are skipped. An inactive queue is 409',
          params: IdParams,
          response: { 200: QueueItemSchema, 204: NoContent },
        },
      },
      async (request, reply) => {
        const ctx = contextOf(request);
        const item = await consumers.claimNext({ scope: ctx, robotId: null }, request.params.id);
        return item ? reply.send(item) : reply.status(204).send();
      },
    );
  };
}
