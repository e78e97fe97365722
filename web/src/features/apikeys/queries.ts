import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type ApiKey = Json<'/api/v1/api-keys', 'get'>['items'][number];
export type ApiKeyBody = paths['/api/v1/api-keys']['post']['requestBody']['content']['application/json'];

export function useApiKeys(cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['api-keys', 'list', cursor, limit],
    queryFn: () => api((c) => c.GET('/api/v1/api-keys', { params: { query: { cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}

export function useCreateApiKey() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ApiKeyBody) => api((c) => c.POST('/api/v1/api-keys', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['api-keys'] }),
  });
}

export function useRevokeApiKey() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api((c) => c.DELETE('/api/v1/api-keys/{id}', { params: { path: { id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['api-keys'] }),
  });
}
