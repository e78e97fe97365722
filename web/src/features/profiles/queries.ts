import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

/** A deployment profile (applied to agents) or a template (copied into profiles): one API shape. */
export type ProfileKind = 'profile' | 'template';
export type ProfilePage = Json<'/api/v1/profiles', 'get'>;
export type Profile = ProfilePage['items'][number];
export type ProfileDetail = Json<'/api/v1/profiles/{id}', 'get'>;
export type Task = ProfileDetail['tasks'][number];
export type TaskAction = Task['action'];
export type TaskBody =
  paths['/api/v1/profiles/{id}/tasks']['post']['requestBody']['content']['application/json'];
export type TaskInput = Omit<TaskBody, 'position'>;
/** A task of the bulk list: `id` names the task it replaces, which keeps secrets sent back masked. */
export type TaskBulkItem =
  paths['/api/v1/profiles/{id}/tasks/bulk']['put']['requestBody']['content']['application/json']['tasks'][number];
export type TaskPatch =
  paths['/api/v1/profiles/{id}/tasks/{taskId}']['patch']['requestBody']['content']['application/json'];
export type ProfileBody = paths['/api/v1/profiles']['post']['requestBody']['content']['application/json'];
export type ProfilePatch =
  paths['/api/v1/profiles/{id}']['patch']['requestBody']['content']['application/json'];
export type ApplyBody =
  paths['/api/v1/profiles/{id}/apply']['post']['requestBody']['content']['application/json'];

export const TASK_ACTIONS: TaskAction[] = ['command', 'script', 'reboot', 'file_copy'];

/** Where the console shows one: `/profiles/:id` or `/templates/:id`. */
export const pageOf = (kind: ProfileKind, id: string) => `/${kind}s/${id}`;

/** A page of one kind, newest first; `q` keeps those whose name or description holds it. */
export function useProfiles(kind: ProfileKind, cursor: string | undefined, limit = 50, q = '') {
  return useQuery({
    queryKey: ['profiles', kind, 'list', cursor, limit, q],
    queryFn: () => {
      const params = { params: { query: { cursor, limit, q: q || undefined } } };
      return api((c) =>
        kind === 'profile' ? c.GET('/api/v1/profiles', params) : c.GET('/api/v1/templates', params),
      );
    },
    placeholderData: keepPreviousData,
  });
}

export function useProfile(kind: ProfileKind, id: string) {
  return useQuery({
    queryKey: ['profiles', kind, 'detail', id],
    queryFn: () => {
      const params = { params: { path: { id } } };
      return api((c) =>
        kind === 'profile' ? c.GET('/api/v1/profiles/{id}', params) : c.GET('/api/v1/templates/{id}', params),
      );
    },
  });
}

/** Every mutation here changes what lists and details show: they are all read again. */
function useProfilesMutation<Input, Output>(send: (input: Input) => Promise<Output>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: send,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['profiles'] }),
  });
}

export function useCreateProfile(kind: ProfileKind) {
  return useProfilesMutation((body: ProfileBody) =>
    api((c) =>
      kind === 'profile' ? c.POST('/api/v1/profiles', { body }) : c.POST('/api/v1/templates', { body }),
    ),
  );
}

export function useUpdateProfile(kind: ProfileKind, id: string) {
  return useProfilesMutation((body: ProfilePatch) => {
    const request = { params: { path: { id } }, body };
    return api((c) =>
      kind === 'profile'
        ? c.PATCH('/api/v1/profiles/{id}', request)
        : c.PATCH('/api/v1/templates/{id}', request),
    );
  });
}

export function useDeleteProfile(kind: ProfileKind) {
  return useProfilesMutation((id: string) => {
    const params = { params: { path: { id } } };
    return api((c) =>
      kind === 'profile'
        ? c.DELETE('/api/v1/profiles/{id}', params)
        : c.DELETE('/api/v1/templates/{id}', params),
    );
  });
}

export function useCreateTask(kind: ProfileKind, id: string) {
  return useProfilesMutation((body: TaskBody) => {
    const request = { params: { path: { id } }, body };
    return api((c) =>
      kind === 'profile'
        ? c.POST('/api/v1/profiles/{id}/tasks', request)
        : c.POST('/api/v1/templates/{id}/tasks', request),
    );
  });
}

export function useUpdateTask(kind: ProfileKind, id: string) {
  return useProfilesMutation(({ taskId, body }: { taskId: string; body: TaskPatch }) => {
    const request = { params: { path: { id, taskId } }, body };
    return api((c) =>
      kind === 'profile'
        ? c.PATCH('/api/v1/profiles/{id}/tasks/{taskId}', request)
        : c.PATCH('/api/v1/templates/{id}/tasks/{taskId}', request),
    );
  });
}

export function useDeleteTask(kind: ProfileKind, id: string) {
  return useProfilesMutation((taskId: string) => {
    const params = { params: { path: { id, taskId } } };
    return api((c) =>
      kind === 'profile'
        ? c.DELETE('/api/v1/profiles/{id}/tasks/{taskId}', params)
        : c.DELETE('/api/v1/templates/{id}/tasks/{taskId}', params),
    );
  });
}

/**
 * Saves a new order. The cached detail takes the order at once (a dropped row must not jump back
 * while the request is under way) and is put back if the server refuses.
 */
export function useReorderTasks(kind: ProfileKind, id: string) {
  const queryClient = useQueryClient();
  const key = ['profiles', kind, 'detail', id];
  return useMutation({
    mutationFn: (taskIds: string[]) => {
      const request = { params: { path: { id } }, body: { task_ids: taskIds } };
      return api((c) =>
        kind === 'profile'
          ? c.PUT('/api/v1/profiles/{id}/tasks/order', request)
          : c.PUT('/api/v1/templates/{id}/tasks/order', request),
      );
    },
    onMutate: (taskIds) => {
      const before = queryClient.getQueryData<ProfileDetail>(key);
      if (before) {
        const byId = new Map(before.tasks.map((task) => [task.id, task]));
        const tasks = taskIds.flatMap((taskId) => byId.get(taskId) ?? []);
        queryClient.setQueryData<ProfileDetail>(key, { ...before, tasks });
      }
      return { before };
    },
    onError: (_error, _taskIds, context) => {
      if (context?.before) queryClient.setQueryData(key, context.before);
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['profiles'] }),
  });
}

export function useReplaceTasks(kind: ProfileKind, id: string) {
  return useProfilesMutation((tasks: TaskBulkItem[]) => {
    const request = { params: { path: { id } }, body: { tasks } };
    return api((c) =>
      kind === 'profile'
        ? c.PUT('/api/v1/profiles/{id}/tasks/bulk', request)
        : c.PUT('/api/v1/templates/{id}/tasks/bulk', request),
    );
  });
}

export function useApplyProfile() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: ApplyBody }) =>
      api((c) => c.POST('/api/v1/profiles/{id}/apply', { params: { path: { id } }, body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['runs'] }),
  });
}

export function useInstantiateTemplate() {
  return useProfilesMutation(({ id, name }: { id: string; name: string }) =>
    api((c) =>
      c.POST('/api/v1/templates/{id}/instantiate', {
        params: { path: { id } },
        body: name.trim() ? { name: name.trim() } : {},
      }),
    ),
  );
}

/** A task as the bulk editor and the replace operation take it: the fields the API reads back. */
export function bulkItemOf(task: Task): TaskBulkItem {
  const input: TaskBulkItem = {
    id: task.id,
    name: task.name,
    action: task.action,
    continue_on_error: task.continue_on_error,
  };
  if (task.description) input.description = task.description;
  if (task.script_id) input.script_id = task.script_id;
  if (task.content !== null) input.content = task.content;
  if (task.interpreter) input.interpreter = task.interpreter;
  if (Object.keys(task.parameters).length > 0) input.parameters = task.parameters;
  if (Object.keys(task.secret_env).length > 0) input.secret_env = task.secret_env;
  if (task.source_url) input.source_url = task.source_url;
  if (task.destination) input.destination = task.destination;
  if (task.timeout_seconds !== null) input.timeout_seconds = task.timeout_seconds;
  if (task.max_attempts !== null) input.max_attempts = task.max_attempts;
  return input;
}
