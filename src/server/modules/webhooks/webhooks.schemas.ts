import { Type, type Static } from 'typebox';
import { Id, NullableTimestamp, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';
import { webhookEventTypes } from './webhooks.events.js';

const Url = Type.String({
  minLength: 1,
  maxLength: 2000,
  description:
    'An http(s) URL; loopback, private and link-local addresses are refused (422) unless the ' +
    'server allows them (FLEETPLANE_OUTBOUND_ALLOW)',
});
const Description = Type.String({ maxLength: 500 });
const EventFilter = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  minItems: 1,
  maxItems: 50,
  uniqueItems: true,
  description: `Event names or patterns (\`job.*\`, \`*\`); each must match a known event (${webhookEventTypes.join(', ')})`,
});

export const WebhookStatus = Type.Union([Type.Literal('active'), Type.Literal('paused')], {
  description: 'paused: after repeated failures or by hand; nothing is sent until resumed',
});
export type WebhookStatus = Static<typeof WebhookStatus>;

export const WebhookCreateBody = Type.Object(
  {
    url: Url,
    description: Type.Optional(Description),
    events: EventFilter,
    enabled: Type.Optional(
      Type.Boolean({ description: 'Default true; a disabled subscription gets no events' }),
    ),
  },
  { additionalProperties: false },
);
export type WebhookCreateBody = Static<typeof WebhookCreateBody>;

export const WebhookUpdateBody = Type.Partial(WebhookCreateBody, {
  additionalProperties: false,
  minProperties: 1,
});
export type WebhookUpdateBody = Static<typeof WebhookUpdateBody>;

export const WebhookSchema = Type.Object({
  id: Id,
  url: Type.String(),
  description: Type.String(),
  events: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  status: WebhookStatus,
  consecutive_failures: Type.Integer(),
  paused_at: NullableTimestamp,
  paused_reason: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type WebhookView = Static<typeof WebhookSchema>;

export const WebhookWithSecret = Type.Object({
  webhook: WebhookSchema,
  secret: Type.String({
    description: 'The signing secret: shown this once. Receivers check `Fleetplane-Signature` with it',
  }),
});

export const WebhookListQuery = Type.Intersect([
  PageQuery,
  Type.Object({ status: Type.Optional(WebhookStatus) }),
]);

export const WebhookEventTypes = Type.Object({ items: Type.Array(Type.String()) });

export const DeliveryStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('delivered'),
  Type.Literal('failed'),
]);
export type DeliveryStatus = Static<typeof DeliveryStatus>;

export const DeliverySchema = Type.Object({
  id: Id,
  webhook_id: Id,
  event: Type.String(),
  status: DeliveryStatus,
  attempts: Type.Integer(),
  next_attempt_at: NullableTimestamp,
  last_status_code: Type.Union([Type.Integer(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]),
  redelivery_of: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
  finished_at: NullableTimestamp,
});
export type DeliveryView = Static<typeof DeliverySchema>;

export const AttemptSchema = Type.Object({
  attempt: Type.Integer(),
  status_code: Type.Union([Type.Integer(), Type.Null()]),
  response_excerpt: Type.String({ description: "The start of the receiver's answer" }),
  duration_ms: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
});
export type AttemptView = Static<typeof AttemptSchema>;

export const DeliveryDetailSchema = Type.Object({
  ...DeliverySchema.properties,
  body: Type.String({ description: 'The JSON body, exactly as signed and sent' }),
  attempts_log: Type.Array(AttemptSchema, { description: 'Every try, oldest first' }),
});
export type DeliveryDetail = Static<typeof DeliveryDetailSchema>;

export const DeliveryListQuery = Type.Intersect([
  PageQuery,
  Type.Object({ status: Type.Optional(DeliveryStatus) }),
]);

export const DeliveryParams = Type.Object({ id: Id, deliveryId: Id });
