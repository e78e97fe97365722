import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import type { QueueConsumers } from './consumers.service.js';
import type { QueueItemsService } from './items.service.js';
import {
  ItemCompleteBody,
  ItemFailBody,
  ItemFailResult,
  ItemProgressBody,
  QueueItemSchema,
} from './queues.schemas.js';

const tags = ['queues'];

/**
 * One queue item, by its id alone. The consumer calls here are a person's (robot_id null); the
 * runner API makes the same QueueConsumers calls with the robot as the consumer.
 */
export function queueItemsRoutes(deps: {
  items: QueueItemsService;
  consumers: QueueConsumers;
}): FastifyPluginAsyncTypebox {
  const { items, consumers } = deps;
  return async (app) => {
    app.get(
      '/api/v1/queue-items/:id',
      {
        config: { permission: 'queue_items:read' },
        schema: {
          operationId: 'getQueueItem',
          tags,
          summary: 'Get a queue item',
          params: IdParams,
          response: { 200: QueueItemSchema },
        },
      },
      async (request) => items.get(contextOf(request).orgId, request.params.id),
    );

    app.delete(
      '/api/v1/queue-items/:id',
      {
        config: { permission: 'queue_items:delete', errors: ['conflict'] },
        schema: {
          operationId: 'deleteQueueItem',
          tags,
          summary: 'Mark a new, failed or abandoned item deleted (409 for others)',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await items.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.post(
      '/api/v1/queue-items/:id/complete',
      {
        config: { permission: 'queue_items:update', errors: ['conflict'] },
        schema: {
          operationId: 'completeQueueItem',
          tags,
          summary: 'An item in progress is done: successful, with its output',
          description:
            'The same completion again answers the item; any other on an item not in progress is 409',
          params: IdParams,
          body: ItemCompleteBody,
          response: { 200: QueueItemSchema },
        },
      },
      async (request) =>
        consumers.complete(
          { scope: contextOf(request), robotId: null },
          request.params.id,
          request.body.output,
        ),
    );

    app.post(
      '/api/v1/queue-items/:id/fail',
      {
        config: { permission: 'queue_items:update', errors: ['conflict'] },
        schema: {
          operationId: 'failQueueItem',
          tags,
          summary: 'An item in progress failed; an application error is retried while the queue allows',
          description:
            'A business error fails the item. An application error marks it `retried` and adds a new ' +
            "item with the same content while its retry_number is under the queue's max_retries, " +
            'else fails it. The same failure again answers the same; others on an item not in progress are 409',
          params: IdParams,
          body: ItemFailBody,
          response: { 200: ItemFailResult },
        },
      },
      async (request) =>
        consumers.fail({ scope: contextOf(request), robotId: null }, request.params.id, request.body.error),
    );

    app.post(
      '/api/v1/queue-items/:id/progress',
      {
        config: { permission: 'queue_items:update', errors: ['conflict'] },
        schema: {
          operationId: 'reportQueueItemProgress',
          tags,
          summary: 'Set the progress text of an item in progress',
          params: IdParams,
          body: ItemProgressBody,
          response: { 200: QueueItemSchema },
        },
      },
      async (request) =>
        consumers.progress(
          { scope: contextOf(request), robotId: null },
          request.params.id,
          request.body.progress,
        ),
    );
  };
}
