import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';

export type HousekeepingOverview = Json<'/api/v1/system/housekeeping', 'get'>;
export type HousekeepingRun = HousekeepingOverview['items'][number];

export function useHousekeeping(cursor: string | undefined) {
  return useQuery({
    queryKey: ['housekeeping', cursor ?? null],
    queryFn: () =>
      api((c) =>
        c.GET('/api/v1/system/housekeeping', {
          params: { query: { limit: 10, ...(cursor ? { cursor } : {}) } },
        }),
      ),
    // the page shown stays while the next one loads
    placeholderData: (previous) => previous,
  });
}

export function useRunHousekeeping() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () => api((c) => c.POST('/api/v1/system/housekeeping/run')),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['housekeeping'] }),
  });
}
