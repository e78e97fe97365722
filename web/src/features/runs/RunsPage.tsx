import { Alert, Anchor, Group, Select, Stack, Table, Text, Title } from '@mantine/core';
import { Link, useSearchParams } from 'react-router';
import { Pager, useCursorPages } from '../../shell/paging';
import { RUN_STATES, useRunProgress, useRuns, type RunState } from './queries';
import { RunProgress } from './RunProgress';
import { RunStatus } from './RunStatus';

/** The status filter lives in the URL: a filtered view can be linked and survives reload. */
function useStatusFilter(): [RunState | undefined, (value: string | null) => void] {
  const [params, setParams] = useSearchParams();
  const status = RUN_STATES.find((state) => state === params.get('status'));
  const set = (value: string | null) => setParams(value ? { status: value } : {}, { replace: true });
  return [status, set];
}

/** Every run of the organisation, newest first, a page at a time, with live progress. */
export function RunsPage() {
  const [status, setStatus] = useStatusFilter();
  const pages = useCursorPages(status ?? '');
  const runs = useRuns(status, pages.cursor);
  useRunProgress();
  const items = runs.data?.items ?? [];

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Runs</Title>
        <Select
          aria-label="Status"
          placeholder="Any status"
          data={RUN_STATES}
          value={status ?? null}
          onChange={setStatus}
          clearable
          w={180}
        />
      </Group>
      {runs.error && <Alert color="red">{runs.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th w="35%">Progress</Table.Th>
            <Table.Th>Source</Table.Th>
            <Table.Th>Created</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((run) => (
            <Table.Tr key={run.id} data-testid="run-row">
              <Table.Td>
                <Anchor component={Link} to={`/runs/${run.id}`}>
                  {run.name}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <RunStatus status={run.status} />
              </Table.Td>
              <Table.Td>
                <RunProgress counts={run.counts} size="sm" />
              </Table.Td>
              <Table.Td>{run.source}</Table.Td>
              <Table.Td>{new Date(run.created_at).toLocaleString()}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {runs.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          {status ? `No run is ${status}.` : 'No run yet. Select agents on the agents page to run a command.'}
        </Text>
      )}
      <Pager pages={pages} nextCursor={runs.data?.next_cursor} />
    </Stack>
  );
}
