import {
  Alert,
  Anchor,
  Badge,
  Button,
  Code,
  Group,
  Loader,
  Paper,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { usePermission } from '../auth/session';
import { confirmDestructive, DONE_HERE } from '../../shell/confirm';
import { Pager, useCursorPages } from '../../shell/paging';
import { AddItemModal, BulkAddModal } from './ItemModals';
import { QueueModal } from './QueueModal';
import {
  itemStatuses,
  useDeleteItem,
  useDeleteQueue,
  useQueue,
  useQueueItems,
  useQueueStats,
  type ItemStatus,
  type Queue,
  type QueueItem,
} from './queries';

const statusColor: Record<ItemStatus, string> = {
  new: 'blue',
  in_progress: 'yellow',
  successful: 'green',
  failed: 'red',
  abandoned: 'orange',
  retried: 'grape',
  deleted: 'gray',
};

/** Items that may be deleted: the server refuses the others (409). */
const DELETABLE: ReadonlySet<ItemStatus> = new Set(['new', 'failed', 'abandoned']);

function duration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function StatCard(props: { label: string; value: string | number; testId: string }) {
  return (
    <Paper withBorder p="sm" data-testid={props.testId}>
      <Text size="xs" c="dimmed">
        {props.label}
      </Text>
      <Text fw={600} size="lg">
        {props.value}
      </Text>
    </Paper>
  );
}

/** The queue's statistics, refreshed every ten seconds. */
function StatsCards({ queueId }: { queueId: string }) {
  const stats = useQueueStats(queueId);
  if (stats.error) return <Alert color="red">{stats.error.message}</Alert>;
  if (!stats.data) return <Loader size="sm" />;
  const s = stats.data;
  return (
    <SimpleGrid cols={{ base: 2, sm: 4, lg: 6 }}>
      <StatCard label="New" value={s.counts.new} testId="stat-new" />
      <StatCard label="In progress" value={s.counts.in_progress} testId="stat-in_progress" />
      <StatCard label="Successful" value={s.counts.successful} testId="stat-successful" />
      <StatCard label="Failed" value={s.counts.failed} testId="stat-failed" />
      <StatCard label="Abandoned" value={s.counts.abandoned} testId="stat-abandoned" />
      <StatCard label="Retried" value={s.counts.retried} testId="stat-retried" />
      <StatCard label="Average processing" value={duration(s.average_processing_ms)} testId="stat-average" />
      <StatCard label="SLA breaches" value={s.sla_breaches} testId="stat-sla" />
      <StatCard label="Deadline breaches" value={s.deadline_breaches} testId="stat-deadline" />
      <StatCard label="Oldest waiting" value={duration(s.oldest_waiting_age_ms)} testId="stat-oldest" />
    </SimpleGrid>
  );
}

function ItemRow(props: { item: QueueItem; canDelete: boolean; onShow: (item: QueueItem) => void }) {
  const { item } = props;
  const remove = useDeleteItem();
  const confirm = () =>
    confirmDestructive({
      title: 'Delete this item?',
      body: 'It is marked deleted: no robot takes it any more.',
      confirm: 'Delete',
      run: () => remove.mutateAsync(item.id),
    });
  return (
    <Table.Tr data-testid="item-row">
      <Table.Td>
        <Badge color={statusColor[item.status]} variant="light">
          {item.status}
        </Badge>
      </Table.Td>
      <Table.Td>{item.priority}</Table.Td>
      <Table.Td>{item.reference ?? '—'}</Table.Td>
      <Table.Td>
        <Text size="xs" ff="monospace" lineClamp={1}>
          {JSON.stringify(item.content)}
        </Text>
      </Table.Td>
      <Table.Td>{item.retry_number > 0 ? `retry ${item.retry_number}` : ''}</Table.Td>
      <Table.Td>{new Date(item.created_at).toLocaleString()}</Table.Td>
      <Table.Td>
        <Group gap="xs" wrap="nowrap">
          <Button size="xs" variant="default" onClick={() => props.onShow(item)}>
            Show
          </Button>
          {props.canDelete && DELETABLE.has(item.status) && (
            <Button size="xs" color="red" variant="light" onClick={confirm} loading={remove.isPending}>
              Delete
            </Button>
          )}
        </Group>
      </Table.Td>
    </Table.Tr>
  );
}

/** The queue's items, newest first, filtered by status; one shown opens in full below. */
function Items({ queue }: { queue: Queue }) {
  const [status, setStatus] = useState<ItemStatus | undefined>(undefined);
  const pages = useCursorPages(status ?? '');
  const items = useQueueItems(queue.id, status, pages.cursor);
  const canCreate = usePermission('queue_items:create');
  const canDelete = usePermission('queue_items:delete');
  const [adding, addModal] = useDisclosure();
  const [bulk, bulkModal] = useDisclosure();
  const [shown, setShown] = useState<QueueItem | null>(null);
  const rows = items.data?.items ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Title order={4}>Items</Title>
          <Select
            aria-label="Status"
            placeholder="Any status"
            clearable
            data={[...itemStatuses]}
            value={status ?? null}
            onChange={(v) => setStatus(v ?? undefined)}
            w={180}
          />
        </Group>
        {canCreate && (
          <Group>
            <Button variant="default" onClick={bulkModal.open}>
              Add in bulk
            </Button>
            <Button onClick={addModal.open}>Add item</Button>
          </Group>
        )}
      </Group>
      {items.error && <Alert color="red">{items.error.message}</Alert>}
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Status</Table.Th>
            <Table.Th>Priority</Table.Th>
            <Table.Th>Reference</Table.Th>
            <Table.Th>Content</Table.Th>
            <Table.Th>Retry</Table.Th>
            <Table.Th>Added</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((item) => (
            <ItemRow key={item.id} item={item} canDelete={canDelete} onShow={setShown} />
          ))}
        </Table.Tbody>
      </Table>
      {items.isSuccess && rows.length === 0 && (
        <Text c="dimmed" ta="center">
          {status ? `No ${status} item.` : 'No item yet.'}
        </Text>
      )}
      <Pager pages={pages} nextCursor={items.data?.next_cursor} />
      {shown && (
        <Stack gap={4}>
          <Text size="sm">Item {shown.id}</Text>
          <Code block data-testid="item-detail">
            {JSON.stringify(shown, null, 2)}
          </Code>
        </Stack>
      )}
      <AddItemModal queueId={queue.id} opened={adding} onClose={addModal.close} />
      <BulkAddModal queueId={queue.id} opened={bulk} onClose={bulkModal.close} />
    </Stack>
  );
}

function DeleteQueueButton({ queue }: { queue: Queue }) {
  const navigate = useNavigate();
  const remove = useDeleteQueue();
  const confirm = () =>
    confirmDestructive({
      title: `Delete ${queue.name}?`,
      body: 'The queue and all its items go, even those new or in progress.',
      confirm: 'Delete',
      run: async () => {
        await remove.mutateAsync({ id: queue.id, force: true });
        void navigate('/queues', { state: DONE_HERE });
      },
    });
  return (
    <Button color="red" variant="light" onClick={confirm} loading={remove.isPending}>
      Delete
    </Button>
  );
}

/** `/queues/:id`: the queue's settings, statistics and items. */
export function QueueDetailPage() {
  const { id = '' } = useParams();
  const queue = useQueue(id);
  const canUpdate = usePermission('queues:update');
  const canDelete = usePermission('queues:delete');
  const [editing, editModal] = useDisclosure();
  const back = (
    <Anchor component={Link} to="/queues" size="sm">
      ← Queues
    </Anchor>
  );
  if (queue.isPending) return <Loader />;
  if (queue.error)
    return (
      <Stack>
        {back}
        <Alert color="red">{queue.error.message}</Alert>
      </Stack>
    );
  const data = queue.data;
  return (
    <Stack>
      {back}
      <Group justify="space-between">
        <Group>
          <Title order={2}>{data.name}</Title>
          <Badge variant="light" color={data.active ? 'green' : 'gray'}>
            {data.active ? 'active' : 'inactive'}
          </Badge>
        </Group>
        <Group>
          {canUpdate && (
            <Button variant="default" onClick={editModal.open}>
              Edit
            </Button>
          )}
          {canDelete && <DeleteQueueButton queue={data} />}
        </Group>
      </Group>
      {data.description && <Text c="dimmed">{data.description}</Text>}
      <StatsCards queueId={data.id} />
      <Items queue={data} />
      <QueueModal key={data.updated_at} opened={editing} queue={data} onClose={editModal.close} />
    </Stack>
  );
}
