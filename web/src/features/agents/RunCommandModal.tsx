import { ActionIcon, Button, Group, Modal, Select, Stack, Text, TextInput, Textarea } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api } from '../../api/client';
import type { Interpreter } from '../execution/queries';
import { notifyFailure } from '../../shell/confirm';

const interpreters: Interpreter[] = ['sh', 'bash', 'powershell', 'pwsh', 'cmd', 'python'];
/** The server's bound on a run's commands (RunCreateBody.commands). */
const MAX_COMMANDS = 20;

interface CommandDraft {
  key: number;
  name: string;
  interpreter: Interpreter;
  command: string;
}

let nextKey = 0;
const blankCommand = (interpreter: Interpreter = 'sh'): CommandDraft => ({
  key: nextKey++,
  name: '',
  interpreter,
  command: '',
});

/**
 * Runs one command, or several at once, on the selected agents as one run (POST /api/v1/runs:
 * `job` for one, `commands` for several), then shows the run.
 */
export function RunCommandModal(props: { agentIds: string[]; opened: boolean; onClose: () => void }) {
  const [drafts, setDrafts] = useState<CommandDraft[]>(() => [blankCommand()]);
  const navigate = useNavigate();
  const change = (key: number, patch: Partial<CommandDraft>) =>
    setDrafts((current) => current.map((draft) => (draft.key === key ? { ...draft, ...patch } : draft)));
  const run = useMutation({
    mutationFn: () => {
      const target = { agent_ids: props.agentIds };
      const [only] = drafts;
      const body =
        drafts.length === 1 && only
          ? { target, job: { interpreter: only.interpreter, command: only.command } }
          : {
              target,
              commands: drafts.map(({ name, interpreter, command }) => ({
                interpreter,
                command,
                ...(name.trim() ? { name: name.trim() } : {}),
              })),
            };
      return api((c) => c.POST('/api/v1/runs', { body }));
    },
    onSuccess: (created) => {
      props.onClose();
      void navigate(`/runs/${created.id}`);
    },
    onError: notifyFailure('Run refused'),
  });
  const several = drafts.length > 1;
  return (
    <Modal
      opened={props.opened}
      onClose={props.onClose}
      size="lg"
      title={`Run ${several ? `${drafts.length} commands at once` : 'a command'} on ${props.agentIds.length} agent(s)`}
    >
      <Stack>
        {drafts.map((draft, index) => (
          <Stack key={draft.key} gap="xs" data-testid="run-command-draft">
            <Group align="flex-end">
              <Select
                label={several ? `Interpreter ${index + 1}` : 'Interpreter'}
                data={interpreters}
                value={draft.interpreter}
                onChange={(value) => value && change(draft.key, { interpreter: value })}
                allowDeselect={false}
                w={140}
              />
              {several && (
                <TextInput
                  label={`Name ${index + 1}`}
                  placeholder="Shown on its jobs"
                  style={{ flex: 1 }}
                  value={draft.name}
                  onChange={(e) => change(draft.key, { name: e.currentTarget.value })}
                />
              )}
              {several && (
                <ActionIcon
                  variant="subtle"
                  color="red"
                  aria-label={`Remove command ${index + 1}`}
                  onClick={() => setDrafts((current) => current.filter((d) => d.key !== draft.key))}
                >
                  ×
                </ActionIcon>
              )}
            </Group>
            <Textarea
              label={several ? `Command ${index + 1}` : 'Command'}
              autosize
              minRows={several ? 1 : 3}
              ff="monospace"
              value={draft.command}
              onChange={(e) => change(draft.key, { command: e.currentTarget.value })}
            />
          </Stack>
        ))}
        {several && (
          <Text size="sm" c="dimmed">
            Each command runs as its own job on every agent, all at the same time (up to the run&apos;s
            concurrency and each agent&apos;s --max-jobs).
          </Text>
        )}
        <Group justify="space-between">
          <Button
            variant="default"
            disabled={drafts.length >= MAX_COMMANDS}
            onClick={() => setDrafts((current) => [...current, blankCommand(current.at(-1)?.interpreter)])}
          >
            Add a command
          </Button>
          <Button
            onClick={() => run.mutate()}
            loading={run.isPending}
            disabled={drafts.some((draft) => !draft.command.trim())}
          >
            Run
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
