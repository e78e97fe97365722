import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type EnrollmentTokenPage = Json<'/api/v1/enrollment-tokens', 'get'>;
export type EnrollmentToken = EnrollmentTokenPage['items'][number];
export type EnrollmentTokenCreated = Json<'/api/v1/enrollment-tokens', 'post'>;
export type EnrollmentTokenBody =
  paths['/api/v1/enrollment-tokens']['post']['requestBody']['content']['application/json'];

export function useEnrollmentTokens(cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['enrollment-tokens', 'list', cursor, limit],
    queryFn: () => api((c) => c.GET('/api/v1/enrollment-tokens', { params: { query: { cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}

export function useCreateEnrollmentToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: EnrollmentTokenBody) => api((c) => c.POST('/api/v1/enrollment-tokens', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['enrollment-tokens'] }),
  });
}

export function useRevokeEnrollmentToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      api((c) => c.DELETE('/api/v1/enrollment-tokens/{id}', { params: { path: { id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['enrollment-tokens'] }),
  });
}
