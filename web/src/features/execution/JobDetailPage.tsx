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
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link, useParams } from 'react-router';
import { api } from '../../api/client';
import { usePermission } from '../auth/session';
import { JobOutput } from './JobOutput';
import { JobStatus } from './JobStatus';
import { FINISHED, useJob, useJobStateUpdates } from './queries';
import { confirmDestructive, notifyFailure } from '../../shell/confirm';

function Fact({ label, value }: { label: string; value: ReactNode }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm">{value ?? '—'}</Text>
    </div>
  );
}

export function JobDetailPage() {
  const { id = '' } = useParams();
  const job = useJob(id);
  const canCancel = usePermission('jobs:execute');
  const queryClient = useQueryClient();
  useJobStateUpdates();
  const cancel = useMutation({
    mutationFn: () => api((c) => c.POST('/api/v1/jobs/{id}/cancel', { params: { path: { id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['jobs', 'detail', id] }),
    onError: notifyFailure('Cancel failed'),
  });

  if (job.isPending) return <Loader />;
  if (job.error) return <Alert color="red">{job.error.message}</Alert>;
  const data = job.data;
  const confirmCancel = () =>
    confirmDestructive({
      title: 'Cancel this job?',
      body: 'The agent stops the command if it is running.',
      confirm: 'Cancel job',
      keep: 'Keep running',
      run: () => cancel.mutate(),
    });

  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Title order={2}>Job</Title>
          <JobStatus status={data.status} />
        </Group>
        {canCancel && !FINISHED.has(data.status) && (
          <Button color="red" variant="light" onClick={confirmCancel} loading={cancel.isPending}>
            Cancel
          </Button>
        )}
      </Group>
      <Card withBorder>
        <SimpleGrid cols={{ base: 2, md: 4 }}>
          <Fact
            label="Agent"
            value={
              data.agent_id && (
                <Anchor component={Link} to={`/agents/${data.agent_id}`}>
                  {data.agent_name ?? data.agent_id}
                </Anchor>
              )
            }
          />
          <Fact label="Interpreter" value={data.interpreter} />
          <Fact label="Exit code" value={data.exit_code} />
          <Fact label="Duration" value={data.duration_ms === null ? null : `${data.duration_ms} ms`} />
          <Fact label="Created" value={new Date(data.created_at).toLocaleString()} />
          <Fact label="Finished" value={data.finished_at && new Date(data.finished_at).toLocaleString()} />
          <Fact label="Attempt" value={`${data.attempt} of ${data.max_attempts}`} />
          <Fact label="Error" value={data.error} />
        </SimpleGrid>
      </Card>
      <Code block>{data.command}</Code>
      <JobOutput jobId={id} />
    </Stack>
  );
}
