import { Alert, Anchor, Group, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { Link } from 'react-router';
import { JobStatus } from '../execution/JobStatus';
import { Pager, useCursorPages } from '../../shell/paging';
import { JOB_STATES, useRunJobs, type JobState } from './queries';

/**
 * A run's jobs, one per agent (per agent and command or task, when it has several), filtered by
 * status; each links to its job page for the output.
 */
export function RunJobsTable({ runId }: { runId: string }) {
  const [status, setStatus] = useState<JobState | undefined>();
  const pages = useCursorPages(status ?? '');
  const jobs = useRunJobs(runId, status, pages.cursor);
  const items = jobs.data?.items ?? [];
  // a run of several commands or a profile's tasks: each job says which
  const tasked = items.some((job) => job.task_name !== null);

  return (
    <Stack>
      <Group justify="space-between">
        <Title order={4}>Jobs</Title>
        <Select
          aria-label="Job status"
          placeholder="Any status"
          data={JOB_STATES}
          value={status ?? null}
          onChange={(value) => setStatus(JOB_STATES.find((state) => state === value))}
          clearable
          w={180}
        />
      </Group>
      {jobs.error && <Alert color="red">{jobs.error.message}</Alert>}
      <Table striped>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Agent</Table.Th>
            {tasked && <Table.Th>Command</Table.Th>}
            <Table.Th>Status</Table.Th>
            <Table.Th>Exit code</Table.Th>
            <Table.Th>Duration</Table.Th>
            <Table.Th>Error</Table.Th>
            <Table.Th>Output</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {items.map((job) => (
            <Table.Tr key={job.id} data-testid="run-job-row">
              <Table.Td>
                {job.agent_id ? (
                  <Anchor component={Link} to={`/agents/${job.agent_id}`} size="sm">
                    {job.agent_name ?? job.agent_id}
                  </Anchor>
                ) : (
                  <Text size="sm" c="dimmed">
                    waiting for an agent of the pool
                  </Text>
                )}
              </Table.Td>
              {tasked && (
                <Table.Td>
                  <Text size="sm" ff="monospace" data-testid="run-job-command">
                    {job.task_index === null ? '—' : `${job.task_index + 1}. ${job.task_name ?? ''}`}
                  </Text>
                </Table.Td>
              )}
              <Table.Td>
                <JobStatus status={job.status} />
              </Table.Td>
              <Table.Td>{job.exit_code ?? '—'}</Table.Td>
              <Table.Td>{job.duration_ms === null ? '—' : `${job.duration_ms} ms`}</Table.Td>
              <Table.Td>{job.error ?? '—'}</Table.Td>
              <Table.Td>
                <Anchor component={Link} to={`/jobs/${job.id}`}>
                  Output
                </Anchor>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {jobs.isSuccess && items.length === 0 && (
        <Text c="dimmed" ta="center">
          {status ? `No job is ${status.replace('_', ' ')}.` : 'This run has no job.'}
        </Text>
      )}
      <Pager pages={pages} nextCursor={jobs.data?.next_cursor} />
    </Stack>
  );
}
