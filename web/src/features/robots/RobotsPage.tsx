import {
  Alert,
  Badge,
  Button,
  Code,
  Group,
  Modal,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { confirmDestructive } from '../../shell/confirm';
import { Pager, useCursorPages } from '../../shell/paging';
import { ShownOnce } from '../../shell/ShownOnce';
import { usePermission } from '../auth/session';
import {
  robotKinds,
  robotStatuses,
  useDeleteRobot,
  useIssueMachineKey,
  useRevokeRobotToken,
  useRobots,
  type Robot,
  type RobotFilters,
  type RobotStatus,
} from './queries';
import { RobotModal } from './RobotModal';

const statusColor: Record<RobotStatus, string> = { online: 'green', busy: 'blue', offline: 'gray' };

function when(value: string | null): string {
  return value ? new Date(value).toLocaleString() : 'never';
}

/** Where the robot runs: its agent, or its own runner (with the prefix of its token, if it holds one). */
function RunsOn({ robot }: { robot: Robot }) {
  if (robot.kind === 'agent') return <Text size="sm">agent {robot.agent_name ?? robot.agent_id}</Text>;
  return (
    <Group gap="xs">
      <Text size="sm">runner</Text>
      {robot.token_prefix ? (
        <Code>{robot.token_prefix}…</Code>
      ) : (
        <Text size="xs" c="dimmed">
          not registered
        </Text>
      )}
    </Group>
  );
}

function RobotActions(props: {
  robot: Robot;
  onEdit: (robot: Robot) => void;
  onKey: (robot: Robot) => void;
}) {
  const { robot } = props;
  const canUpdate = usePermission('robots:update');
  const canDelete = usePermission('robots:delete');
  const revoke = useRevokeRobotToken();
  const remove = useDeleteRobot();
  const confirmRevoke = () =>
    confirmDestructive({
      title: `Revoke the token of ${robot.name}?`,
      body: 'The runner is refused from now on; it registers again with a new machine key.',
      confirm: 'Revoke',
      run: () => revoke.mutateAsync(robot.id),
    });
  const confirmDelete = () =>
    confirmDestructive({
      title: `Delete ${robot.name}?`,
      body: 'Processes can no longer run as this robot.',
      confirm: 'Delete',
      run: () => remove.mutateAsync(robot.id),
    });
  return (
    <Group gap="xs" justify="flex-end" wrap="nowrap">
      {canUpdate && (
        <Button size="xs" variant="default" onClick={() => props.onEdit(robot)}>
          Edit
        </Button>
      )}
      {canUpdate && robot.kind === 'runner' && (
        <Button size="xs" variant="default" onClick={() => props.onKey(robot)}>
          New machine key
        </Button>
      )}
      {canUpdate && robot.has_token && (
        <Button size="xs" color="orange" variant="light" onClick={confirmRevoke}>
          Revoke token
        </Button>
      )}
      {canDelete && (
        <Button
          size="xs"
          color="red"
          variant="light"
          onClick={confirmDelete}
          disabled={robot.status === 'busy'}
        >
          Delete
        </Button>
      )}
    </Group>
  );
}

/** A new machine key for a runner, issued when asked and shown this once. */
function MachineKeyForm(props: { robot: Robot; onDone: () => void }) {
  const issue = useIssueMachineKey();
  if (issue.data)
    return (
      <ShownOnce
        what="machine key of"
        name={props.robot.name}
        secret={issue.data.machine_key}
        testId="robot-machine-key"
        onDone={props.onDone}
      />
    );
  return (
    <Stack>
      <Text size="sm">
        A new one-time key replaces the one not used yet; the runner trades it for its token when it
        registers.
      </Text>
      {issue.error && <Alert color="red">{issue.error.message}</Alert>}
      <Group justify="flex-end">
        <Button onClick={() => issue.mutate(props.robot.id)} loading={issue.isPending}>
          Issue key
        </Button>
      </Group>
    </Stack>
  );
}

/** The modal unmounts its content once closed, so the key shown is forgotten with it. */
function MachineKeyModal(props: { robot: Robot | null; opened: boolean; onClose: () => void }) {
  const { robot } = props;
  return (
    <Modal
      opened={props.opened}
      onClose={props.onClose}
      title={`Machine key of ${robot?.name ?? ''}`}
      size="lg"
    >
      {robot && <MachineKeyForm key={robot.id} robot={robot} onDone={props.onClose} />}
    </Modal>
  );
}

/** Robots: the identities processes run as, with their status now; secrets are shown once only. */
export function RobotsPage() {
  const [filters, setFilters] = useState<RobotFilters>({});
  const pages = useCursorPages(JSON.stringify(filters));
  const robots = useRobots(filters, pages.cursor);
  const [creating, createModal] = useDisclosure();
  const [editing, setEditing] = useState<Robot | null>(null);
  const [editOpened, editModal] = useDisclosure();
  const edit = (robot: Robot) => {
    setEditing(robot);
    editModal.open();
  };
  const [keyFor, setKeyFor] = useState<Robot | null>(null);
  const [keyOpened, keyModal] = useDisclosure();
  const issueKey = (robot: Robot) => {
    setKeyFor(robot);
    keyModal.open();
  };
  const canCreate = usePermission('robots:create');
  const setFilter = <K extends keyof RobotFilters>(name: K, value: RobotFilters[K] | null) =>
    setFilters((f) => ({ ...f, [name]: value || undefined }));

  const items = robots.data?.items ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Robots</Title>
        {canCreate && <Button onClick={createModal.open}>Create robot</Button>}
      </Group>
      <Group>
        <TextInput
          aria-label="Search robots"
          placeholder="Search by name"
          value={filters.q ?? ''}
          onChange={(e) => setFilter('q', e.currentTarget.value.trim())}
        />
        <Select
          aria-label="Status"
          placeholder="Any status"
          clearable
          data={robotStatuses}
          value={filters.status ?? null}
          onChange={(value) => setFilter('status', value)}
        />
        <Select
          aria-label="Kind"
          placeholder="Any kind"
          clearable
          data={robotKinds}
          value={filters.kind ?? null}
          onChange={(value) => setFilter('kind', value)}
        />
      </Group>
      {robots.error && <Alert color="red">{robots.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Runs on</Table.Th>
            <Table.Th>Pools</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Last heartbeat</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((robot) => (
            <Table.Tr key={robot.id} data-testid="robot-row">
              <Table.Td>
                <Text size="sm">{robot.name}</Text>
                {robot.description && (
                  <Text size="xs" c="dimmed">
                    {robot.description}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>
                <RunsOn robot={robot} />
              </Table.Td>
              <Table.Td>
                <Group gap={4}>
                  {robot.pools.map((pool) => (
                    <Badge key={pool} variant="outline" size="sm">
                      {pool}
                    </Badge>
                  ))}
                </Group>
              </Table.Td>
              <Table.Td>
                <Badge color={statusColor[robot.status]} variant="light" data-testid="robot-status">
                  {robot.status}
                </Badge>
              </Table.Td>
              <Table.Td>{robot.kind === 'runner' ? when(robot.last_heartbeat_at) : '—'}</Table.Td>
              <Table.Td>
                <RobotActions robot={robot} onEdit={edit} onKey={issueKey} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {robots.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          {Object.keys(filters).some((k) => filters[k as keyof RobotFilters])
            ? 'No robot matches these filters.'
            : 'No robot yet. Create one for processes to run as.'}
        </Text>
      )}
      <Pager pages={pages} nextCursor={robots.data?.next_cursor} />
      <RobotModal opened={creating} onClose={createModal.close} />
      {/* The robot edited stays set while the modal closes, so its form does not flash empty. */}
      <RobotModal opened={editOpened} robot={editing ?? undefined} onClose={editModal.close} />
      <MachineKeyModal robot={keyFor} opened={keyOpened} onClose={keyModal.close} />
    </Stack>
  );
}
