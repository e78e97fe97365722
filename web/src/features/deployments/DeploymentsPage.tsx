import { Alert, Anchor, Badge, Group, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { Link, useSearchParams } from 'react-router';
import { Pager, useCursorPages } from '../../shell/paging';
import {
  DEPLOYMENT_STATES,
  useDeploymentUpdates,
  useDeployments,
  useServiceChoices,
  type Deployment,
  type DeploymentFilters,
} from './queries';

type FilterName = 'service_id' | 'status' | 'origin' | 'from' | 'to';

const statusColor: Record<Deployment['status'], string> = {
  running: 'blue',
  paused: 'yellow',
  succeeded: 'green',
  failed: 'red',
};

export function DeploymentStatusBadge({ status }: { status: Deployment['status'] }) {
  return (
    <Badge color={statusColor[status]} variant="light" data-testid="deployment-status">
      {status}
    </Badge>
  );
}

/** The filters live in the URL: a filtered view can be linked and survives reload; times are ISO. */
function useFilters(): [DeploymentFilters, (name: FilterName, value: string | null) => void] {
  const [params, setParams] = useSearchParams();
  const filters: DeploymentFilters = {
    service_id: params.get('service_id') || undefined,
    status: DEPLOYMENT_STATES.find((state) => state === params.get('status')),
    origin: params.get('origin') || undefined,
    from: params.get('from') || undefined,
    to: params.get('to') || undefined,
  };
  const set = (name: FilterName, value: string | null) =>
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

/** A local date-time input (what the browser offers) as an ISO time; an empty one clears. */
function toIso(local: string): string | null {
  const time = new Date(local);
  return local && !Number.isNaN(time.getTime()) ? time.toISOString() : null;
}

function toLocal(iso: string | undefined): string {
  if (!iso) return '';
  const time = new Date(iso);
  return new Date(time.getTime() - time.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

function Filters(props: {
  filters: DeploymentFilters;
  set: (name: FilterName, value: string | null) => void;
}) {
  const services = useServiceChoices();
  const { filters, set } = props;
  return (
    <Group align="flex-end">
      <Select
        aria-label="Service"
        placeholder="Any service"
        data={(services.data?.items ?? []).map((service) => ({ value: service.id, label: service.name }))}
        value={filters.service_id ?? null}
        onChange={(value) => set('service_id', value)}
        clearable
        searchable
        w={220}
      />
      <Select
        aria-label="Status"
        placeholder="Any status"
        data={DEPLOYMENT_STATES}
        value={filters.status ?? null}
        onChange={(value) => set('status', value)}
        clearable
        w={150}
      />
      <TextInput
        aria-label="Origin"
        placeholder="Origin (github, console…)"
        defaultValue={filters.origin ?? ''}
        onBlur={(e) => set('origin', e.currentTarget.value.trim() || null)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') set('origin', e.currentTarget.value.trim() || null);
        }}
        w={200}
      />
      <TextInput
        type="datetime-local"
        aria-label="From"
        defaultValue={toLocal(filters.from)}
        onChange={(e) => set('from', toIso(e.currentTarget.value))}
      />
      <TextInput
        type="datetime-local"
        aria-label="To"
        defaultValue={toLocal(filters.to)}
        onChange={(e) => set('to', toIso(e.currentTarget.value))}
      />
    </Group>
  );
}

/** Who started it: the person, key or token by its label, else by its kind. */
export function startedBy(deployment: Deployment): string {
  return deployment.started_by_label ?? deployment.started_by_type.replace('_', ' ');
}

/** How far the machines are: those finished of all (`total`), and the failed among them. */
function progressOf(deployment: Deployment): string {
  const counts = deployment.counts;
  const total = counts['total'] ?? 0;
  const done = (counts['succeeded'] ?? 0) + (counts['failed'] ?? 0) + (counts['canceled'] ?? 0);
  const failed = counts['failed'] ?? 0;
  return `${done} of ${total}${failed > 0 ? `, ${failed} failed` : ''}`;
}

/** Deployments of the organisation, newest first, a page at a time, live from the events socket. */
export function DeploymentsPage() {
  const [filters, setFilter] = useFilters();
  const pages = useCursorPages(JSON.stringify(filters));
  const deployments = useDeployments(filters, pages.cursor);
  useDeploymentUpdates();
  const items = deployments.data?.items ?? [];
  const filtered = Object.values(filters).some(Boolean);

  return (
    <Stack>
      <Title order={2}>Deployments</Title>
      <Filters filters={filters} set={setFilter} />
      {deployments.error && <Alert color="red">{deployments.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Service</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Machines</Table.Th>
            <Table.Th>Batch</Table.Th>
            <Table.Th>Origin</Table.Th>
            <Table.Th>Started by</Table.Th>
            <Table.Th>Started</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((deployment) => (
            <Table.Tr key={deployment.id} data-testid="deployment-row">
              <Table.Td>
                <Anchor component={Link} to={`/deployments/${deployment.id}`}>
                  {deployment.service_name}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <DeploymentStatusBadge status={deployment.status} />
              </Table.Td>
              <Table.Td>{progressOf(deployment)}</Table.Td>
              <Table.Td>
                {deployment.batch_count > 0
                  ? `${Math.min(deployment.current_batch + 1, deployment.batch_count)} of ${deployment.batch_count}`
                  : '—'}
              </Table.Td>
              <Table.Td>{deployment.origin}</Table.Td>
              <Table.Td>{startedBy(deployment)}</Table.Td>
              <Table.Td>{new Date(deployment.created_at).toLocaleString()}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {deployments.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          {filtered
            ? 'No deployment matches these filters.'
            : 'No deployment yet. Deploy a service from its page, or from CI with a service token.'}
        </Text>
      )}
      <Pager pages={pages} nextCursor={deployments.data?.next_cursor} />
    </Stack>
  );
}
