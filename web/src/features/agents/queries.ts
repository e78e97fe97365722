import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { api, type Json } from '../../api/client';
import { useFleetEvents, type FleetEvent } from '../../api/events';

export type AgentPage = Json<'/api/v1/agents', 'get'>;
export type Agent = AgentPage['items'][number];
export type AgentFilters = {
  status?: Agent['status'];
  /** A server node holds its socket. */
  connected?: boolean;
  tag?: string;
  group_id?: string;
  os_type?:
    | 'windows'
    | 'windows_server'
    | 'ubuntu'
    | 'debian'
    | 'proxmox'
    | 'rhel'
    | 'centos'
    | 'macos'
    | 'linux'
    | 'other';
  q?: string;
};

/** The operating systems the API knows, for pickers. */
export const OS_TYPES: NonNullable<AgentFilters['os_type']>[] = [
  'linux',
  'ubuntu',
  'debian',
  'rhel',
  'centos',
  'proxmox',
  'windows',
  'windows_server',
  'macos',
  'other',
];

export function useAgents(filters: AgentFilters, cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['agents', 'list', filters, cursor, limit],
    // a filter typed on drops the request of the text before it
    queryFn: ({ signal }) =>
      api((c) => c.GET('/api/v1/agents', { params: { query: { ...filters, cursor, limit } }, signal })),
    placeholderData: keepPreviousData,
  });
}

export function useAgent(id: string) {
  return useQuery({
    queryKey: ['agents', 'detail', id],
    queryFn: () => api((c) => c.GET('/api/v1/agents/{id}', { params: { path: { id } } })),
  });
}

export function useGroups() {
  return useQuery({
    queryKey: ['agent-groups'],
    queryFn: () => api((c) => c.GET('/api/v1/agent-groups', { params: { query: { limit: 200 } } })),
    staleTime: 60_000,
  });
}

/**
 * Keeps agents' status live from the events socket: the cached pages and details are patched in
 * place (no refetch for a status); a deleted agent's queries, or one that reported its facts
 * again, are read again.
 */
export function useAgentLiveStatus(): void {
  const queryClient = useQueryClient();
  const onEvent = useCallback(
    (event: FleetEvent) => {
      if (event.type === 'agent.deleted' || event.type === 'agent.facts') {
        void queryClient.invalidateQueries({ queryKey: ['agents'] });
        return;
      }
      if (event.type !== 'agent.status') return;
      const patch = (agent: Agent): Agent =>
        agent.id === event.agent_id ? { ...agent, status: event.status, connected: event.connected } : agent;
      queryClient.setQueriesData<AgentPage>({ queryKey: ['agents', 'list'] }, (page) =>
        page ? { ...page, items: page.items.map(patch) } : page,
      );
      queryClient.setQueryData<Agent>(['agents', 'detail', event.agent_id], (agent) => agent && patch(agent));
    },
    [queryClient],
  );
  useFleetEvents(onEvent);
}
