import { Alert, Anchor, Badge, Button, Group, Stack, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { usePermission } from '../auth/session';
import { confirmDestructive, notifyFailure } from '../../shell/confirm';
import { ApplyProfileModal } from './ApplyProfileModal';
import { BulkEditModal } from './BulkEditModal';
import { InstantiateModal } from './InstantiateModal';
import { ProfileDetailsForm } from './ProfileDetailsForm';
import { TaskList } from './TaskList';
import { TaskModal } from './TaskModal';
import {
  useDeleteProfile,
  useDeleteTask,
  useProfile,
  useReorderTasks,
  type ProfileDetail,
  type ProfileKind,
  type Task,
} from './queries';

/** Which task modal is open: none, a new task, or one task's edit. */
type TaskEditing = { task?: Task } | null;

function useProfileActions(kind: ProfileKind, profile: ProfileDetail) {
  const navigate = useNavigate();
  const remove = useDeleteProfile(kind);
  const removeTask = useDeleteTask(kind, profile.id);
  return {
    confirmDelete: () =>
      confirmDestructive({
        title: `Delete ${profile.name}?`,
        body: `The ${kind} and its ${profile.tasks.length} task(s) go; runs it started stay.`,
        confirm: `Delete ${kind}`,
        run: async () => {
          await remove.mutateAsync(profile.id);
          void navigate(kind === 'profile' ? '/profiles' : '/profiles?tab=templates');
        },
      }),
    confirmDeleteTask: (task: Task) =>
      confirmDestructive({
        title: `Delete the task ${task.name}?`,
        body: 'The tasks after it move up one place.',
        confirm: 'Delete task',
        run: () => removeTask.mutateAsync(task.id),
      }),
  };
}

/**
 * A profile or template: its details, its ordered tasks and what can be done with it. Those who
 * may not change it see it read-only: no handle, no buttons.
 */
function ProfileView({ kind, profile }: { kind: ProfileKind; profile: ProfileDetail }) {
  const canUpdate = usePermission('profiles:update');
  const canDelete = usePermission('profiles:delete');
  const canApply = usePermission('profiles:execute') && kind === 'profile';
  const canInstantiate = usePermission('profiles:create') && kind === 'template';
  const reorder = useReorderTasks(kind, profile.id);
  const { confirmDelete, confirmDeleteTask } = useProfileActions(kind, profile);
  const [editing, setEditing] = useState<TaskEditing>(null);
  const [bulk, bulkModal] = useDisclosure();
  const [applying, applyModal] = useDisclosure();
  const [instantiating, instantiateModal] = useDisclosure();

  return (
    <Stack>
      <Anchor component={Link} to={kind === 'profile' ? '/profiles' : '/profiles?tab=templates'} size="sm">
        ← {kind === 'profile' ? 'Profiles' : 'Templates'}
      </Anchor>
      <Group justify="space-between">
        <Group gap="xs">
          <Title order={2}>{profile.name}</Title>
          <Badge variant="light">{kind}</Badge>
          {profile.target_os_type && <Badge variant="outline">{profile.target_os_type}</Badge>}
        </Group>
        <Group gap="xs">
          {canApply && <Button onClick={applyModal.open}>Apply</Button>}
          {canInstantiate && <Button onClick={instantiateModal.open}>Create profile from template</Button>}
          {canDelete && (
            <Button color="red" variant="light" onClick={confirmDelete}>
              Delete
            </Button>
          )}
        </Group>
      </Group>
      {canUpdate ? (
        <ProfileDetailsForm key={`${profile.name}\n${profile.description}`} kind={kind} profile={profile} />
      ) : (
        <Text c={profile.description ? undefined : 'dimmed'}>{profile.description || 'No description.'}</Text>
      )}
      <Group justify="space-between" mt="md">
        <Title order={3}>Tasks</Title>
        {canUpdate && (
          <Group gap="xs">
            <Button variant="default" onClick={bulkModal.open}>
              Bulk edit
            </Button>
            <Button onClick={() => setEditing({})}>Add task</Button>
          </Group>
        )}
      </Group>
      {canUpdate && profile.tasks.length > 1 && (
        <Text size="sm" c="dimmed">
          Drag a task by its handle to reorder, or focus the handle and use Space and the arrow keys.
        </Text>
      )}
      <TaskList
        tasks={profile.tasks}
        onReorder={
          canUpdate ? (ids) => reorder.mutate(ids, { onError: notifyFailure('Reorder failed') }) : undefined
        }
        onEdit={canUpdate ? (task) => setEditing({ task }) : undefined}
        onDelete={canUpdate ? confirmDeleteTask : undefined}
      />
      {profile.tasks.length === 0 && (
        <Text c="dimmed" ta="center">
          No task yet.{canUpdate ? ' Add one: each agent runs the tasks in order.' : ''}
        </Text>
      )}
      {editing && (
        <TaskModal
          key={editing.task?.id ?? 'new'}
          kind={kind}
          profileId={profile.id}
          task={editing.task}
          opened
          onClose={() => setEditing(null)}
        />
      )}
      {bulk && (
        <BulkEditModal
          kind={kind}
          profileId={profile.id}
          tasks={profile.tasks}
          opened
          onClose={bulkModal.close}
        />
      )}
      {canApply && (
        <ApplyProfileModal
          agentIds={[]}
          profileId={profile.id}
          opened={applying}
          onClose={applyModal.close}
        />
      )}
      {instantiating && <InstantiateModal template={profile} opened onClose={instantiateModal.close} />}
    </Stack>
  );
}

/** `/profiles/:id` or `/templates/:id`. */
export function ProfileDetailPage({ kind }: { kind: ProfileKind }) {
  const { id = '' } = useParams();
  const profile = useProfile(kind, id);
  if (profile.error) return <Alert color="red">{profile.error.message}</Alert>;
  if (!profile.data) return null;
  return <ProfileView key={profile.data.id} kind={kind} profile={profile.data} />;
}

export const ProfilePage = () => <ProfileDetailPage kind="profile" />;
export const TemplatePage = () => <ProfileDetailPage kind="template" />;
