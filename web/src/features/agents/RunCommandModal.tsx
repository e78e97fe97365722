import { Button, Group, Modal, Select, Stack, Textarea } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api } from '../../api/client';
import type { Interpreter } from '../execution/queries';
import { notifyFailure } from '../../shell/confirm';

const interpreters: Interpreter[] = ['sh', 'bash', 'powershell', 'pwsh', 'cmd', 'python'];

/** Runs one command on the selected agents as a run (POST /api/v1/runs with their ids), then shows the run. */
export function RunCommandModal(props: { agentIds: string[]; opened: boolean; onClose: () => void }) {
  const [interpreter, setInterpreter] = useState<Interpreter>('sh');
  const [command, setCommand] = useState('');
  const navigate = useNavigate();
  const run = useMutation({
    mutationFn: () =>
      api((c) =>
        c.POST('/api/v1/runs', {
          body: { target: { agent_ids: props.agentIds }, job: { interpreter, command } },
        }),
      ),
    onSuccess: (created) => {
      props.onClose();
      void navigate(`/runs/${created.id}`);
    },
    onError: notifyFailure('Run refused'),
  });
  return (
    <Modal
      opened={props.opened}
      onClose={props.onClose}
      title={`Run a command on ${props.agentIds.length} agent(s)`}
    >
      <Stack>
        <Select
          label="Interpreter"
          data={interpreters}
          value={interpreter}
          onChange={(value) => value && setInterpreter(value)}
          allowDeselect={false}
        />
        <Textarea
          label="Command"
          autosize
          minRows={3}
          value={command}
          onChange={(e) => setCommand(e.currentTarget.value)}
        />
        <Group justify="flex-end">
          <Button onClick={() => run.mutate()} loading={run.isPending} disabled={!command.trim()}>
            Run
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
