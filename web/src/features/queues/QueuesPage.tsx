import { Alert, Anchor, Badge, Button, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedCallback, useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { usePermission } from '../auth/session';
import { Pager, useCursorPages } from '../../shell/paging';
import { QueueModal } from './QueueModal';
import { useQueues, type Queue } from './queries';

/** The text filter lives in the URL: a filtered view can be linked and survives reload. */
function useTextFilter(): [string | undefined, (q: string) => void] {
  const [params, setParams] = useSearchParams();
  const setText = (q: string) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (q) next.set('q', q);
        else next.delete('q');
        return next;
      },
      { replace: true },
    );
  return [params.get('q') || undefined, setText];
}

function QueueRow({ queue, canUpdate }: { queue: Queue; canUpdate: boolean }) {
  const [editing, editModal] = useDisclosure();
  return (
    <Table.Tr data-testid="queue-row">
      <Table.Td>
        <Anchor component={Link} to={`/queues/${queue.id}`}>
          {queue.name}
        </Anchor>
        {queue.description && (
          <Text size="xs" c="dimmed" lineClamp={1}>
            {queue.description}
          </Text>
        )}
      </Table.Td>
      <Table.Td>
        <Badge variant="light" color={queue.active ? 'green' : 'gray'}>
          {queue.active ? 'active' : 'inactive'}
        </Badge>
      </Table.Td>
      <Table.Td>{queue.max_retries}</Table.Td>
      <Table.Td>{queue.sla_minutes ? `${queue.sla_minutes} min` : '—'}</Table.Td>
      <Table.Td>{queue.trigger_process_id ? `up to ${queue.trigger_max_jobs} jobs` : '—'}</Table.Td>
      <Table.Td>
        {canUpdate && (
          <Button size="xs" variant="default" onClick={editModal.open}>
            Edit
          </Button>
        )}
        <QueueModal opened={editing} queue={queue} onClose={editModal.close} />
      </Table.Td>
    </Table.Tr>
  );
}

/** Work queues, newest first: what robots take their items from. */
export function QueuesPage() {
  const [q, setText] = useTextFilter();
  const [text, setTextNow] = useState(q ?? '');
  const searchLater = useDebouncedCallback((value: string) => setText(value.trim()), 300);
  const pages = useCursorPages(q ?? '');
  const queues = useQueues(q, pages.cursor);
  const canCreate = usePermission('queues:create');
  const canUpdate = usePermission('queues:update');
  const [creating, createModal] = useDisclosure();
  const items = queues.data?.items ?? [];

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Queues</Title>
        {canCreate && <Button onClick={createModal.open}>Create queue</Button>}
      </Group>
      <TextInput
        aria-label="Search"
        placeholder="Search name or description"
        value={text}
        onChange={(e) => {
          setTextNow(e.currentTarget.value);
          searchLater(e.currentTarget.value);
        }}
        w={280}
      />
      {queues.error && <Alert color="red">{queues.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>State</Table.Th>
            <Table.Th>Retries</Table.Th>
            <Table.Th>SLA</Table.Th>
            <Table.Th>Trigger</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((queue) => (
            <QueueRow key={queue.id} queue={queue} canUpdate={canUpdate} />
          ))}
        </Table.Tbody>
      </Table>
      {queues.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          {q ? `Nothing matches “${q}”.` : 'No queue yet. Create one to feed work to robots.'}
        </Text>
      )}
      <Pager pages={pages} nextCursor={queues.data?.next_cursor} />
      <QueueModal opened={creating} onClose={createModal.close} />
    </Stack>
  );
}
