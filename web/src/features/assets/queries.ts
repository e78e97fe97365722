import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type Asset = Json<'/api/v1/assets', 'get'>['items'][number];
export type AssetDetail = Json<'/api/v1/assets/{id}', 'get'>;
export type AssetBody = paths['/api/v1/assets']['post']['requestBody']['content']['application/json'];
export type AssetType = Asset['type'];
export type AssetValue = NonNullable<AssetBody['value']>;
export interface AssetFilters {
  q?: string;
  type?: AssetType;
}

export const assetTypes: AssetType[] = ['text', 'integer', 'boolean', 'secret', 'credential'];

export function useAssets(filters: AssetFilters, cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['assets', 'list', filters, cursor, limit],
    queryFn: () => api((c) => c.GET('/api/v1/assets', { params: { query: { ...filters, cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}

export function useAsset(id: string | null) {
  return useQuery({
    queryKey: ['assets', 'detail', id],
    queryFn: () => api((c) => c.GET('/api/v1/assets/{id}', { params: { path: { id: id ?? '' } } })),
    enabled: id !== null,
  });
}

/** The robots a value can be given for: the first page is enough to pick from. */
export function useRobotChoices(enabled: boolean) {
  return useQuery({
    queryKey: ['robots', 'list', 'choices'],
    queryFn: () => api((c) => c.GET('/api/v1/robots', { params: { query: { limit: 200 } } })),
    enabled,
  });
}

function useAssetMutation<T>(run: (input: T) => Promise<unknown>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['assets'] }),
  });
}

export function useCreateAsset() {
  return useAssetMutation((body: AssetBody) => api((c) => c.POST('/api/v1/assets', { body })));
}

export function useDeleteAsset() {
  return useAssetMutation((id: string) =>
    api((c) => c.DELETE('/api/v1/assets/{id}', { params: { path: { id } } })),
  );
}

/** Sets the global value (no robot) or one robot's. */
export function useSetAssetValue(id: string) {
  return useAssetMutation(({ robotId, value }: { robotId: string | null; value: AssetValue }) =>
    robotId
      ? api((c) =>
          c.PUT('/api/v1/assets/{id}/robots/{robotId}/value', {
            params: { path: { id, robotId } },
            body: { value },
          }),
        )
      : api((c) => c.PUT('/api/v1/assets/{id}/value', { params: { path: { id } }, body: { value } })),
  );
}

export function useDeleteRobotValue(id: string) {
  return useAssetMutation((robotId: string) =>
    api((c) => c.DELETE('/api/v1/assets/{id}/robots/{robotId}/value', { params: { path: { id, robotId } } })),
  );
}
