import {
  Alert,
  Anchor,
  Badge,
  Button,
  Card,
  Group,
  Loader,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Title,
} from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api } from '../../api/client';
import { usePermission } from '../auth/session';
import { JobStatus } from '../execution/JobStatus';
import { useAgentJobs } from '../execution/queries';
import { AgentMetricsChart } from './AgentMetricsChart';
import { AgentStatus } from './AgentStatus';
import { CommandBox } from './CommandBox';
import { useAgent, useAgentLiveStatus, type Agent } from './queries';
import { confirmDestructive, notifyFailure } from '../../shell/confirm';
import { Pager, useCursorPages } from '../../shell/paging';

function Fact({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" component="div">
        {children}
      </Text>
    </div>
  );
}

function Metrics({ agent }: { agent: Agent }) {
  const m = agent.metrics;
  if (!m) return <Text c="dimmed">No metrics reported yet.</Text>;
  return (
    <SimpleGrid cols={4}>
      <Fact label="CPU">{m.cpu_percent.toFixed(0)} %</Fact>
      <Fact label="Memory">{m.memory_percent.toFixed(0)} %</Fact>
      <Fact label="Disk">{m.disk_percent.toFixed(0)} %</Fact>
      <Fact label="Uptime">{Math.round(m.uptime_seconds / 3600)} h</Fact>
    </SimpleGrid>
  );
}

function JobHistory({ agentId }: { agentId: string }) {
  const pages = useCursorPages();
  const jobs = useAgentJobs(agentId, pages.cursor);
  const items = jobs.data?.items ?? [];
  return (
    <Stack>
      <Table>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Command</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Exit</Table.Th>
            <Table.Th>Created</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((job) => (
            <Table.Tr key={job.id}>
              <Table.Td>
                <Anchor component={Link} to={`/jobs/${job.id}`} ff="monospace" size="sm">
                  {job.command.slice(0, 80)}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <JobStatus status={job.status} />
              </Table.Td>
              <Table.Td>{job.exit_code ?? '—'}</Table.Td>
              <Table.Td>{new Date(job.created_at).toLocaleString()}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {jobs.isSuccess && items.length === 0 && <Text c="dimmed">No job has run on this agent yet.</Text>}
      <Pager pages={pages} nextCursor={jobs.data?.next_cursor} labels={['Newer', 'Older']} />
    </Stack>
  );
}

export function AgentDetailPage() {
  const { id = '' } = useParams();
  const agent = useAgent(id);
  const canRun = usePermission('jobs:execute');
  const canDelete = usePermission('agents:delete');
  const canUpdate = usePermission('agents:update');
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  useAgentLiveStatus();
  const remove = useMutation({
    mutationFn: () => api((c) => c.DELETE('/api/v1/agents/{id}', { params: { path: { id } } })),
    onSuccess: () => {
      notifications.show({ color: 'green', message: 'Agent deleted: it uninstalls itself' });
      void queryClient.invalidateQueries({ queryKey: ['agents'] });
      void navigate('/agents');
    },
    onError: notifyFailure('Delete failed'),
  });

  // the new facts come back as an agent.facts event, which reads the agent again
  const refreshFacts = useMutation({
    mutationFn: () => api((c) => c.POST('/api/v1/agents/{id}/facts/refresh', { params: { path: { id } } })),
    onSuccess: (asked) =>
      notifications.show({
        message:
          asked.delivery === 'websocket'
            ? 'Facts asked for: the agent reports them now'
            : 'Facts asked for: the agent reports them with its next heartbeat',
      }),
    onError: notifyFailure('Refresh refused'),
  });

  if (agent.isPending) return <Loader />;
  if (agent.error) return <Alert color="red">{agent.error.message}</Alert>;
  const a = agent.data;
  const confirmDelete = () =>
    confirmDestructive({
      title: `Uninstall and delete ${a.name}?`,
      body: 'The agent is told to uninstall itself; its job history is kept.',
      confirm: 'Uninstall and delete',
      run: () => remove.mutate(),
    });

  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Title order={2}>{a.name}</Title>
          <AgentStatus status={a.status} />
        </Group>
        <Group>
          {canUpdate && (
            <Button variant="default" onClick={() => refreshFacts.mutate()} loading={refreshFacts.isPending}>
              Refresh facts
            </Button>
          )}
          {canDelete && (
            <Button color="red" variant="light" onClick={confirmDelete}>
              Uninstall
            </Button>
          )}
        </Group>
      </Group>
      <Card withBorder>
        <SimpleGrid cols={{ base: 2, md: 4 }}>
          <Fact label="Hostname">{a.hostname}</Fact>
          <Fact label="OS">
            {a.os_type} {a.os_version} ({a.arch})
          </Fact>
          <Fact label="IP">{a.ip ?? '—'}</Fact>
          <Fact label="Agent version">{a.agent_version ?? '—'}</Fact>
          <Fact label="Interpreters">
            <span data-testid="agent-interpreters">{a.interpreters.join(', ') || '—'}</span>
          </Fact>
          <Fact label="Tags">
            <Group gap={4}>
              {a.tags.map((tag) => (
                <Badge key={tag} variant="outline" size="sm">
                  {tag}
                </Badge>
              ))}
            </Group>
          </Fact>
          <Fact label="Last seen">
            {a.last_seen_at ? new Date(a.last_seen_at).toLocaleString() : 'never'}
          </Fact>
          <Fact label="Enrolled">{new Date(a.created_at).toLocaleString()}</Fact>
        </SimpleGrid>
      </Card>
      <Title order={4}>Latest metrics</Title>
      <Metrics agent={a} />
      <AgentMetricsChart agentId={id} />
      {canRun && (
        <>
          <Title order={4}>Run a command</Title>
          <CommandBox agent={a} />
        </>
      )}
      <Title order={4}>Job history</Title>
      <JobHistory agentId={id} />
    </Stack>
  );
}
