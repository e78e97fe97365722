import { Button, Group, Modal, Stack, Text } from '@mantine/core';
import { useState } from 'react';
import { CodeTextarea } from '../../shell/CodeTextarea';
import { RefusalAlert } from '../../shell/refusal';
import { bulkItemOf, useReplaceTasks, type ProfileKind, type Task, type TaskBulkItem } from './queries';

function parsed(text: string): { tasks?: TaskBulkItem[]; problem?: string } {
  try {
    const value: unknown = JSON.parse(text);
    if (!Array.isArray(value)) return { problem: 'a JSON array of tasks' };
    return { tasks: value as TaskBulkItem[] };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : 'not valid JSON' };
  }
}

/**
 * Every task at once, as JSON: saved in one request that replaces them all, so a bad task
 * anywhere changes nothing (the server names it: `tasks.1.content`). Each task carries its `id`,
 * so a secret left masked keeps its value; a masked secret moved to a task without one is refused.
 */
export function BulkEditModal(props: {
  kind: ProfileKind;
  profileId: string;
  tasks: Task[];
  opened: boolean;
  onClose: () => void;
}) {
  const [text, setText] = useState(() => JSON.stringify(props.tasks.map(bulkItemOf), null, 2));
  const replace = useReplaceTasks(props.kind, props.profileId);
  const { problem, tasks } = parsed(text);

  const close = () => {
    props.onClose();
    replace.reset();
  };
  return (
    <Modal opened={props.opened} onClose={close} title="Bulk edit tasks" size="xl">
      <Stack>
        <Text size="sm" c="dimmed">
          The tasks in order, as the API takes them. Add, remove, reorder or change any; saving replaces them
          all.
        </Text>
        <RefusalAlert error={replace.error} />
        <CodeTextarea
          label="Tasks (JSON)"
          minRows={12}
          maxRows={30}
          value={text}
          onChange={(e) => setText(e.currentTarget.value)}
          error={problem}
        />
        <Group justify="flex-end">
          <Button
            onClick={() => tasks && replace.mutate(tasks, { onSuccess: close })}
            loading={replace.isPending}
            disabled={!tasks}
          >
            Save all tasks
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
