import { Alert, Button, Code, Group, Loader, Modal, Stack, Table, Text } from '@mantine/core';
import { usePermission } from '../auth/session';
import { notifyFailure } from '../../shell/confirm';
import { useDelivery, useRedeliver } from './queries';
import { DeliveryStatusBadge } from './WebhookStatus';

function pretty(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

/** One delivery: its body as sent, every attempt, and a way to send it again. */
export function DeliveryModal(props: { webhookId: string; deliveryId: string | null; onClose: () => void }) {
  const delivery = useDelivery(props.webhookId, props.deliveryId);
  const redeliver = useRedeliver();
  const canRedeliver = usePermission('webhooks:update');
  const d = delivery.data;
  return (
    <Modal opened={props.deliveryId !== null} onClose={props.onClose} title="Delivery" size="xl">
      {delivery.isLoading && <Loader />}
      {delivery.error && <Alert color="red">{delivery.error.message}</Alert>}
      {d && (
        <Stack>
          <Group>
            <Code>{d.event}</Code>
            <DeliveryStatusBadge status={d.status} />
            <Text size="sm" c="dimmed">
              {d.id}
            </Text>
          </Group>
          {d.next_attempt_at && (
            <Text size="sm">Next attempt {new Date(d.next_attempt_at).toLocaleString()}</Text>
          )}
          <Table data-testid="delivery-attempts">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Attempt</Table.Th>
                <Table.Th>When</Table.Th>
                <Table.Th>Answer</Table.Th>
                <Table.Th>Duration</Table.Th>
                <Table.Th>Response or error</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {d.attempts_log.map((attempt) => (
                <Table.Tr key={attempt.attempt} data-testid="delivery-attempt">
                  <Table.Td>{attempt.attempt}</Table.Td>
                  <Table.Td>{new Date(attempt.created_at).toLocaleString()}</Table.Td>
                  <Table.Td>{attempt.status_code ?? '—'}</Table.Td>
                  <Table.Td>{attempt.duration_ms} ms</Table.Td>
                  <Table.Td>
                    <Text size="xs" lineClamp={3}>
                      {attempt.error ?? attempt.response_excerpt}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          {d.attempts_log.length === 0 && <Text c="dimmed">Not tried yet.</Text>}
          <Code block>{pretty(d.body)}</Code>
          {canRedeliver && (
            <Group justify="flex-end">
              <Button
                loading={redeliver.isPending}
                onClick={() =>
                  redeliver.mutate(
                    { id: props.webhookId, deliveryId: d.id },
                    { onSuccess: props.onClose, onError: notifyFailure('Redeliver failed') },
                  )
                }
              >
                Redeliver
              </Button>
            </Group>
          )}
        </Stack>
      )}
    </Modal>
  );
}
