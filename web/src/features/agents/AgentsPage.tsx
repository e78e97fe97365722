import { Alert, Anchor, Badge, Button, Checkbox, Group, Stack, Table, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { usePermission } from '../auth/session';
import { AgentFilterBar, useAgentFilters } from './AgentFilters';
import { AgentStatus } from './AgentStatus';
import { useAgentLiveStatus, useAgents, type Agent } from './queries';
import { RunCommandModal } from './RunCommandModal';
import { TagModal } from './TagModal';
import { confirmDestructive, notifyFailure } from '../../shell/confirm';
import { Pager, useCursorPages } from '../../shell/paging';

/**
 * The fleet, a page at a time. Pages follow the server's `next_cursor`; the cursors of the pages
 * before are kept to go back. A filter change starts again at the first page and clears the
 * selection.
 */
export function AgentsPage() {
  const [filters, setFilter] = useAgentFilters();
  const filterKey = JSON.stringify(filters);
  const pages = useCursorPages(filterKey);
  const agents = useAgents(filters, pages.cursor);
  const [selected, setSelected] = useState<Map<string, Agent>>(new Map());
  const [running, runModal] = useDisclosure();
  const [tagging, tagModal] = useDisclosure();
  const canRun = usePermission('runs:execute');
  const canUpdate = usePermission('agents:update');
  const canDelete = usePermission('agents:delete');
  const queryClient = useQueryClient();
  useAgentLiveStatus();

  useEffect(() => setSelected(new Map()), [filterKey]);

  const remove = useMutation({
    mutationFn: (ids: string[]) =>
      Promise.all(ids.map((id) => api((c) => c.DELETE('/api/v1/agents/{id}', { params: { path: { id } } })))),
    onSuccess: (_done, ids) => {
      notifications.show({
        color: 'green',
        message: `${ids.length} agent(s) deleted; each uninstalls itself`,
      });
      setSelected(new Map());
      void queryClient.invalidateQueries({ queryKey: ['agents'] });
    },
    onError: notifyFailure('Delete failed'),
  });
  const confirmDelete = () =>
    confirmDestructive({
      title: `Delete ${selected.size} agent(s)?`,
      body: 'Each agent is told to uninstall itself; its history is kept.',
      confirm: 'Delete',
      run: () => remove.mutate([...selected.keys()]),
    });

  const items = agents.data?.items ?? [];
  const allSelected = items.length > 0 && items.every((agent) => selected.has(agent.id));
  const toggle = (agent: Agent) =>
    setSelected((current) => {
      const next = new Map(current);
      if (!next.delete(agent.id)) next.set(agent.id, agent);
      return next;
    });
  const toggleAll = () =>
    setSelected(allSelected ? new Map() : new Map(items.map((agent) => [agent.id, agent])));

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Agents</Title>
        <Group>
          {canRun && (
            <Button disabled={selected.size === 0} onClick={runModal.open}>
              Run command
            </Button>
          )}
          {canUpdate && (
            <Button variant="default" disabled={selected.size === 0} onClick={tagModal.open}>
              Tag
            </Button>
          )}
          {canDelete && (
            <Button color="red" variant="light" disabled={selected.size === 0} onClick={confirmDelete}>
              Delete
            </Button>
          )}
        </Group>
      </Group>
      <AgentFilterBar filters={filters} onChange={setFilter} />
      {agents.error && <Alert color="red">{agents.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={40}>
              <Checkbox aria-label="Select all" checked={allSelected} onChange={toggleAll} />
            </Table.Th>
            <Table.Th>Name</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>OS</Table.Th>
            <Table.Th>IP</Table.Th>
            <Table.Th>Tags</Table.Th>
            <Table.Th>Last seen</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((agent) => (
            <Table.Tr key={agent.id} data-testid="agent-row">
              <Table.Td>
                <Checkbox
                  aria-label={`Select ${agent.name}`}
                  checked={selected.has(agent.id)}
                  onChange={() => toggle(agent)}
                />
              </Table.Td>
              <Table.Td>
                <Anchor component={Link} to={`/agents/${agent.id}`}>
                  {agent.name}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <AgentStatus status={agent.status} />
              </Table.Td>
              <Table.Td>
                {agent.os_type} {agent.os_version}
              </Table.Td>
              <Table.Td>{agent.ip ?? '—'}</Table.Td>
              <Table.Td>
                <Group gap={4}>
                  {agent.tags.map((tag) => (
                    <Badge key={tag} variant="outline" size="sm">
                      {tag}
                    </Badge>
                  ))}
                </Group>
              </Table.Td>
              <Table.Td>
                {agent.last_seen_at ? new Date(agent.last_seen_at).toLocaleString() : 'never'}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {agents.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          No agent matches. Enroll a machine with an enrollment token, or change the filters.
        </Text>
      )}
      <Pager pages={pages} nextCursor={agents.data?.next_cursor} />
      <RunCommandModal agentIds={[...selected.keys()]} opened={running} onClose={runModal.close} />
      <TagModal agents={[...selected.values()]} opened={tagging} onClose={tagModal.close} />
    </Stack>
  );
}
