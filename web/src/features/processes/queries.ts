import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type Process = Json<'/api/v1/processes/{id}', 'patch'>;
export type ProcessDetail = Json<'/api/v1/processes/{id}', 'get'>;
export type ProcessVersion = Json<'/api/v1/processes/{id}/versions', 'get'>['items'][number];
export type PackageVersion = Json<'/api/v1/packages', 'get'>['items'][number];
export type EntryPoint = PackageVersion['entry_points'][number];
export type ProcessInput = Process['default_input'];
export type ProcessBody = paths['/api/v1/processes']['post']['requestBody']['content']['application/json'];
export type ProcessUpdateBody =
  paths['/api/v1/processes/{id}']['patch']['requestBody']['content']['application/json'];

export type ProcessFilters = { q?: string; package_name?: string };

export function useProcesses(filters: ProcessFilters, cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['processes', 'list', filters, cursor, limit],
    queryFn: () =>
      api((c) => c.GET('/api/v1/processes', { params: { query: { ...filters, cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}

export function useProcess(id: string) {
  return useQuery({
    queryKey: ['processes', 'detail', id],
    queryFn: () => api((c) => c.GET('/api/v1/processes/{id}', { params: { path: { id } } })),
    enabled: id !== '',
  });
}

export function useProcessVersions(id: string, cursor: string | undefined, limit = 20) {
  return useQuery({
    queryKey: ['processes', 'versions', id, cursor, limit],
    queryFn: () =>
      api((c) =>
        c.GET('/api/v1/processes/{id}/versions', { params: { path: { id }, query: { cursor, limit } } }),
      ),
    placeholderData: keepPreviousData,
  });
}

export function useCreateProcess() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ProcessBody) => api((c) => c.POST('/api/v1/processes', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['processes'] }),
  });
}

export function useUpdateProcess(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ProcessUpdateBody) =>
      api((c) => c.PATCH('/api/v1/processes/{id}', { params: { path: { id } }, body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['processes'] }),
  });
}

export function useDeleteProcess() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api((c) => c.DELETE('/api/v1/processes/{id}', { params: { path: { id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['processes', 'list'] }),
  });
}

/** The organisation's package versions (the newest 200): what the pickers offer. */
export function usePackageVersions() {
  return useQuery({
    queryKey: ['packages', 'list', 'for-processes'],
    queryFn: () => api((c) => c.GET('/api/v1/packages', { params: { query: { limit: 200 } } })),
  });
}
