import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type DeviceDecision = Json<'/api/v1/sdk/device/confirm', 'post'>;
export type DeviceConfirmBody =
  paths['/api/v1/sdk/device/confirm']['post']['requestBody']['content']['application/json'];
export type SdkToken = Json<'/api/v1/sdk/tokens', 'get'>['items'][number];

export function useConfirmDevice() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: DeviceConfirmBody) => api((c) => c.POST('/api/v1/sdk/device/confirm', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['sdk-tokens'] }),
  });
}

export function useSdkTokens() {
  return useQuery({
    queryKey: ['sdk-tokens', 'list'],
    queryFn: () => api((c) => c.GET('/api/v1/sdk/tokens', { params: { query: { limit: 200 } } })),
  });
}

export function useRevokeSdkToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api((c) => c.DELETE('/api/v1/sdk/tokens/{id}', { params: { path: { id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['sdk-tokens'] }),
  });
}
