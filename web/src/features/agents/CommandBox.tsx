import { Button, Group, Select, Stack, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { JobOutput } from '../execution/JobOutput';
import { JobStatus } from '../execution/JobStatus';
import { useJob, useJobStateUpdates, type Interpreter } from '../execution/queries';
import type { Agent } from './queries';

/** Runs a command on this agent and shows its output as it streams. */
export function CommandBox({ agent }: { agent: Agent }) {
  const choices = agent.interpreters.length > 0 ? agent.interpreters : ['sh'];
  const [interpreter, setInterpreter] = useState(choices.includes('sh') ? 'sh' : (choices[0] ?? 'sh'));
  const [command, setCommand] = useState('');
  const run = useMutation({
    mutationFn: () =>
      api((c) =>
        c.POST('/api/v1/agents/{id}/jobs', {
          params: { path: { id: agent.id } },
          body: { interpreter: interpreter as Interpreter, command },
        }),
      ),
  });
  const jobId = run.data && 'id' in run.data ? run.data.id : undefined;
  const job = useJob(jobId);
  useJobStateUpdates();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (command.trim()) run.mutate();
  };
  return (
    <Stack>
      <form onSubmit={submit}>
        <Group align="flex-end">
          <Select
            label="Interpreter"
            data={choices}
            value={interpreter}
            onChange={(value) => value && setInterpreter(value)}
            allowDeselect={false}
            w={140}
          />
          <TextInput
            label="Command"
            style={{ flex: 1 }}
            value={command}
            onChange={(e) => setCommand(e.currentTarget.value)}
            ff="monospace"
          />
          <Button type="submit" loading={run.isPending}>
            Run
          </Button>
        </Group>
      </form>
      {run.error && <TextInput error={run.error.message} readOnly variant="unstyled" />}
      {jobId && (
        <>
          <Group data-testid="command-job">
            {job.data && <JobStatus status={job.data.status} />}
            <Link to={`/jobs/${jobId}`}>Open the job</Link>
          </Group>
          <JobOutput jobId={jobId} />
        </>
      )}
    </Stack>
  );
}
