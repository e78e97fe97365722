import { Alert, Badge, Button, Code, Group, Stack, Switch, Table, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link } from 'react-router';
import { useGroups } from '../agents/queries';
import { usePermission } from '../auth/session';
import { Pager, useCursorPages } from '../../shell/paging';
import { CreateScheduleModal } from './CreateScheduleModal';
import { useDeleteSchedule, useSchedules, useSetScheduleEnabled, type Schedule } from './queries';
import { confirmDestructive, notifyFailure } from '../../shell/confirm';

function when(value: string | null, otherwise: string): string {
  return value ? new Date(value).toLocaleString() : otherwise;
}

function timing(schedule: Schedule): string {
  if (schedule.cron) return `${schedule.cron} (${schedule.timezone ?? 'UTC'})`;
  return `every ${schedule.interval_seconds ?? '?'} s`;
}

function describeTarget(target: Schedule['target'], groupName: Map<string, string>): string {
  const parts: string[] = [];
  if (target.all) parts.push('all agents');
  if (target.tags?.length) parts.push(`tags ${target.tags.join(', ')}`);
  if (target.group_id) parts.push(`group ${groupName.get(target.group_id) ?? target.group_id}`);
  if (target.os_type) parts.push(`OS ${target.os_type}`);
  if (target.agent_ids?.length) parts.push(`${target.agent_ids.length} agents`);
  return parts.join('; ');
}

/**
 * Schedules a page at a time. The API gives one next fire time per schedule (none while disabled);
 * no human-readable cron preview, which would need a new dependency.
 */
export function SchedulesPage() {
  const pages = useCursorPages();
  const schedules = useSchedules(pages.cursor);
  const groups = useGroups();
  const [creating, createModal] = useDisclosure();
  const canCreate = usePermission('schedules:create');
  const canUpdate = usePermission('schedules:update');
  const canDelete = usePermission('schedules:delete');
  const setEnabled = useSetScheduleEnabled();
  const remove = useDeleteSchedule();

  const groupName = new Map((groups.data?.items ?? []).map((group) => [group.id, group.name]));
  const toggle = (schedule: Schedule, enabled: boolean) =>
    setEnabled.mutate(
      { id: schedule.id, enabled },
      {
        onError: notifyFailure('Change failed'),
      },
    );
  const confirmDelete = (schedule: Schedule) =>
    confirmDestructive({
      title: `Delete ${schedule.name}?`,
      body: 'It fires no more; the runs it started stay.',
      confirm: 'Delete',
      run: () =>
        remove.mutate(schedule.id, {
          onError: notifyFailure('Delete failed'),
        }),
    });

  const items = schedules.data?.items ?? [];
  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Schedules</Title>
        {canCreate && <Button onClick={createModal.open}>Create schedule</Button>}
      </Group>
      {schedules.error && <Alert color="red">{schedules.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Enabled</Table.Th>
            <Table.Th>Name</Table.Th>
            <Table.Th>Action</Table.Th>
            <Table.Th>When</Table.Th>
            <Table.Th>Target</Table.Th>
            <Table.Th>Next fire</Table.Th>
            <Table.Th>Last fire</Table.Th>
            <Table.Th />
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((schedule) => (
            <Table.Tr key={schedule.id} data-testid="schedule-row">
              <Table.Td>
                <Switch
                  aria-label={`Enabled ${schedule.name}`}
                  checked={schedule.enabled}
                  disabled={!canUpdate}
                  onChange={(e) => toggle(schedule, e.currentTarget.checked)}
                />
              </Table.Td>
              <Table.Td>{schedule.name}</Table.Td>
              <Table.Td>
                <Badge variant="light">{schedule.action.kind}</Badge>
              </Table.Td>
              <Table.Td>
                <Code>{timing(schedule)}</Code>
              </Table.Td>
              <Table.Td>{describeTarget(schedule.target, groupName)}</Table.Td>
              <Table.Td data-testid="next-fire">{when(schedule.next_fire_at, '—')}</Table.Td>
              <Table.Td>
                {schedule.last_run_id ? (
                  <Link to={`/runs/${schedule.last_run_id}`}>{when(schedule.last_fired_at, 'run')}</Link>
                ) : (
                  when(schedule.last_fired_at, 'never')
                )}
                {schedule.last_error && (
                  <Text size="xs" c="red">
                    {schedule.last_error}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>
                {canDelete && (
                  <Group justify="flex-end" wrap="nowrap">
                    <Button size="xs" color="red" variant="light" onClick={() => confirmDelete(schedule)}>
                      Delete
                    </Button>
                  </Group>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {schedules.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          No schedule yet. Create one to run a script or saved command by cron or interval.
        </Text>
      )}
      <Pager pages={pages} nextCursor={schedules.data?.next_cursor} />
      <CreateScheduleModal opened={creating} onClose={createModal.close} />
    </Stack>
  );
}
