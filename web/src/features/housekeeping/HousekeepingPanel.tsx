import { Alert, Badge, Button, Group, Paper, Stack, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { Pager, useCursorPages } from '../../shell/paging';
import { RefusalAlert } from '../../shell/refusal';
import { usePermission } from '../auth/session';
import { useHousekeeping, useRunHousekeeping, type HousekeepingRun } from './queries';

const statusColor = { running: 'blue', succeeded: 'green', failed: 'red' } as const;

/** "12 sessions, 3 audit events": what a run deleted, the kinds that had something. */
function deleted(counts: HousekeepingRun['counts']): string {
  // the counts are the whole instance's: the server shows them to the primary organisation only
  if (counts === null) return '—';
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind.replaceAll('_', ' ')}`);
  return parts.length > 0 ? parts.join(', ') : 'nothing to delete';
}

function RunRow({ run }: { run: HousekeepingRun }) {
  return (
    <Table.Tr data-testid="housekeeping-run">
      <Table.Td>{new Date(run.started_at).toLocaleString()}</Table.Td>
      <Table.Td>{run.trigger === 'manual' ? 'Run now' : 'Scheduled'}</Table.Td>
      <Table.Td>
        <Badge color={statusColor[run.status]} variant="light">
          {run.status}
        </Badge>
      </Table.Td>
      <Table.Td>
        <Text size="sm">{deleted(run.counts)}</Text>
        {run.error && (
          <Text size="sm" c="red">
            {run.error}
          </Text>
        )}
      </Table.Td>
    </Table.Tr>
  );
}

/**
 * The instance's housekeeping: its last runs, when the next is due and, for the primary
 * organisation, what each run deleted and "Run now" for those who may change settings.
 */
export function HousekeepingPanel() {
  const pages = useCursorPages();
  const overview = useHousekeeping(pages.cursor);
  const run = useRunHousekeeping();
  const mayUpdate = usePermission('settings:update');
  const data = overview.data;
  const canRun = mayUpdate && data?.instance === true;
  const runNow = () =>
    run.mutate(undefined, {
      onSuccess: (done) =>
        notifications.show({ color: 'green', message: `Housekeeping done: ${deleted(done.counts)}` }),
    });
  return (
    <Paper withBorder p="md" data-testid="housekeeping">
      <Stack>
        <Group justify="space-between">
          <Title order={3}>Housekeeping</Title>
          {canRun && (
            <Button onClick={runNow} loading={run.isPending} disabled={data?.running}>
              Run now
            </Button>
          )}
        </Group>
        <Text size="sm" c="dimmed">
          Deletes expired sessions, tokens, unaccepted invites and spent enrollment tokens, and audit events
          and job output past their retention (logging and jobs settings).
        </Text>
        {overview.error && <Alert color="red">{overview.error.message}</Alert>}
        <RefusalAlert error={run.error} />
        {data && (
          <>
            <Text size="sm" data-testid="housekeeping-next">
              {data.running
                ? 'A run is under way.'
                : `Next run: ${new Date(data.next_due_at).toLocaleString()} (every ${Math.round(data.interval_seconds / 60)} minutes)`}
            </Text>
            {data.items.length === 0 ? (
              <Text size="sm">No run yet.</Text>
            ) : (
              <Table striped>
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Started</Table.Th>
                    <Table.Th>Trigger</Table.Th>
                    <Table.Th>Status</Table.Th>
                    <Table.Th>Deleted</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {data.items.map((item) => (
                    <RunRow key={item.id} run={item} />
                  ))}
                </Table.Tbody>
              </Table>
            )}
            <Pager pages={pages} nextCursor={data.next_cursor} />
          </>
        )}
      </Stack>
    </Paper>
  );
}
