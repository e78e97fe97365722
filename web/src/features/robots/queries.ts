import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type Robot = Json<'/api/v1/robots', 'get'>['items'][number];
export type RobotStatus = Robot['status'];
export type RobotKind = Robot['kind'];
export type RobotCreateBody = paths['/api/v1/robots']['post']['requestBody']['content']['application/json'];
export type RobotUpdateBody =
  paths['/api/v1/robots/{id}']['patch']['requestBody']['content']['application/json'];
export interface RobotFilters {
  q?: string;
  status?: RobotStatus;
  kind?: RobotKind;
}

export const robotStatuses: RobotStatus[] = ['online', 'busy', 'offline'];
export const robotKinds: RobotKind[] = ['agent', 'runner'];

export function useRobots(filters: RobotFilters, cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['robots', 'list', filters, cursor, limit],
    queryFn: () => api((c) => c.GET('/api/v1/robots', { params: { query: { ...filters, cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}

function useRobotMutation<T, R>(run: (input: T) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['robots'] }),
  });
}

export function useCreateRobot() {
  return useRobotMutation((body: RobotCreateBody) => api((c) => c.POST('/api/v1/robots', { body })));
}

export function useUpdateRobot(id: string) {
  return useRobotMutation((body: RobotUpdateBody) =>
    api((c) => c.PATCH('/api/v1/robots/{id}', { params: { path: { id } }, body })),
  );
}

export function useDeleteRobot() {
  return useRobotMutation((id: string) =>
    api((c) => c.DELETE('/api/v1/robots/{id}', { params: { path: { id } } })),
  );
}

export function useIssueMachineKey() {
  return useRobotMutation((id: string) =>
    api((c) => c.POST('/api/v1/robots/{id}/machine-key', { params: { path: { id } } })),
  );
}

export function useRevokeRobotToken() {
  return useRobotMutation((id: string) =>
    api((c) => c.POST('/api/v1/robots/{id}/revoke-token', { params: { path: { id } } })),
  );
}
