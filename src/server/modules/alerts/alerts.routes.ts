import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams } from '../../http/schemas.js';
import { PageOf, pageParams } from '../../lib/pagination.js';
import {
  AlertDetailSchema,
  AlertListQuery,
  AlertSchema,
  DeliverySchema,
  TestWebhookBody,
} from './alerts.schemas.js';
import type { AlertsService } from './alerts.service.js';
import type { Notifier } from './notifier.js';

const tags = ['alerts'];

export function alertsRoutes(deps: { alerts: AlertsService; notifier: Notifier }): FastifyPluginAsyncTypebox {
  const { alerts, notifier } = deps;
  return async (app) => {
    app.get(
      '/api/v1/alerts',
      {
        config: { permission: 'alerts:read' },
        schema: {
          operationId: 'listAlerts',
          tags,
          summary: 'Alerts, newest first; filters by state, rule and severity',
          querystring: AlertListQuery,
          response: { 200: PageOf(AlertSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return alerts.list(
          contextOf(request).orgId,
          { state: q.state, ruleId: q.rule_id, severity: q.severity },
          pageParams(q),
        );
      },
    );

    // Before `/:id`, which would take `test-webhook` for an id.
    app.post(
      '/api/v1/alerts/test-webhook',
      {
        config: { permission: 'alerts:create', errors: ['unprocessable', 'bad_gateway'] },
        schema: {
          operationId: 'testAlertWebhook',
          tags,
          summary: 'Send a sample alert to a URL and answer what the receiver said',
          description:
            'The body is shaped for `kind` (a JSON alert document, Slack `{text}`, a Teams MessageCard). ' +
            'A URL to a loopback, private or link-local address is refused (422) unless the server allows ' +
            'it; a receiver that cannot be reached is 502 with the reason',
          body: TestWebhookBody,
          response: { 200: DeliverySchema },
        },
      },
      async (request) => notifier.post(request.body.url, request.body.kind ?? 'webhook', notifier.sample()),
    );

    app.get(
      '/api/v1/alerts/:id',
      {
        config: { permission: 'alerts:read' },
        schema: {
          operationId: 'getAlert',
          tags,
          summary:
            'An alert with its history: fired, silenced, notified (each attempt), acknowledged, resolved',
          params: IdParams,
          response: { 200: AlertDetailSchema },
        },
      },
      async (request) => alerts.get(contextOf(request).orgId, request.params.id),
    );

    app.post(
      '/api/v1/alerts/:id/acknowledge',
      {
        config: { permission: 'alerts:update', errors: ['conflict'] },
        schema: {
          operationId: 'acknowledgeAlert',
          tags,
          summary: 'Acknowledge an alert: someone is on it, its channels are told no more',
          description: 'Again on an acknowledged alert changes nothing; a resolved alert is 409',
          params: IdParams,
          response: { 200: AlertDetailSchema },
        },
      },
      async (request) => alerts.acknowledge(contextOf(request), request.params.id),
    );
  };
}
