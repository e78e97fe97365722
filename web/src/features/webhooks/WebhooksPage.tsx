import { Alert, Anchor, Button, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link } from 'react-router';
import { usePermission } from '../auth/session';
import { Pager, useCursorPages } from '../../shell/paging';
import { useWebhooks } from './queries';
import { CreateWebhookModal } from './WebhookModal';
import { WebhookStatusBadge } from './WebhookStatus';

/** Outbound webhook subscriptions; the signing secret is shown once, by the create modal. */
export function WebhooksPage() {
  const pages = useCursorPages();
  const webhooks = useWebhooks(pages.cursor);
  const [creating, createModal] = useDisclosure();
  const canCreate = usePermission('webhooks:create');
  const items = webhooks.data?.items ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Webhooks</Title>
        {canCreate && <Button onClick={createModal.open}>Add webhook</Button>}
      </Group>
      {webhooks.error && <Alert color="red">{webhooks.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>URL</Table.Th>
            <Table.Th>Events</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Failures in a row</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((webhook) => (
            <Table.Tr key={webhook.id} data-testid="webhook-row">
              <Table.Td>
                <Anchor component={Link} to={`/webhooks/${webhook.id}`}>
                  {webhook.url}
                </Anchor>
                {webhook.description && (
                  <Text size="xs" c="dimmed">
                    {webhook.description}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>{webhook.events.join(', ')}</Table.Td>
              <Table.Td>
                <WebhookStatusBadge webhook={webhook} />
              </Table.Td>
              <Table.Td>{webhook.consecutive_failures}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {webhooks.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          No webhook yet. Add one to tell another system when jobs, runs, agents or alerts change.
        </Text>
      )}
      <Pager pages={pages} nextCursor={webhooks.data?.next_cursor} />
      <CreateWebhookModal opened={creating} onClose={createModal.close} />
    </Stack>
  );
}
