import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, pageParams } from '../../lib/pagination.js';
import {
  DeliveryDetailSchema,
  DeliveryListQuery,
  DeliveryParams,
  DeliverySchema,
  WebhookCreateBody,
  WebhookEventTypes,
  WebhookListQuery,
  WebhookSchema,
  WebhookUpdateBody,
  WebhookWithSecret,
} from './webhooks.schemas.js';
import type { WebhooksService } from './webhooks.service.js';

const tags = ['webhooks'];

const SIGNING =
  'Each delivery is a POST of a JSON body `{id, type, created_at, data}` with the headers ' +
  '`Fleetplane-Event`, `Fleetplane-Delivery` (the same on every retry: receivers deduplicate by it) ' +
  'and `Fleetplane-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`; ' +
  'receivers refuse a timestamp too old, or a delivery and timestamp already seen';

export function webhooksRoutes(deps: { webhooks: WebhooksService }): FastifyPluginAsyncTypebox {
  const { webhooks } = deps;
  return async (app) => {
    app.get(
      '/api/v1/webhooks',
      {
        config: { permission: 'webhooks:read' },
        schema: {
          operationId: 'listWebhooks',
          tags,
          summary: 'Webhook subscriptions, newest first; `status` filter',
          querystring: WebhookListQuery,
          response: { 200: PageOf(WebhookSchema) },
        },
      },
      async (request) =>
        webhooks.list(contextOf(request).orgId, { status: request.query.status }, pageParams(request.query)),
    );

    app.post(
      '/api/v1/webhooks',
      {
        config: { permission: 'webhooks:create', errors: ['unprocessable'] },
        schema: {
          operationId: 'createWebhook',
          tags,
          summary: 'Subscribe a URL to events; answers its signing secret, this once',
          description: `${SIGNING}. A URL the server will not call, or an event pattern matching no event, is 422`,
          body: WebhookCreateBody,
          response: { 201: WebhookWithSecret },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await webhooks.create(contextOf(request), request.body)),
    );

    // Before `/:id`, which would take `event-types` for an id.
    app.get(
      '/api/v1/webhooks/event-types',
      {
        config: { permission: 'webhooks:read' },
        schema: {
          operationId: 'listWebhookEventTypes',
          tags,
          summary: 'The events a subscription can ask for',
          response: { 200: WebhookEventTypes },
        },
      },
      async () => ({ items: webhooks.eventTypes() }),
    );

    app.get(
      '/api/v1/webhooks/:id',
      {
        config: { permission: 'webhooks:read' },
        schema: {
          operationId: 'getWebhook',
          tags,
          summary: 'Get a webhook subscription (never its secret)',
          params: IdParams,
          response: { 200: WebhookSchema },
        },
      },
      async (request) => webhooks.get(contextOf(request).orgId, request.params.id),
    );

    app.patch(
      '/api/v1/webhooks/:id',
      {
        config: { permission: 'webhooks:update', errors: ['unprocessable'] },
        schema: {
          operationId: 'updateWebhook',
          tags,
          summary: 'Change a subscription; a paused one is resumed',
          params: IdParams,
          body: WebhookUpdateBody,
          response: { 200: WebhookSchema },
        },
      },
      async (request) => webhooks.update(contextOf(request), request.params.id, request.body),
    );

    app.delete(
      '/api/v1/webhooks/:id',
      {
        config: { permission: 'webhooks:delete' },
        schema: {
          operationId: 'deleteWebhook',
          tags,
          summary: 'Delete a subscription with its deliveries',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await webhooks.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.post(
      '/api/v1/webhooks/:id/rotate-secret',
      {
        config: { permission: 'webhooks:update' },
        schema: {
          operationId: 'rotateWebhookSecret',
          tags,
          summary: 'A new signing secret, answered this once; the old one stops signing at once',
          params: IdParams,
          response: { 200: WebhookWithSecret },
        },
      },
      async (request) => webhooks.rotateSecret(contextOf(request), request.params.id),
    );

    app.post(
      '/api/v1/webhooks/:id/pause',
      {
        config: { permission: 'webhooks:update' },
        schema: {
          operationId: 'pauseWebhook',
          tags,
          summary: 'Pause a subscription: its deliveries wait, new events are not queued for it',
          params: IdParams,
          response: { 200: WebhookSchema },
        },
      },
      async (request) => webhooks.pause(contextOf(request), request.params.id),
    );

    app.post(
      '/api/v1/webhooks/:id/resume',
      {
        config: { permission: 'webhooks:update' },
        schema: {
          operationId: 'resumeWebhook',
          tags,
          summary: 'Resume a paused subscription; its waiting deliveries are sent',
          params: IdParams,
          response: { 200: WebhookSchema },
        },
      },
      async (request) => webhooks.resume(contextOf(request), request.params.id),
    );

    app.post(
      '/api/v1/webhooks/:id/test',
      {
        config: { permission: 'webhooks:update' },
        schema: {
          operationId: 'testWebhook',
          tags,
          summary: 'Send a `webhook.ping` now, whatever the filter; follow it in the deliveries',
          description:
            'Sent even while paused, to check that a receiver is back; a disabled subscription sends ' +
            'nothing, so its ping waits until it is enabled',
          params: IdParams,
          response: { 202: DeliverySchema },
        },
      },
      async (request, reply) =>
        reply.status(202).send(await webhooks.test(contextOf(request), request.params.id)),
    );

    app.get(
      '/api/v1/webhooks/:id/deliveries',
      {
        config: { permission: 'webhooks:read' },
        schema: {
          operationId: 'listWebhookDeliveries',
          tags,
          summary: "A subscription's deliveries, newest first; `status` filter",
          params: IdParams,
          querystring: DeliveryListQuery,
          response: { 200: PageOf(DeliverySchema) },
        },
      },
      async (request) =>
        webhooks.deliveries(
          contextOf(request).orgId,
          request.params.id,
          { status: request.query.status },
          pageParams(request.query),
        ),
    );

    app.get(
      '/api/v1/webhooks/:id/deliveries/:deliveryId',
      {
        config: { permission: 'webhooks:read' },
        schema: {
          operationId: 'getWebhookDelivery',
          tags,
          summary: 'A delivery with its body and every attempt',
          params: DeliveryParams,
          response: { 200: DeliveryDetailSchema },
        },
      },
      async (request) =>
        webhooks.delivery(contextOf(request).orgId, request.params.id, request.params.deliveryId),
    );

    app.post(
      '/api/v1/webhooks/:id/deliveries/:deliveryId/redeliver',
      {
        config: { permission: 'webhooks:update' },
        schema: {
          operationId: 'redeliverWebhookDelivery',
          tags,
          summary: "Send a delivery's body again, as a new delivery",
          params: DeliveryParams,
          response: { 202: DeliverySchema },
        },
      },
      async (request, reply) =>
        reply
          .status(202)
          .send(await webhooks.redeliver(contextOf(request), request.params.id, request.params.deliveryId)),
    );
  };
}
