import { Alert, Button, Card, Group, Loader, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useParams } from 'react-router';
import { api } from '../../api/client';
import { usePermission } from '../auth/session';
import { useRun, useRunProgress } from './queries';
import { RunJobsTable } from './RunJobsTable';
import { RunProgress } from './RunProgress';
import { RunStatus } from './RunStatus';
import { confirmDestructive, notifyFailure } from '../../shell/confirm';

function Fact({ label, value }: { label: string; value: string | number | null }) {
  return (
    <div>
      <Text size="xs" c="dimmed">
        {label}
      </Text>
      <Text size="sm">{value ?? '—'}</Text>
    </div>
  );
}

/** One run: live progress, its jobs by agent, and cancel while it runs. */
export function RunDetailPage() {
  const { id = '' } = useParams();
  const run = useRun(id);
  const canCancel = usePermission('runs:execute');
  const queryClient = useQueryClient();
  useRunProgress();
  const cancel = useMutation({
    mutationFn: () => api((c) => c.POST('/api/v1/runs/{id}/cancel', { params: { path: { id } } })),
    onSuccess: (canceled) => {
      queryClient.setQueryData(['runs', 'detail', id], canceled);
      void queryClient.invalidateQueries({ queryKey: ['runs', 'jobs', id] });
    },
    onError: notifyFailure('Cancel failed'),
  });

  if (run.isPending) return <Loader />;
  if (run.error) return <Alert color="red">{run.error.message}</Alert>;
  const data = run.data;
  const confirmCancel = () =>
    confirmDestructive({
      title: 'Cancel this run?',
      body: 'Jobs not started are canceled; the agents stop the ones that are running.',
      confirm: 'Cancel run',
      keep: 'Keep running',
      run: () => cancel.mutate(),
    });

  return (
    <Stack>
      <Group justify="space-between">
        <Group>
          <Title order={2}>{data.name}</Title>
          <RunStatus status={data.status} />
        </Group>
        {canCancel && data.status === 'running' && (
          <Button color="red" variant="light" onClick={confirmCancel} loading={cancel.isPending}>
            Cancel
          </Button>
        )}
      </Group>
      <Card withBorder>
        <Stack>
          <RunProgress counts={data.counts} />
          <SimpleGrid cols={{ base: 2, md: 4 }}>
            <Fact label="Source" value={data.source} />
            <Fact label="Concurrency" value={data.concurrency} />
            <Fact label="Failure threshold" value={data.failure_threshold} />
            <Fact label="Created" value={new Date(data.created_at).toLocaleString()} />
            <Fact label="Deadline" value={data.deadline_at && new Date(data.deadline_at).toLocaleString()} />
            <Fact label="Finished" value={data.finished_at && new Date(data.finished_at).toLocaleString()} />
          </SimpleGrid>
        </Stack>
      </Card>
      <RunJobsTable runId={id} />
    </Stack>
  );
}
