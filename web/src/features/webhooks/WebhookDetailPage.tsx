import {
  Alert,
  Button,
  Code,
  Group,
  Loader,
  Modal,
  SegmentedControl,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { usePermission } from '../auth/session';
import { confirmDestructive, notifyFailure } from '../../shell/confirm';
import { Pager, useCursorPages } from '../../shell/paging';
import { ShownOnce } from '../../shell/ShownOnce';
import { DeliveryModal } from './DeliveryModal';
import {
  deliveryStatuses,
  useDeleteWebhook,
  useDeliveries,
  usePauseWebhook,
  useRotateSecret,
  useTestWebhook,
  useWebhook,
  type DeliveryStatus,
  type Webhook,
} from './queries';
import { EditWebhookModal } from './WebhookModal';
import { DeliveryStatusBadge, WebhookStatusBadge } from './WebhookStatus';

function Actions({ webhook }: { webhook: Webhook }) {
  const navigate = useNavigate();
  const canUpdate = usePermission('webhooks:update');
  const canDelete = usePermission('webhooks:delete');
  const [editing, editModal] = useDisclosure();
  const test = useTestWebhook();
  const pause = usePauseWebhook();
  const rotate = useRotateSecret();
  const remove = useDeleteWebhook();
  const paused = webhook.status === 'paused';
  return (
    <Group>
      {canUpdate && (
        <>
          <Button
            variant="light"
            loading={test.isPending}
            onClick={() => test.mutate(webhook.id, { onError: notifyFailure('Test failed') })}
          >
            Send test
          </Button>
          <Button
            variant="light"
            color={paused ? 'green' : 'orange'}
            loading={pause.isPending}
            onClick={() =>
              pause.mutate({ id: webhook.id, pause: !paused }, { onError: notifyFailure('Change failed') })
            }
          >
            {paused ? 'Resume' : 'Pause'}
          </Button>
          <Button variant="default" onClick={editModal.open}>
            Edit
          </Button>
          <Button
            variant="default"
            onClick={() =>
              confirmDestructive({
                title: 'Rotate the signing secret?',
                body: 'Deliveries are signed with the new secret at once; receivers must be given it.',
                confirm: 'Rotate',
                run: () => rotate.mutateAsync(webhook.id),
              })
            }
          >
            Rotate secret
          </Button>
        </>
      )}
      {canDelete && (
        <Button
          color="red"
          variant="light"
          onClick={() =>
            confirmDestructive({
              title: 'Delete this webhook?',
              body: 'Its deliveries and their logs are deleted with it; nothing more is sent.',
              confirm: 'Delete',
              run: async () => {
                await remove.mutateAsync(webhook.id);
                await navigate('/webhooks');
              },
            })
          }
        >
          Delete
        </Button>
      )}
      <EditWebhookModal webhook={webhook} opened={editing} onClose={editModal.close} />
      <Modal opened={rotate.data !== undefined} onClose={() => rotate.reset()} title="New signing secret">
        {rotate.data && (
          <ShownOnce
            what="signing secret of"
            name={webhook.url}
            secret={rotate.data.secret}
            testId="webhook-secret"
            onDone={() => rotate.reset()}
          />
        )}
      </Modal>
    </Group>
  );
}

function Deliveries({ webhookId }: { webhookId: string }) {
  const [status, setStatus] = useState<DeliveryStatus | 'all'>('all');
  const pages = useCursorPages(status);
  const deliveries = useDeliveries(webhookId, status === 'all' ? undefined : status, pages.cursor);
  const [open, setOpen] = useState<string | null>(null);
  const items = deliveries.data?.items ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={3}>Deliveries</Title>
        <SegmentedControl
          value={status}
          onChange={(value) => setStatus(value)}
          data={['all', ...deliveryStatuses]}
        />
      </Group>
      {deliveries.error && <Alert color="red">{deliveries.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Event</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Attempts</Table.Th>
            <Table.Th>Last answer</Table.Th>
            <Table.Th>Created</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((delivery) => (
            <Table.Tr
              key={delivery.id}
              data-testid="delivery-row"
              style={{ cursor: 'pointer' }}
              onClick={() => setOpen(delivery.id)}
            >
              <Table.Td>
                <Code>{delivery.event}</Code>
              </Table.Td>
              <Table.Td>
                <DeliveryStatusBadge status={delivery.status} />
              </Table.Td>
              <Table.Td>{delivery.attempts}</Table.Td>
              <Table.Td>{delivery.last_status_code ?? delivery.last_error ?? '—'}</Table.Td>
              <Table.Td>{new Date(delivery.created_at).toLocaleString()}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {deliveries.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          No delivery here yet. Send a test to see one.
        </Text>
      )}
      <Pager pages={pages} nextCursor={deliveries.data?.next_cursor} />
      <DeliveryModal webhookId={webhookId} deliveryId={open} onClose={() => setOpen(null)} />
    </Stack>
  );
}

/** A subscription: what it sends where, its actions, and its deliveries with their attempts. */
export function WebhookDetailPage() {
  const { id = '' } = useParams();
  const webhook = useWebhook(id);
  if (webhook.isLoading) return <Loader />;
  if (webhook.error) return <Alert color="red">{webhook.error.message}</Alert>;
  const w = webhook.data;
  if (!w) return null;
  return (
    <Stack>
      <Group justify="space-between">
        <Stack gap={2}>
          <Group>
            <Title order={2}>{w.url}</Title>
            <WebhookStatusBadge webhook={w} />
          </Group>
          <Text c="dimmed">{w.description || 'No description'}</Text>
        </Stack>
        <Actions webhook={w} />
      </Group>
      {w.status === 'paused' && (
        <Alert color="orange" title="Paused">
          {w.paused_reason ?? 'Paused'}. Deliveries wait until it is resumed.
        </Alert>
      )}
      <Text size="sm">
        Events: <Code>{w.events.join(', ')}</Code>
      </Text>
      <Deliveries webhookId={w.id} />
    </Stack>
  );
}
