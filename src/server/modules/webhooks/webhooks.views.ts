import type { AttemptRow, DeliveryRow } from './deliveries.repo.js';
import type { Webhook } from './webhooks.repo.js';
import type {
  AttemptView,
  DeliveryDetail,
  DeliveryStatus,
  DeliveryView,
  WebhookView,
} from './webhooks.schemas.js';

/** A subscription as the API shows it: never its secret. */
export function webhookView(webhook: Webhook): WebhookView {
  return {
    id: webhook.id,
    url: webhook.url,
    description: webhook.description,
    events: webhook.events,
    enabled: webhook.enabled,
    status: webhook.status,
    consecutive_failures: webhook.consecutive_failures,
    paused_at: webhook.paused_at,
    paused_reason: webhook.paused_reason,
    created_at: webhook.created_at,
    updated_at: webhook.updated_at,
  };
}

export function deliveryView(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    webhook_id: row.webhook_id,
    event: row.event,
    status: row.status as DeliveryStatus,
    attempts: row.attempts,
    next_attempt_at: row.status === 'pending' ? row.next_attempt_at : null,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    redelivery_of: row.redelivery_of,
    created_at: row.created_at,
    finished_at: row.finished_at,
  };
}

function attemptView(row: AttemptRow): AttemptView {
  return {
    attempt: row.attempt,
    status_code: row.status_code,
    response_excerpt: row.response_excerpt,
    duration_ms: row.duration_ms,
    error: row.error,
    created_at: row.created_at,
  };
}

export function deliveryDetail(row: DeliveryRow, attempts: readonly AttemptRow[]): DeliveryDetail {
  return { ...deliveryView(row), body: row.body, attempts_log: attempts.map(attemptView) };
}
