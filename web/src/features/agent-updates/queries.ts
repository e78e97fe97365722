import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type AgentUpdates = Json<'/api/v1/agent-updates', 'get'>;
export type UpdatePolicy =
  paths['/api/v1/agent-updates']['put']['requestBody']['content']['application/json'];

export function useAgentUpdates() {
  return useQuery({
    queryKey: ['agent-updates'],
    queryFn: () => api((c) => c.GET('/api/v1/agent-updates')),
    // updates move on their own (agents swap and come back): the page follows them
    refetchInterval: 10_000,
  });
}

export function useSetUpdatePolicy() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: UpdatePolicy) => api((c) => c.PUT('/api/v1/agent-updates', { body })),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['agent-updates'] }),
  });
}
