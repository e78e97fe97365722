import { statusesLeadingTo } from '../../../protocol/jobs.js';
import { AppError } from '../../lib/errors.js';
import type { Queue } from './queues.repo.js';
import type { QueueItem } from './items.repo.js';
import type { ItemError, ItemStatus } from './queues.schemas.js';

/**
 * The moves of a queue item, the one table of them:
 * - new → in_progress when a consumer claims it; → deleted.
 * - in_progress → successful | failed (a business error, or no retries left) | retried (an
 *   application error with retries left: a new item carries the work on) | abandoned (in progress
 *   past the queue's item timeout).
 * - failed and abandoned items may be deleted; successful, retried and deleted ones never move.
 */
export const itemTransitions: Readonly<Record<ItemStatus, readonly ItemStatus[]>> = {
  new: ['in_progress', 'deleted'],
  in_progress: ['successful', 'failed', 'retried', 'abandoned'],
  successful: [],
  failed: ['deleted'],
  abandoned: ['deleted'],
  retried: [],
  deleted: [],
};

/** The statuses an item may be in to move to `to`. */
export function itemsLeadingTo(to: ItemStatus): ItemStatus[] {
  return statusesLeadingTo(itemTransitions, to);
}

/** The refusal (409) of new items and claims while the queue is inactive; undefined while active. */
export function inactive(queue: Queue): AppError | undefined {
  if (queue.active) return undefined;
  return new AppError('conflict', `queue "${queue.name}" is inactive`, {
    details: [{ field: 'active', message: 'the queue takes no new items and no claims while inactive' }],
  });
}

export function assertActive(queue: Queue): void {
  const refusal = inactive(queue);
  if (refusal) throw refusal;
}

export function notInProgress(item: QueueItem): AppError {
  return new AppError('conflict', `the item is ${item.status}, not in progress`, {
    details: [{ field: 'status', message: `only an item in progress can be finished or report progress` }],
  });
}

/** Whether an application error sends the item round again: only while retries are left. */
export function retries(queue: Queue, item: QueueItem, error: ItemError): boolean {
  return error.type === 'application' && item.retry_number < queue.max_retries;
}

/** A later time, `minutes` after `from` (ISO), or null without minutes. */
export function minutesAfter(from: string, minutes: number | null): string | null {
  return minutes === null ? null : new Date(Date.parse(from) + minutes * 60_000).toISOString();
}
