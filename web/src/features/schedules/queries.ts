import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type SchedulePage = Json<'/api/v1/schedules', 'get'>;
export type Schedule = SchedulePage['items'][number];
export type ScheduleBody = paths['/api/v1/schedules']['post']['requestBody']['content']['application/json'];
export type ScheduleChanges =
  paths['/api/v1/schedules/{id}']['patch']['requestBody']['content']['application/json'];
export type ScheduleAction = Schedule['action'];
export type ActionKind = ScheduleAction['kind'];

export function useSchedules(cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['schedules', 'list', cursor, limit],
    queryFn: () => api((c) => c.GET('/api/v1/schedules', { params: { query: { cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}

/** Library scripts, saved commands or profiles matching `q`, for the action picker. */
export function useActionChoices(kind: ActionKind, q: string) {
  return useQuery({
    queryKey: ['schedules', 'action-choices', kind, q],
    queryFn: async () => {
      const query = { q: q || undefined, limit: 50 };
      const page =
        kind === 'profile'
          ? await api((c) => c.GET('/api/v1/profiles', { params: { query } }))
          : await api((c) => c.GET('/api/v1/scripts', { params: { query: { ...query, kind } } }));
      return page.items.map((item) => ({ value: item.id, label: item.name }));
    },
    placeholderData: keepPreviousData,
  });
}

export function useCreateSchedule() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ScheduleBody) => api((c) => c.POST('/api/v1/schedules', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['schedules'] }),
  });
}

export function useUpdateSchedule() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, changes }: { id: string; changes: ScheduleChanges }) =>
      api((c) => c.PATCH('/api/v1/schedules/{id}', { params: { path: { id } }, body: changes })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['schedules'] }),
  });
}

export function useSetScheduleEnabled() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, enabled }: { id: string; enabled: boolean }) =>
      api((c) =>
        enabled
          ? c.POST('/api/v1/schedules/{id}/enable', { params: { path: { id } } })
          : c.POST('/api/v1/schedules/{id}/disable', { params: { path: { id } } }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['schedules'] }),
  });
}

export function useDeleteSchedule() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api((c) => c.DELETE('/api/v1/schedules/{id}', { params: { path: { id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['schedules'] }),
  });
}
