import { Alert, Anchor, Card, Group, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { useFleetEvents, type FleetEvent } from '../../api/events';
import { RunProgress } from '../runs/RunProgress';
import { useRunProgress } from '../runs/queries';
import { JobStatus } from '../execution/JobStatus';
import { useJobStateUpdates } from '../execution/queries';

/** How often, at most, the counts are read again while agents come and go. */
const RECOUNT_MS = 1000;

/**
 * The server's counts by OS and status (one query, however large the fleet), read again at most
 * once a second while agents change state: a fleet flapping at once costs one request a second.
 */
function useAgentSummary() {
  const queryClient = useQueryClient();
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(pending.current), []);
  const onEvent = useCallback(
    (event: FleetEvent) => {
      if (!event.type.startsWith('agent.') || pending.current) return;
      pending.current = setTimeout(() => {
        pending.current = undefined;
        void queryClient.invalidateQueries({ queryKey: ['agents', 'summary'] });
      }, RECOUNT_MS);
    },
    [queryClient],
  );
  useFleetEvents(onEvent);
  return useQuery({
    queryKey: ['agents', 'summary'],
    queryFn: () => api((c) => c.GET('/api/v1/agents/summary')),
  });
}

function AgentsByOs() {
  const summary = useAgentSummary();
  if (summary.error) return <Alert color="red">{summary.error.message}</Alert>;
  const byOs = summary.data?.by_os ?? [];
  return (
    <Card withBorder>
      <Group justify="space-between" mb="sm">
        <Title order={4}>Agents</Title>
        {summary.data && (
          <Text size="sm" c="dimmed" data-testid="agents-total">
            {summary.data.online} of {summary.data.total} online
          </Text>
        )}
      </Group>
      {summary.isSuccess && byOs.length === 0 && <Text c="dimmed">No agent is enrolled yet.</Text>}
      <SimpleGrid cols={{ base: 2, md: 4 }}>
        {byOs.map((os) => (
          <div key={os.os_type} data-testid={`agents-${os.os_type}`}>
            <Anchor component={Link} to={`/agents?os_type=${encodeURIComponent(os.os_type)}`} fw={600}>
              {os.os_type}
            </Anchor>
            <Text size="sm" c="green">
              {os.online} online
            </Text>
            <Text size="sm" c="dimmed">
              {os.offline} offline
            </Text>
            {os.pending > 0 && (
              <Text size="sm" c="dimmed">
                {os.pending} pending
              </Text>
            )}
          </div>
        ))}
      </SimpleGrid>
    </Card>
  );
}

function RunsInProgress() {
  const runs = useQuery({
    queryKey: ['runs', 'list', 'running'],
    queryFn: () => api((c) => c.GET('/api/v1/runs', { params: { query: { status: 'running', limit: 10 } } })),
  });
  useRunProgress();
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        Runs in progress
      </Title>
      {runs.error && <Alert color="red">{runs.error.message}</Alert>}
      {runs.data?.items.length === 0 && <Text c="dimmed">Nothing is running.</Text>}
      <Stack gap="sm">
        {runs.data?.items.map((run) => (
          <Stack key={run.id} gap={4} data-testid="overview-run">
            <Anchor component={Link} to={`/runs/${run.id}`} size="sm">
              {run.name}
            </Anchor>
            <RunProgress counts={run.counts} size="sm" />
          </Stack>
        ))}
      </Stack>
    </Card>
  );
}

function RecentFailures() {
  const jobs = useQuery({
    queryKey: ['jobs', 'list', 'failed'],
    queryFn: () => api((c) => c.GET('/api/v1/jobs', { params: { query: { status: 'failed', limit: 10 } } })),
  });
  useJobStateUpdates();
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        Recent failed jobs
      </Title>
      {jobs.error && <Alert color="red">{jobs.error.message}</Alert>}
      {jobs.data?.items.length === 0 && <Text c="dimmed">No failed job.</Text>}
      <Table>
        <Table.Tbody>
          {jobs.data?.items.map((job) => (
            <Table.Tr key={job.id}>
              <Table.Td>
                <Anchor component={Link} to={`/jobs/${job.id}`} ff="monospace" size="sm">
                  {job.command.slice(0, 60)}
                </Anchor>
              </Table.Td>
              <Table.Td>{job.agent_name ?? '—'}</Table.Td>
              <Table.Td>
                <JobStatus status={job.status} />
              </Table.Td>
              <Table.Td>{new Date(job.created_at).toLocaleString()}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Card>
  );
}

export function OverviewPage() {
  return (
    <Stack>
      <Title order={2}>Overview</Title>
      <AgentsByOs />
      <SimpleGrid cols={{ base: 1, lg: 2 }}>
        <RunsInProgress />
        <RecentFailures />
      </SimpleGrid>
    </Stack>
  );
}
