import {
  Alert,
  Anchor,
  Badge,
  Button,
  Group,
  List,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDebouncedCallback } from '@mantine/hooks';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { usePermission } from '../auth/session';
import { Pager, useCursorPages } from '../../shell/paging';
import { runsOnText } from './DeployModal';
import {
  useServices,
  useServiceUpdates,
  useSyncServices,
  type ServiceFilters,
  type ServiceSource,
  type SyncReport,
} from './queries';

const SOURCES: ServiceSource[] = ['api', 'directory'];

/** The filters live in the URL: a filtered view can be linked and survives reload. */
function useFilters(): [ServiceFilters, (name: keyof ServiceFilters, value: string | null) => void] {
  const [params, setParams] = useSearchParams();
  const filters: ServiceFilters = {
    search: params.get('search') || undefined,
    source: SOURCES.find((source) => source === params.get('source')),
  };
  const set = (name: keyof ServiceFilters, value: string | null) =>
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        if (value) next.set(name, value);
        else next.delete(name);
        return next;
      },
      { replace: true },
    );
  return [filters, set];
}

const OUTCOMES = ['created', 'updated', 'unchanged', 'removed'] as const;

/** What a sync did, folder by folder; the invalid ones with the reason each was refused. */
function SyncReportView({ report }: { report: SyncReport }) {
  return (
    <Stack data-testid="sync-report">
      {OUTCOMES.map((outcome) => (
        <div key={outcome}>
          <Text fw={500} size="sm">
            {outcome} ({report[outcome].length})
          </Text>
          <Text size="sm" c="dimmed">
            {report[outcome].length > 0 ? report[outcome].join(', ') : 'none'}
          </Text>
        </div>
      ))}
      <div>
        <Text fw={500} size="sm" c={report.invalid.length > 0 ? 'red' : undefined}>
          invalid ({report.invalid.length})
        </Text>
        {report.invalid.length === 0 ? (
          <Text size="sm" c="dimmed">
            none
          </Text>
        ) : (
          <List size="sm">
            {report.invalid.map((item) => (
              <List.Item key={item.folder}>
                <b>{item.folder}</b>: {item.error}
              </List.Item>
            ))}
          </List>
        )}
      </div>
    </Stack>
  );
}

/** Services: deployment recipes, defined here or synced from the services directory. */
export function ServicesPage() {
  const [filters, setFilter] = useFilters();
  const [text, setText] = useState(filters.search ?? '');
  const searchLater = useDebouncedCallback((value: string) => setFilter('search', value.trim()), 300);
  const pages = useCursorPages(JSON.stringify(filters));
  const services = useServices(filters, pages.cursor);
  const sync = useSyncServices();
  const canCreate = usePermission('services:create');
  const canSync = usePermission('services:update');
  useServiceUpdates();
  const items = services.data?.items ?? [];
  const filtered = Object.values(filters).some(Boolean);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Services</Title>
        <Group>
          {canSync && (
            <Button variant="default" onClick={() => sync.mutate()} loading={sync.isPending}>
              Sync from directory
            </Button>
          )}
          {canCreate && (
            <Button component={Link} to="/services/new">
              Create service
            </Button>
          )}
        </Group>
      </Group>
      <Group>
        <TextInput
          aria-label="Search"
          placeholder="Search name"
          value={text}
          onChange={(e) => {
            setText(e.currentTarget.value);
            searchLater(e.currentTarget.value);
          }}
          w={260}
        />
        <Select
          aria-label="Source"
          placeholder="Any source"
          data={SOURCES}
          value={filters.source ?? null}
          onChange={(value) => setFilter('source', value)}
          clearable
          w={160}
        />
      </Group>
      {sync.error && <Alert color="red">{sync.error.message}</Alert>}
      {services.error && <Alert color="red">{services.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Runs on</Table.Th>
            <Table.Th>Steps</Table.Th>
            <Table.Th>Source</Table.Th>
            <Table.Th>Updated</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((service) => (
            <Table.Tr key={service.id} data-testid="service-row">
              <Table.Td>
                <Anchor component={Link} to={`/services/${service.id}`}>
                  {service.name}
                </Anchor>
                {service.description && (
                  <Text size="xs" c="dimmed" lineClamp={1}>
                    {service.description}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>{runsOnText(service)}</Table.Td>
              <Table.Td>{service.steps.length > 0 ? service.steps.join(' → ') : '—'}</Table.Td>
              <Table.Td>
                <Badge variant="light" color={service.source === 'directory' ? 'grape' : 'gray'}>
                  {service.folder ? `directory: ${service.folder}` : service.source}
                </Badge>
              </Table.Td>
              <Table.Td>{new Date(service.updated_at).toLocaleString()}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {services.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          {filtered
            ? 'No service matches these filters.'
            : 'No service yet. Create one, or sync the services directory.'}
        </Text>
      )}
      <Pager pages={pages} nextCursor={services.data?.next_cursor} />
      <Modal opened={sync.isSuccess} onClose={() => sync.reset()} title="Services directory synced">
        {sync.data && <SyncReportView report={sync.data} />}
      </Modal>
    </Stack>
  );
}
