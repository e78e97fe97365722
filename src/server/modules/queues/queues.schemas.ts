import { Type, type Static } from 'typebox';
import { Id, Name, NullableTimestamp, Timestamp } from '../../http/schemas.js';
import { PageQuery } from '../../lib/pagination.js';

/** Items one bulk request may add; more is refused (413) as a whole. */
export const MAX_BULK_ITEMS = 10_000;
/** An item's content, as JSON text. */
export const MAX_CONTENT_BYTES = 256 * 1024;

const Description = Type.String({ maxLength: 4000 });
const MaxRetries = Type.Integer({ minimum: 0, maximum: 20 });
const Minutes = Type.Integer({ minimum: 1, maximum: 525_600 });
const ItemTimeoutSeconds = Type.Integer({ minimum: 1, maximum: 7 * 86_400 });
const TriggerMaxJobs = Type.Integer({ minimum: 1, maximum: 100 });
const Reference = Type.String({ minLength: 1, maxLength: 200 });

export const QueueSchema = Type.Object({
  id: Id,
  name: Type.String(),
  description: Type.String(),
  max_retries: Type.Integer({ description: 'Retries of an item failed by an application error' }),
  deadline_minutes: Type.Union([Type.Integer(), Type.Null()], {
    description: "A new item's deadline, this long after it is added, unless it names one",
  }),
  sla_minutes: Type.Union([Type.Integer(), Type.Null()], {
    description: 'An item not finished this long after it was first added breaches the SLA',
  }),
  unique_references: Type.Boolean({
    description: "No two of the queue's items (deleted and retried ones aside) share a reference",
  }),
  active: Type.Boolean({ description: 'An inactive queue refuses new items and claims (409)' }),
  item_timeout_seconds: Type.Integer({
    description: 'An item in progress longer than this is abandoned',
  }),
  trigger_process_id: Type.Union([Id, Type.Null()], {
    description: 'The process started to work the queue while items wait',
  }),
  trigger_max_jobs: Type.Integer({ description: 'Jobs of that process at once, at most' }),
  created_by: Type.Union([Id, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});

const queueFields = {
  description: Type.Optional(Description),
  max_retries: Type.Optional(MaxRetries),
  unique_references: Type.Optional(Type.Boolean()),
  active: Type.Optional(Type.Boolean()),
  item_timeout_seconds: Type.Optional(ItemTimeoutSeconds),
  trigger_max_jobs: Type.Optional(TriggerMaxJobs),
};

export const QueueCreateBody = Type.Object(
  {
    name: Name,
    ...queueFields,
    deadline_minutes: Type.Optional(Minutes),
    sla_minutes: Type.Optional(Minutes),
    trigger_process_id: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export type QueueCreateBody = Static<typeof QueueCreateBody>;

export const QueueUpdateBody = Type.Object(
  {
    name: Type.Optional(Name),
    ...queueFields,
    deadline_minutes: Type.Optional(Type.Union([Minutes, Type.Null()])),
    sla_minutes: Type.Optional(Type.Union([Minutes, Type.Null()])),
    trigger_process_id: Type.Optional(Type.Union([Id, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type QueueUpdateBody = Static<typeof QueueUpdateBody>;

export const QueueListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    /** Text in the name or description, case-insensitive. */
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    active: Type.Optional(Type.Boolean()),
  }),
]);

export const QueueDeleteQuery = Type.Object({
  force: Type.Optional(
    Type.Boolean({ description: 'Delete even while items are new or in progress; they go with it' }),
  ),
});

export const itemStatuses = [
  'new',
  'in_progress',
  'successful',
  'failed',
  'abandoned',
  'retried',
  'deleted',
] as const;
export const ItemStatus = Type.Enum(itemStatuses);
export type ItemStatus = Static<typeof ItemStatus>;

export const priorities = ['high', 'normal', 'low'] as const;
export const Priority = Type.Enum(priorities);
export type Priority = Static<typeof Priority>;

export const errorTypes = ['business', 'application'] as const;
export const ItemError = Type.Object(
  {
    type: Type.Enum(errorTypes, {
      description: '`business`: the item itself is wrong, never retried; `application`: retried',
    }),
    reason: Type.String({ minLength: 1, maxLength: 4000 }),
  },
  { additionalProperties: false },
);
export type ItemError = Static<typeof ItemError>;

const Json = Type.Unknown({ description: 'Any JSON value' });
const Content = Type.Record(Type.String({ maxLength: 200 }), Json, {
  description: 'A JSON object, 256 KiB at most',
});

export const QueueItemSchema = Type.Object({
  id: Id,
  queue_id: Id,
  status: ItemStatus,
  priority: Priority,
  content: Type.Record(Type.String(), Json),
  reference: Type.Union([Type.String(), Type.Null()]),
  progress: Type.Union([Type.String(), Type.Null()]),
  output: Json,
  error: Type.Union([ItemError, Type.Null()]),
  robot_id: Type.Union([Id, Type.Null()], { description: 'The robot that took it; null for a person' }),
  retry_of: Type.Union([Id, Type.Null()], { description: 'The first item of its chain of retries' }),
  retry_number: Type.Integer(),
  defer_until: NullableTimestamp,
  deadline: NullableTimestamp,
  started_at: NullableTimestamp,
  finished_at: NullableTimestamp,
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const QueueItemInput = Type.Object(
  {
    content: Content,
    priority: Type.Optional(Priority),
    reference: Type.Optional(Reference),
    defer_until: Type.Optional(Timestamp),
    deadline: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
export type QueueItemInput = Static<typeof QueueItemInput>;

export const QueueItemBulkBody = Type.Object(
  {
    items: Type.Array(QueueItemInput, {
      minItems: 1,
      description: `${MAX_BULK_ITEMS} at most (more is 413); all are added or none`,
    }),
  },
  { additionalProperties: false },
);

export const QueueItemBulkResult = Type.Object({
  count: Type.Integer(),
  first_id: Id,
  last_id: Id,
});

export const QueueItemListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    status: Type.Optional(ItemStatus),
    priority: Type.Optional(Priority),
    reference: Type.Optional(Reference),
    robot_id: Type.Optional(Id),
  }),
]);

export const ItemCompleteBody = Type.Object({ output: Type.Optional(Json) }, { additionalProperties: false });
export const ItemFailBody = Type.Object({ error: ItemError }, { additionalProperties: false });
export const ItemProgressBody = Type.Object(
  { progress: Type.String({ maxLength: 4000 }) },
  { additionalProperties: false },
);

export const ItemFailResult = Type.Object({
  item: QueueItemSchema,
  retry: Type.Union([QueueItemSchema, Type.Null()], {
    description: 'The new item that retries it, for an application error with retries left',
  }),
});

export const QueueStatsSchema = Type.Object({
  counts: Type.Object(Object.fromEntries(itemStatuses.map((status) => [status, Type.Integer()])), {
    description: 'Items by status',
  }),
  average_processing_ms: Type.Union([Type.Number(), Type.Null()], {
    description: 'Of successful items, from claim to completion',
  }),
  sla_breaches: Type.Integer({
    description: 'Items not finished within sla_minutes of being first added (0 without an SLA)',
  }),
  deadline_breaches: Type.Integer({ description: 'Items not finished by their deadline' }),
  oldest_waiting_age_ms: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Age of the oldest new item; null when none waits',
  }),
});
