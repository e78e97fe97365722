import { Alert, Anchor, Badge, Button, Group, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { Link, useSearchParams } from 'react-router';
import { usePermission } from '../auth/session';
import { JobStatus } from '../execution/JobStatus';
import { Pager, useCursorPages } from '../../shell/paging';
import {
  durationOf,
  PROCESS_JOB_STATES,
  useProcessChoices,
  useProcessJobs,
  useProcessJobUpdates,
  useRobotNames,
  useRobots,
  type ProcessJob,
  type ProcessJobFilters,
} from './queries';
import { StartProcessModal } from './StartProcessModal';

type FilterName = keyof ProcessJobFilters;

/** The filters live in the URL: a filtered view can be linked and survives reload. */
function useFilters(): [ProcessJobFilters, (name: FilterName, value: string | null) => void] {
  const [params, setParams] = useSearchParams();
  const filters: ProcessJobFilters = {
    status: PROCESS_JOB_STATES.find((state) => state === params.get('status')),
    process_id: params.get('process_id') || undefined,
    robot_id: params.get('robot_id') || undefined,
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

/** Who runs it: the robot by name, or the pool (or any robot) while no robot took it yet. */
export function RobotOf({ job, names }: { job: ProcessJob; names: Map<string, string> }) {
  if (job.robot_id) return <Text size="sm">{names.get(job.robot_id) ?? job.robot_id}</Text>;
  return <Text size="sm">{job.robot_pool ? `pool ${job.robot_pool}` : 'any robot'}</Text>;
}

function Filters(props: {
  filters: ProcessJobFilters;
  set: (name: FilterName, value: string | null) => void;
}) {
  const processes = useProcessChoices();
  const robots = useRobots();
  const { filters, set } = props;
  return (
    <Group>
      <Select
        aria-label="Status"
        placeholder="Any status"
        data={PROCESS_JOB_STATES}
        value={filters.status ?? null}
        onChange={(value) => set('status', value)}
        clearable
        w={160}
      />
      <Select
        aria-label="Process"
        placeholder="Any process"
        data={(processes.data?.items ?? []).map((process) => ({ value: process.id, label: process.name }))}
        value={filters.process_id ?? null}
        onChange={(value) => set('process_id', value)}
        clearable
        searchable
        w={220}
      />
      <Select
        aria-label="Robot"
        placeholder="Any robot"
        data={(robots.data?.items ?? []).map((robot) => ({ value: robot.id, label: robot.name }))}
        value={filters.robot_id ?? null}
        onChange={(value) => set('robot_id', value)}
        clearable
        searchable
        w={200}
      />
    </Group>
  );
}

/** Process jobs of the organisation, newest first, a page at a time, live from the events socket. */
export function ProcessJobsPage() {
  const [filters, setFilter] = useFilters();
  const pages = useCursorPages(JSON.stringify(filters));
  const jobs = useProcessJobs(filters, pages.cursor);
  const robotNames = useRobotNames();
  const canStart = usePermission('process_jobs:execute');
  const [starting, startModal] = useDisclosure();
  useProcessJobUpdates();
  const items = jobs.data?.items ?? [];
  const filtered = Object.values(filters).some(Boolean);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={2}>Process jobs</Title>
        {canStart && <Button onClick={startModal.open}>Start process</Button>}
      </Group>
      <Filters filters={filters} set={setFilter} />
      {jobs.error && <Alert color="red">{jobs.error.message}</Alert>}
      <Table striped highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Process</Table.Th>
            <Table.Th>Package</Table.Th>
            <Table.Th>Robot</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th>Duration</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((job) => (
            <Table.Tr key={job.id} data-testid="process-job-row">
              <Table.Td>
                <Anchor component={Link} to={`/process-jobs/${job.id}`}>
                  {job.process_name}
                </Anchor>{' '}
                <Text span size="xs" c="dimmed">
                  v{job.process_version}
                </Text>
              </Table.Td>
              <Table.Td>
                {job.package_name} <Badge variant="light">{job.package_version}</Badge>
              </Table.Td>
              <Table.Td>
                <RobotOf job={job} names={robotNames} />
              </Table.Td>
              <Table.Td>
                <JobStatus status={job.status} />
              </Table.Td>
              <Table.Td>{new Date(job.created_at).toLocaleString()}</Table.Td>
              <Table.Td>{durationOf(job) ?? '—'}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {jobs.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          {filtered
            ? 'No process job matches these filters.'
            : 'No process job yet. Start a process to run it on a robot.'}
        </Text>
      )}
      <Pager pages={pages} nextCursor={jobs.data?.next_cursor} />
      <StartProcessModal opened={starting} onClose={startModal.close} />
    </Stack>
  );
}
