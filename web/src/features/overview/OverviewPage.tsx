import { Alert, Anchor, Card, Group, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { useAgentLiveStatus, type Agent } from '../agents/queries';
import { JobStatus } from '../execution/JobStatus';
import { useJobStateUpdates } from '../execution/queries';

const PAGE = 200;

/** Every agent, page by page: the overview counts them by OS and status. */
async function allAgents(): Promise<Agent[]> {
  const agents: Agent[] = [];
  let cursor: string | undefined;
  do {
    const page = await api((c) => c.GET('/api/v1/agents', { params: { query: { limit: PAGE, cursor } } }));
    agents.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
  return agents;
}

function AgentsByOs() {
  const agents = useQuery({ queryKey: ['agents', 'list', 'overview'], queryFn: allAgents });
  useAgentLiveStatus();
  if (agents.error) return <Alert color="red">{agents.error.message}</Alert>;
  const byOs = new Map<string, { online: number; offline: number }>();
  for (const agent of agents.data ?? []) {
    const counts = byOs.get(agent.os_type) ?? { online: 0, offline: 0 };
    if (agent.status === 'online') counts.online += 1;
    else counts.offline += 1;
    byOs.set(agent.os_type, counts);
  }
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        Agents
      </Title>
      {byOs.size === 0 && <Text c="dimmed">No agent is enrolled yet.</Text>}
      <SimpleGrid cols={{ base: 2, md: 4 }}>
        {[...byOs].map(([os, counts]) => (
          <div key={os} data-testid={`agents-${os}`}>
            <Text fw={600}>{os}</Text>
            <Text size="sm" c="green">
              {counts.online} online
            </Text>
            <Text size="sm" c="dimmed">
              {counts.offline} offline
            </Text>
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
  return (
    <Card withBorder>
      <Title order={4} mb="sm">
        Runs in progress
      </Title>
      {runs.error && <Alert color="red">{runs.error.message}</Alert>}
      {runs.data?.items.length === 0 && <Text c="dimmed">Nothing is running.</Text>}
      <Stack gap="xs">
        {runs.data?.items.map((run) => (
          <Group key={run.id} justify="space-between">
            <Text size="sm">{run.name}</Text>
            <Text size="xs" c="dimmed">
              {Object.entries(run.counts)
                .map(([status, count]) => `${count} ${status}`)
                .join(', ')}
            </Text>
          </Group>
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
