import {
  closestCenter,
  DndContext,
  KeyboardSensor,
  PointerSensor,
  useSensor,
  useSensors,
  type Announcements,
  type DragEndEvent,
} from '@dnd-kit/core';
import {
  arrayMove,
  SortableContext,
  sortableKeyboardCoordinates,
  useSortable,
  verticalListSortingStrategy,
} from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { ActionIcon, Badge, Button, Code, Group, Paper, Stack, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import type { Task } from './queries';

/** What a task does, in one line. */
function summary(task: Task): string {
  switch (task.action) {
    case 'command':
      return `${task.interpreter ?? 'sh'}: ${task.content ?? ''}`;
    case 'script':
      return `script ${task.script_id ?? '?'}`;
    case 'file_copy':
      return `${task.source_url ?? 'content'} → ${task.destination ?? '?'}`;
    case 'reboot':
      return 'reboot the machine';
  }
}

/** What a screen reader hears while a task moves: its name and place, not its id. */
function announcementsFor(tasks: Task[]): Announcements {
  const nameOf = (id: string | number) => tasks.find((task) => task.id === id)?.name ?? 'task';
  const placeOf = (id: string | number) => tasks.findIndex((task) => task.id === id) + 1;
  return {
    onDragStart: ({ active }) => `Picked up ${nameOf(active.id)}, at place ${placeOf(active.id)}.`,
    onDragOver: ({ active, over }) =>
      over
        ? `${nameOf(active.id)} is over place ${placeOf(over.id)}.`
        : `${nameOf(active.id)} is outside the list.`,
    onDragEnd: ({ active, over }) =>
      over ? `${nameOf(active.id)} dropped at place ${placeOf(over.id)}.` : `${nameOf(active.id)} dropped.`,
    onDragCancel: ({ active }) => `Moving ${nameOf(active.id)} canceled.`,
  };
}

function TaskCard({ task, handle, actions }: { task: Task; handle?: ReactNode; actions?: ReactNode }) {
  return (
    <Group wrap="nowrap" align="center">
      {handle}
      <Text c="dimmed" w={24} ta="right">
        {task.position + 1}
      </Text>
      <Stack gap={2} style={{ flex: 1, minWidth: 0 }}>
        <Group gap="xs">
          <Text fw={500} data-testid="task-name">
            {task.name}
          </Text>
          <Badge variant="light">{task.action}</Badge>
          {task.continue_on_error && (
            <Badge variant="outline" color="gray">
              continues on error
            </Badge>
          )}
        </Group>
        <Code style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>{summary(task)}</Code>
      </Stack>
      {actions}
    </Group>
  );
}

function SortableTask({ task, actions }: { task: Task; actions: ReactNode }) {
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, transition, isDragging } =
    useSortable({ id: task.id });
  const handle = (
    <ActionIcon
      ref={setActivatorNodeRef}
      variant="subtle"
      color="gray"
      aria-label={`Move ${task.name}`}
      style={{ cursor: 'grab', touchAction: 'none' }}
      {...attributes}
      {...listeners}
    >
      ⠿
    </ActionIcon>
  );
  return (
    <Paper
      ref={setNodeRef}
      withBorder
      p="sm"
      data-testid="task-row"
      style={{ transform: CSS.Transform.toString(transform), transition, opacity: isDragging ? 0.6 : 1 }}
    >
      <TaskCard task={task} handle={handle} actions={actions} />
    </Paper>
  );
}

/**
 * The tasks in order. With `onReorder`, each row has a handle to drag it (pointer), or to move it
 * with the keyboard (focus, Space, arrows, Space); the new order of every id is handed back.
 */
export function TaskList(props: {
  tasks: Task[];
  onReorder?: (taskIds: string[]) => void;
  onEdit?: (task: Task) => void;
  onDelete?: (task: Task) => void;
}) {
  const sensors = useSensors(
    // a few pixels of movement before a drag, so a click on the handle stays a click
    useSensor(PointerSensor, { activationConstraint: { distance: 4 } }),
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }),
  );
  const { onReorder, onEdit, onDelete } = props;
  const actionsOf = (task: Task) =>
    (onEdit ?? onDelete) && (
      <Group gap="xs" wrap="nowrap">
        {onEdit && (
          <Button size="xs" variant="default" onClick={() => onEdit(task)} aria-label={`Edit ${task.name}`}>
            Edit
          </Button>
        )}
        {onDelete && (
          <Button
            size="xs"
            color="red"
            variant="light"
            onClick={() => onDelete(task)}
            aria-label={`Delete ${task.name}`}
          >
            Delete
          </Button>
        )}
      </Group>
    );

  if (!onReorder)
    return (
      <Stack gap="xs">
        {props.tasks.map((task) => (
          <Paper key={task.id} withBorder p="sm" data-testid="task-row">
            <TaskCard task={task} actions={actionsOf(task)} />
          </Paper>
        ))}
      </Stack>
    );

  const ids = props.tasks.map((task) => task.id);
  const dropped = ({ active, over }: DragEndEvent) => {
    if (!over || active.id === over.id) return;
    onReorder(arrayMove(ids, ids.indexOf(String(active.id)), ids.indexOf(String(over.id))));
  };
  return (
    <DndContext
      sensors={sensors}
      collisionDetection={closestCenter}
      onDragEnd={dropped}
      accessibility={{ announcements: announcementsFor(props.tasks) }}
    >
      <SortableContext items={ids} strategy={verticalListSortingStrategy}>
        <Stack gap="xs">
          {props.tasks.map((task) => (
            <SortableTask key={task.id} task={task} actions={actionsOf(task)} />
          ))}
        </Stack>
      </SortableContext>
    </DndContext>
  );
}
