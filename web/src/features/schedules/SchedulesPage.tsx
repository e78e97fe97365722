import { Alert, Badge, Button, Code, Group, Stack, Switch, Table, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { Link } from 'react-router';
import { useGroups } from '../agents/queries';
import { usePermission } from '../auth/session';
import { Pager, useCursorPages } from '../../shell/paging';
import { ScheduleModal } from './ScheduleModal';
import { useDeleteSchedule, useSchedules, useSetScheduleEnabled, type Schedule } from './queries';
import { confirmDestructive, notifyFailure } from '../../shell/confirm';
import { previewTiming } from './timing';

function when(value: string | null, otherwise: string): string {
  return value ? new Date(value).toLocaleString() : otherwise;
}

/** The timing in words, with the cron expression and its zone as written. */
function Timing(props: { schedule: Schedule }) {
  const { cron, timezone, interval_seconds } = props.schedule;
  const preview = previewTiming(
    cron ? { cron, timezone: timezone ?? 'UTC' } : { intervalSeconds: interval_seconds ?? 0 },
    0,
  );
  return (
    <Stack gap={2}>
      <Text size="sm">{'words' in preview ? preview.words : preview.error}</Text>
      {cron && (
        <Code>
          {cron} ({timezone ?? 'UTC'})
        </Code>
      )}
    </Stack>
  );
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

/** Schedules a page at a time, each timing in words; created and edited with a live preview. */
export function SchedulesPage() {
  const pages = useCursorPages();
  const schedules = useSchedules(pages.cursor);
  const groups = useGroups();
  const [creating, createModal] = useDisclosure();
  const [editing, setEditing] = useState<Schedule | null>(null);
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
      run: () => remove.mutateAsync(schedule.id),
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
                <Timing schedule={schedule} />
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
                <Group justify="flex-end" wrap="nowrap">
                  {canUpdate && (
                    <Button size="xs" variant="light" onClick={() => setEditing(schedule)}>
                      Edit
                    </Button>
                  )}
                  {canDelete && (
                    <Button size="xs" color="red" variant="light" onClick={() => confirmDelete(schedule)}>
                      Delete
                    </Button>
                  )}
                </Group>
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
      <ScheduleModal opened={creating} onClose={createModal.close} />
      {editing && (
        <ScheduleModal key={editing.id} opened schedule={editing} onClose={() => setEditing(null)} />
      )}
    </Stack>
  );
}
