import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { api, type Json } from '../../api/client';
import { useFleetEvents, type FleetEvent } from '../../api/events';
import type { paths } from '../../api/schema';

export type Service = Json<'/api/v1/services/{id}', 'get'>;
export type ServiceBody = paths['/api/v1/services']['post']['requestBody']['content']['application/json'];
export type ServiceUpdateBody =
  paths['/api/v1/services/{id}']['patch']['requestBody']['content']['application/json'];
export type ServiceSource = Service['source'];
export type RunsOn = ServiceBody['runs_on'];
export type Selector = Extract<RunsOn, { type: 'selector' }>['selector'];
export type OsType = NonNullable<Selector['os_type']>;
export type Rollout = NonNullable<ServiceBody['rollout']>;
export type Interpreter = ServiceBody['script']['interpreter'];
export type SyncReport = Json<'/api/v1/services/sync', 'post'>;
export type DeployToken = Json<'/api/v1/deploy-tokens', 'get'>['items'][number];
export type DeployTokenBody =
  paths['/api/v1/deploy-tokens']['post']['requestBody']['content']['application/json'];
export type TokenKind = DeployToken['kind'];
export type DeploymentBody =
  paths['/api/v1/deployments']['post']['requestBody']['content']['application/json'];

export const INTERPRETERS: Interpreter[] = ['bash', 'sh', 'powershell', 'pwsh', 'cmd', 'python', 'node'];
export const OS_TYPES: OsType[] = [
  'windows',
  'windows_server',
  'ubuntu',
  'debian',
  'proxmox',
  'rhel',
  'centos',
  'macos',
  'linux',
  'other',
];

export type ServiceFilters = { search?: string; source?: ServiceSource };

export function useServices(filters: ServiceFilters, cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['services', 'list', filters, cursor, limit],
    queryFn: () =>
      api((c) => c.GET('/api/v1/services', { params: { query: { ...filters, cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}

export function useService(id: string) {
  return useQuery({
    queryKey: ['services', 'detail', id],
    queryFn: () => api((c) => c.GET('/api/v1/services/{id}', { params: { path: { id } } })),
    enabled: id !== '',
  });
}

function useInvalidateServices() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: ['services'] });
}

export function useCreateService() {
  const invalidate = useInvalidateServices();
  return useMutation({
    mutationFn: (body: ServiceBody) => api((c) => c.POST('/api/v1/services', { body })),
    onSuccess: invalidate,
  });
}

export function useUpdateService(id: string) {
  const invalidate = useInvalidateServices();
  return useMutation({
    mutationFn: (body: ServiceUpdateBody) =>
      api((c) => c.PATCH('/api/v1/services/{id}', { params: { path: { id } }, body })),
    onSuccess: invalidate,
  });
}

export function useDeleteService() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api((c) => c.DELETE('/api/v1/services/{id}', { params: { path: { id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['services', 'list'] }),
  });
}

export function useSyncServices() {
  const invalidate = useInvalidateServices();
  return useMutation({
    mutationFn: () => api((c) => c.POST('/api/v1/services/sync')),
    onSuccess: invalidate,
  });
}

/** Deploy tokens of one kind (and one service, for service tokens), newest first. */
export function useDeployTokens(kind: TokenKind, serviceId: string | undefined, cursor: string | undefined) {
  return useQuery({
    queryKey: ['deploy-tokens', 'list', kind, serviceId, cursor],
    queryFn: () =>
      api((c) =>
        c.GET('/api/v1/deploy-tokens', {
          params: { query: { kind, service_id: serviceId, cursor, limit: 20 } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

export function useCreateDeployToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: DeployTokenBody) => api((c) => c.POST('/api/v1/deploy-tokens', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['deploy-tokens'] }),
  });
}

export function useRevokeDeployToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      api((c) => c.DELETE('/api/v1/deploy-tokens/{id}', { params: { path: { id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['deploy-tokens'] }),
  });
}

export function useStartDeployment() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: DeploymentBody) => api((c) => c.POST('/api/v1/deployments', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['deployments'] }),
  });
}

/** Discovery: the config each service published in its last successful deployment. */
export function useDeployedServices() {
  return useQuery({
    queryKey: ['deployed-services'],
    queryFn: () => api((c) => c.GET('/api/v1/deployed-services')),
  });
}

/** The organisation's agents (the first 200), for the "runs on" pickers. */
export function useAgentChoices() {
  return useQuery({
    queryKey: ['agents', 'list', 'for-services'],
    queryFn: () => api((c) => c.GET('/api/v1/agents', { params: { query: { limit: 200 } } })),
  });
}

export function useGroupChoices() {
  return useQuery({
    queryKey: ['agent-groups', 'list', 'for-services'],
    queryFn: () => api((c) => c.GET('/api/v1/agent-groups', { params: { query: { limit: 200 } } })),
  });
}

/**
 * Keeps services live: `service.changed` (an edit elsewhere, a sync) reads them again. The event
 * is not among the socket's typed events yet, so only its type is looked at.
 */
export function useServiceUpdates(): void {
  const queryClient = useQueryClient();
  const onEvent = useCallback(
    (event: FleetEvent) => {
      const type: string = event.type;
      if (type === 'service.changed') void queryClient.invalidateQueries({ queryKey: ['services'] });
    },
    [queryClient],
  );
  useFleetEvents(onEvent);
}
