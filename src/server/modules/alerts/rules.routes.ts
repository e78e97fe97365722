import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { contextOf } from '../../http/context.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, PageQuery, pageParams } from '../../lib/pagination.js';
import {
  ChannelCreateBody,
  ChannelSchema,
  ChannelUpdateBody,
  DeliverySchema,
  RuleCreateBody,
  RuleListQuery,
  RuleSchema,
  RuleUpdateBody,
  SilenceCreateBody,
  SilenceListQuery,
  SilenceSchema,
  SilenceUpdateBody,
} from './alerts.schemas.js';
import type { ChannelsService } from './channels.service.js';
import type { RulesService } from './rules.service.js';
import type { SilencesService } from './silences.service.js';

const tags = ['alerts'];

/** Alert rules, notification channels and silences: the configuration of alerting. */
export function alertConfigRoutes(deps: {
  rules: RulesService;
  channels: ChannelsService;
  silences: SilencesService;
}): FastifyPluginAsyncTypebox {
  const { rules, channels, silences } = deps;
  return async (app) => {
    app.get(
      '/api/v1/alert-rules',
      {
        config: { permission: 'alerts:read' },
        schema: {
          operationId: 'listAlertRules',
          tags,
          summary: 'Alert rules, newest first; filters by kind and enabled',
          querystring: RuleListQuery,
          response: { 200: PageOf(RuleSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return rules.list(contextOf(request).orgId, { kind: q.kind, enabled: q.enabled }, pageParams(q));
      },
    );
    app.post(
      '/api/v1/alert-rules',
      {
        config: { permission: 'alerts:create', errors: ['unprocessable'] },
        schema: {
          operationId: 'createAlertRule',
          tags,
          summary: 'Create an alert rule',
          description:
            'Each kind takes its own params (see RuleParams); a missing or foreign parameter, or an id ' +
            'of no entity of the organisation (a script, queue, channel, agent group), is 422 naming the field',
          body: RuleCreateBody,
          response: { 201: RuleSchema },
        },
      },
      async (request, reply) => reply.status(201).send(await rules.create(contextOf(request), request.body)),
    );
    app.get(
      '/api/v1/alert-rules/:id',
      {
        config: { permission: 'alerts:read' },
        schema: {
          operationId: 'getAlertRule',
          tags,
          summary: 'Get an alert rule',
          params: IdParams,
          response: { 200: RuleSchema },
        },
      },
      async (request) => rules.get(contextOf(request).orgId, request.params.id),
    );
    app.patch(
      '/api/v1/alert-rules/:id',
      {
        config: { permission: 'alerts:update', errors: ['unprocessable'] },
        schema: {
          operationId: 'updateAlertRule',
          tags,
          summary: 'Change an alert rule',
          params: IdParams,
          body: RuleUpdateBody,
          response: { 200: RuleSchema },
        },
      },
      async (request) => rules.update(contextOf(request), request.params.id, request.body),
    );
    app.delete(
      '/api/v1/alert-rules/:id',
      {
        config: { permission: 'alerts:delete' },
        schema: {
          operationId: 'deleteAlertRule',
          tags,
          summary: 'Delete an alert rule, its alerts and their history',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await rules.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/v1/notification-channels',
      {
        config: { permission: 'alerts:read' },
        schema: {
          operationId: 'listNotificationChannels',
          tags,
          summary: 'Notification channels, newest first; URLs masked',
          querystring: PageQuery,
          response: { 200: PageOf(ChannelSchema) },
        },
      },
      async (request) => channels.list(contextOf(request).orgId, pageParams(request.query)),
    );
    app.post(
      '/api/v1/notification-channels',
      {
        config: { permission: 'alerts:create', errors: ['unprocessable'] },
        schema: {
          operationId: 'createNotificationChannel',
          tags,
          summary:
            'Create a notification channel: a webhook, Slack or Teams URL (stored sealed), or email addresses',
          description:
            'A URL to a loopback, private or link-local address is 422 unless the server allows it',
          body: ChannelCreateBody,
          response: { 201: ChannelSchema },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await channels.create(contextOf(request), request.body)),
    );
    app.get(
      '/api/v1/notification-channels/:id',
      {
        config: { permission: 'alerts:read' },
        schema: {
          operationId: 'getNotificationChannel',
          tags,
          summary: 'Get a notification channel; its URL masked',
          params: IdParams,
          response: { 200: ChannelSchema },
        },
      },
      async (request) => channels.get(contextOf(request).orgId, request.params.id),
    );
    app.patch(
      '/api/v1/notification-channels/:id',
      {
        config: { permission: 'alerts:update', errors: ['unprocessable'] },
        schema: {
          operationId: 'updateNotificationChannel',
          tags,
          summary: 'Change a notification channel; a URL sent back masked keeps the stored one',
          params: IdParams,
          body: ChannelUpdateBody,
          response: { 200: ChannelSchema },
        },
      },
      async (request) => channels.update(contextOf(request), request.params.id, request.body),
    );
    app.delete(
      '/api/v1/notification-channels/:id',
      {
        config: { permission: 'alerts:delete' },
        schema: {
          operationId: 'deleteNotificationChannel',
          tags,
          summary: 'Delete a notification channel; rules naming it stop telling it',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await channels.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
    app.post(
      '/api/v1/notification-channels/:id/test',
      {
        config: { permission: 'alerts:update', errors: ['unprocessable', 'bad_gateway'] },
        schema: {
          operationId: 'testNotificationChannel',
          tags,
          summary: 'Send a sample alert through the channel and answer what the receiver said',
          description: 'A receiver that cannot be reached is 502 with the reason',
          params: IdParams,
          response: { 200: DeliverySchema },
        },
      },
      async (request) => channels.test(contextOf(request).orgId, request.params.id),
    );

    app.get(
      '/api/v1/silences',
      {
        config: { permission: 'alerts:read' },
        schema: {
          operationId: 'listSilences',
          tags,
          summary: 'Silences, newest first, each with its state (pending, active, expired); filter by state',
          querystring: SilenceListQuery,
          response: { 200: PageOf(SilenceSchema) },
        },
      },
      async (request) =>
        silences.list(contextOf(request).orgId, request.query.state, pageParams(request.query)),
    );
    app.post(
      '/api/v1/silences',
      {
        config: { permission: 'alerts:create', errors: ['unprocessable'] },
        schema: {
          operationId: 'createSilence',
          tags,
          summary: 'Silence a rule, some agents, or a rule on some agents until `ends_at`',
          description:
            'Alerts it matches still fire and are recorded; their channels are told nothing while it holds. ' +
            'A later `starts_at` makes a maintenance window',
          body: SilenceCreateBody,
          response: { 201: SilenceSchema },
        },
      },
      async (request, reply) =>
        reply.status(201).send(await silences.create(contextOf(request), request.body)),
    );
    app.get(
      '/api/v1/silences/:id',
      {
        config: { permission: 'alerts:read' },
        schema: {
          operationId: 'getSilence',
          tags,
          summary: 'Get a silence',
          params: IdParams,
          response: { 200: SilenceSchema },
        },
      },
      async (request) => silences.get(contextOf(request).orgId, request.params.id),
    );
    app.patch(
      '/api/v1/silences/:id',
      {
        config: { permission: 'alerts:update', errors: ['unprocessable'] },
        schema: {
          operationId: 'updateSilence',
          tags,
          summary: 'Change a silence (end it now by setting `ends_at`)',
          params: IdParams,
          body: SilenceUpdateBody,
          response: { 200: SilenceSchema },
        },
      },
      async (request) => silences.update(contextOf(request), request.params.id, request.body),
    );
    app.delete(
      '/api/v1/silences/:id',
      {
        config: { permission: 'alerts:delete' },
        schema: {
          operationId: 'deleteSilence',
          tags,
          summary: 'Delete a silence',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await silences.remove(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
