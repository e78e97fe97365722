import type { Static } from 'typebox';
import type { QueueItem } from './items.repo.js';
import type { Queue } from './queues.repo.js';
import type { QueueItemSchema, QueueSchema } from './queues.schemas.js';

export type QueueView = Static<typeof QueueSchema>;
export type QueueItemView = Static<typeof QueueItemSchema>;

export function queueView(queue: Queue): QueueView {
  return {
    id: queue.id,
    name: queue.name,
    description: queue.description,
    max_retries: queue.max_retries,
    deadline_minutes: queue.deadline_minutes,
    sla_minutes: queue.sla_minutes,
    unique_references: queue.unique_references,
    active: queue.active,
    item_timeout_seconds: queue.item_timeout_seconds,
    trigger_process_id: queue.trigger_process_id,
    trigger_max_jobs: queue.trigger_max_jobs,
    created_by: queue.created_by,
    created_at: queue.created_at,
    updated_at: queue.updated_at,
  };
}

export function itemView(item: QueueItem): QueueItemView {
  return {
    id: item.id,
    queue_id: item.queue_id,
    status: item.status,
    priority: item.priority,
    content: item.content,
    reference: item.reference,
    progress: item.progress,
    output: item.output,
    error: item.error,
    robot_id: item.robot_id,
    retry_of: item.retry_of,
    retry_number: item.retry_number,
    defer_until: item.defer_until,
    deadline: item.deadline,
    started_at: item.started_at,
    finished_at: item.finished_at,
    created_at: item.created_at,
    updated_at: item.updated_at,
  };
}

/** What an item's audit events show of it: never its content or output, which may be large. */
export function itemSummary(item: QueueItem): object {
  return {
    queue_id: item.queue_id,
    status: item.status,
    priority: item.priority,
    reference: item.reference,
    robot_id: item.robot_id,
    retry_number: item.retry_number,
    ...(item.error ? { error: item.error } : {}),
  };
}
