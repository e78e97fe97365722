import { Badge } from '@mantine/core';
import type { DeliveryStatus, Webhook } from './queries';

/** A subscription's state as an operator reads it: disabled, paused or active. */
export function WebhookStatusBadge({ webhook }: { webhook: Webhook }) {
  if (!webhook.enabled)
    return (
      <Badge color="gray" variant="light">
        disabled
      </Badge>
    );
  return (
    <Badge
      color={webhook.status === 'paused' ? 'orange' : 'green'}
      variant="light"
      data-testid="webhook-status"
    >
      {webhook.status}
    </Badge>
  );
}

const deliveryColor: Record<DeliveryStatus, string> = { pending: 'blue', delivered: 'green', failed: 'red' };

export function DeliveryStatusBadge({ status }: { status: DeliveryStatus }) {
  return (
    <Badge color={deliveryColor[status]} variant="light">
      {status}
    </Badge>
  );
}
