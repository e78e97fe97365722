import { Button, Group, Modal, Select, Stack, Text } from '@mantine/core';
import { modals } from '@mantine/modals';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import { useGroups, type Agent } from './queries';

/** Above this many agents the move is confirmed first: it is one request per agent. */
const CONFIRM_ABOVE = 10;
/** Requests in flight at once, so a big selection does not flood the server. */
const CONCURRENCY = 8;
/** The choice that takes the agents out of any group. */
const NO_GROUP = 'none';

type Outcome = { moved: number; failures: string[] };

/** Runs `work` over `items`, at most CONCURRENCY at a time; counts the successes, keeps each failure's message. */
async function eachLimited<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<Outcome> {
  const outcome: Outcome = { moved: 0, failures: [] };
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
        outcome.moved += 1;
      } catch (error) {
        outcome.failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
  return outcome;
}

/** Moves each selected agent into the group picked (or out of any group), then says how it went. */
export function MoveToGroupModal(props: {
  agents: Agent[];
  opened: boolean;
  onClose: () => void;
  onMoved: () => void;
}) {
  const groups = useGroups();
  const [target, setTarget] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const options = [
    { value: NO_GROUP, label: 'No group' },
    ...(groups.data?.items ?? []).map((group) => ({ value: group.id, label: group.name })),
  ];
  const targetName = options.find((option) => option.value === target)?.label ?? '';

  const move = useMutation({
    mutationFn: (groupId: string | null) =>
      eachLimited(props.agents, (agent) =>
        api((c) =>
          c.PATCH('/api/v1/agents/{id}', { params: { path: { id: agent.id } }, body: { group_id: groupId } }),
        ),
      ),
    onSuccess: ({ moved, failures }) => {
      const where = target === NO_GROUP ? 'out of their group' : `to ${targetName}`;
      notifications.show(
        failures.length === 0
          ? { color: 'green', message: `${moved} agent(s) moved ${where}` }
          : {
              color: failures.length === props.agents.length ? 'red' : 'yellow',
              title: `${moved} agent(s) moved ${where}, ${failures.length} failed`,
              message: [...new Set(failures)].join('; '),
            },
      );
      void queryClient.invalidateQueries({ queryKey: ['agents'] });
      void queryClient.invalidateQueries({ queryKey: ['agent-groups'] });
      setTarget(null);
      props.onMoved();
    },
  });

  const submit = () => {
    if (!target) return;
    const groupId = target === NO_GROUP ? null : target;
    if (props.agents.length <= CONFIRM_ABOVE) return move.mutate(groupId);
    modals.openConfirmModal({
      title: `Move ${props.agents.length} agents?`,
      children: (
        <Text size="sm">
          Each of the {props.agents.length} agents is moved{' '}
          {target === NO_GROUP ? 'out of its group' : `to ${targetName}`}, leaving the group it is in.
        </Text>
      ),
      labels: { confirm: 'Move', cancel: 'Keep' },
      onConfirm: () => move.mutate(groupId),
    });
  };

  return (
    <Modal
      opened={props.opened}
      onClose={props.onClose}
      title={`Move ${props.agents.length} agent(s) to a group`}
    >
      <Stack>
        <Select
          label="Group"
          placeholder={groups.isPending ? 'Loading groups…' : 'Pick a group'}
          data={options}
          value={target}
          onChange={setTarget}
          searchable
          data-autofocus
        />
        {groups.error && <Text c="red">{groups.error.message}</Text>}
        <Group justify="flex-end">
          <Button onClick={submit} loading={move.isPending} disabled={!target || props.agents.length === 0}>
            Move
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
