import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type Proposal = Json<'/api/v1/assistant/generate', 'post'>['proposal'];
export type SafetyLevel = Proposal['safety']['level'];
export type Shell = Proposal['shell'];
export type Conversation = Json<'/api/v1/assistant/conversations/{id}', 'get'>;
export type GenerateBody =
  paths['/api/v1/assistant/generate']['post']['requestBody']['content']['application/json'];
export type RunBody = paths['/api/v1/assistant/run']['post']['requestBody']['content']['application/json'];
export type SaveBody = paths['/api/v1/assistant/save']['post']['requestBody']['content']['application/json'];
export type AssistantStatus = Json<'/api/v1/assistant/status', 'get'>;

export const shells: Shell[] = ['bash', 'sh', 'powershell', 'cmd', 'python'];

const KEY = ['assistant'];

export function useAssistantStatus() {
  return useQuery({
    queryKey: [...KEY, 'status'],
    queryFn: () => api((c) => c.GET('/api/v1/assistant/status')),
  });
}

export function useConversations(cursor: string | undefined) {
  return useQuery({
    queryKey: [...KEY, 'conversations', cursor],
    queryFn: () =>
      api((c) => c.GET('/api/v1/assistant/conversations', { params: { query: { cursor, limit: 25 } } })),
    placeholderData: keepPreviousData,
  });
}

export function useConversation(id: string | null) {
  return useQuery({
    queryKey: [...KEY, 'conversation', id],
    enabled: id !== null,
    queryFn: () =>
      api((c) => c.GET('/api/v1/assistant/conversations/{id}', { params: { path: { id: id ?? '' } } })),
  });
}

/** A change through the assistant; it refreshes the assistant's queries and those of `also`. */
function useAssistantMutation<V, R>(send: (vars: V) => Promise<R>, also: string[][] = []) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: send,
    onSuccess: () =>
      Promise.all([KEY, ...also].map((queryKey) => queryClient.invalidateQueries({ queryKey }))),
  });
}

export function useGenerate() {
  return useAssistantMutation((body: GenerateBody) =>
    api((c) => c.POST('/api/v1/assistant/generate', { body })),
  );
}

export function useRunProposal() {
  return useAssistantMutation(
    (body: RunBody) => api((c) => c.POST('/api/v1/assistant/run', { body })),
    [['runs', 'list']],
  );
}

export function useSaveProposal() {
  return useAssistantMutation(
    (body: SaveBody) => api((c) => c.POST('/api/v1/assistant/save', { body })),
    [['scripts', 'list']],
  );
}

export function useDeleteConversation() {
  return useAssistantMutation((id: string) =>
    api((c) => c.DELETE('/api/v1/assistant/conversations/{id}', { params: { path: { id } } })),
  );
}
