import {
  Alert,
  Anchor,
  Button,
  Card,
  Code,
  Group,
  Loader,
  SimpleGrid,
  Stack,
  Text,
  Title,
} from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import type { ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { usePermission } from '../auth/session';
import { JobOutput } from '../execution/JobOutput';
import { JobStatus } from '../execution/JobStatus';
import { FINISHED } from '../execution/queries';
import { confirmDestructive, notifyFailure } from '../../shell/confirm';
import { ReassignModal, SetStatusModal } from './ProcessJobModals';
import { RobotOf } from './ProcessJobsPage';
import {
  durationOf,
  useCancelProcessJob,
  useProcessJob,
  useProcessJobUpdates,
  useRobotNames,
  type ProcessJob,
} from './queries';

function Fact({ label, value }: { label: string; value: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm" component="div">
        {value ?? '—'}
      </Text>
    </div>
  );
}

const timeOf = (iso: string | null) => iso && new Date(iso).toLocaleString();

function JsonBlock({ title, value, testId }: { title: string; value: unknown; testId: string }) {
  return (
    <Stack gap={4}>
      <Text fw={500}>{title}</Text>
      {value === null || value === undefined ? (
        <Text size="sm" c="dimmed" data-testid={testId}>
          None
        </Text>
      ) : (
        <Code block data-testid={testId}>
          {JSON.stringify(value, null, 2)}
        </Code>
      )}
    </Stack>
  );
}

/** Cancel, reassign (while waiting) and set the status by hand, each for those allowed to. */
function Actions({ job }: { job: ProcessJob }) {
  const canExecute = usePermission('process_jobs:execute');
  const canUpdate = usePermission('process_jobs:update');
  const [reassigning, reassignModal] = useDisclosure();
  const [settling, settleModal] = useDisclosure();
  const cancel = useCancelProcessJob(job.id);
  if (FINISHED.has(job.status)) return null;
  const confirmCancel = () =>
    confirmDestructive({
      title: 'Cancel this job?',
      body: 'A waiting job ends at once; a running one is asked to stop.',
      confirm: 'Cancel job',
      keep: 'Keep it',
      run: () => cancel.mutateAsync().catch(notifyFailure('Cancel failed')),
    });
  return (
    <Group>
      {canUpdate && job.status === 'queued' && (
        <Button variant="default" onClick={reassignModal.open}>
          Reassign
        </Button>
      )}
      {canUpdate && (
        <Button variant="default" onClick={settleModal.open}>
          Set status
        </Button>
      )}
      {canExecute && (
        <Button
          color="red"
          variant="light"
          onClick={confirmCancel}
          loading={cancel.isPending}
          disabled={job.cancel_requested_at !== null}
        >
          {job.cancel_requested_at ? 'Cancel requested' : 'Cancel'}
        </Button>
      )}
      <ReassignModal job={job} opened={reassigning} onClose={reassignModal.close} />
      <SetStatusModal job={job} opened={settling} onClose={settleModal.close} />
    </Group>
  );
}

/**
 * The job's output, live while it runs; a job that no robot started yet (or never will) has none,
 * and says so rather than show an empty terminal.
 */
function OutputOf({ job }: { job: ProcessJob }) {
  if (job.started_at !== null || job.status === 'running') return <JobOutput jobId={job.id} />;
  return (
    <Text size="sm" c="dimmed" data-testid="no-output">
      {FINISHED.has(job.status)
        ? 'None: the job ended before a robot started it.'
        : 'None yet: it shows here, live, once a robot starts the job.'}
    </Text>
  );
}

/** One process job: what it ran, who runs it, its state, its result and its live output. */
export function ProcessJobDetailPage() {
  const { id = '' } = useParams();
  const job = useProcessJob(id);
  const robotNames = useRobotNames();
  useProcessJobUpdates();

  if (job.isPending) return <Loader />;
  if (job.error) return <Alert color="red">{job.error.message}</Alert>;
  const data = job.data;

  return (
    <Stack>
      <Group justify="space-between">
        <Stack gap={0}>
          <Text size="sm" c="dimmed">
            Process job
          </Text>
          <Group>
            <Title order={2}>{data.process_name}</Title>
            <JobStatus status={data.status} />
          </Group>
        </Stack>
        <Actions job={data} />
      </Group>
      <Card withBorder>
        <SimpleGrid cols={{ base: 2, md: 4 }}>
          <Fact
            label="Process"
            value={
              <Anchor component={Link} to={`/processes/${data.process_id}`}>
                {data.process_name} v{data.process_version}
              </Anchor>
            }
          />
          <Fact label="Package" value={`${data.package_name} ${data.package_version}`} />
          <Fact label="Entry point" value={data.entry_point} />
          <Fact label="Robot" value={<RobotOf job={data} names={robotNames} />} />
          <Fact label="Created" value={timeOf(data.created_at)} />
          <Fact label="Dispatched" value={timeOf(data.dispatched_at)} />
          <Fact label="Started" value={timeOf(data.started_at)} />
          <Fact label="Finished" value={timeOf(data.finished_at)} />
          <Fact label="Duration" value={durationOf(data)} />
          <Fact label="Exit code" value={data.exit_code} />
          <Fact label="Attempt" value={`${data.attempt} of ${data.max_attempts}`} />
          <Fact label="Timeout" value={`${data.timeout_seconds} s`} />
        </SimpleGrid>
      </Card>
      {data.error && (
        <Alert color="red" title="Error" data-testid="process-job-error">
          {data.error}
        </Alert>
      )}
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <JsonBlock title="Input" value={data.input} testId="process-job-input" />
        <JsonBlock title="Result" value={data.result} testId="process-job-result" />
      </SimpleGrid>
      <Text fw={500}>Output</Text>
      <OutputOf job={data} />
    </Stack>
  );
}
