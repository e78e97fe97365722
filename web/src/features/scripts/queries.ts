import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type ScriptPage = Json<'/api/v1/scripts', 'get'>;
export type Script = ScriptPage['items'][number];
export type ScriptVersion = Json<'/api/v1/scripts/{id}/versions/{version}', 'get'>;
export type ScriptKind = Script['kind'];
export type ScriptLanguage = Script['language'];
export type ParameterDefinition = Script['parameters'][number];
export type ParameterType = ParameterDefinition['type'];
export type ParameterValue = NonNullable<ParameterDefinition['default']>;
export type ScriptCreateBody = paths['/api/v1/scripts']['post']['requestBody']['content']['application/json'];
export type ScriptUpdateBody =
  paths['/api/v1/scripts/{id}']['patch']['requestBody']['content']['application/json'];
export type ScriptExecuteBody =
  paths['/api/v1/scripts/{id}/execute']['post']['requestBody']['content']['application/json'];
export type ExecuteTarget = ScriptExecuteBody['target'];

export const SCRIPT_KINDS: ScriptKind[] = ['script', 'command'];
export const SCRIPT_LANGUAGES: ScriptLanguage[] = ['bash', 'sh', 'powershell', 'python', 'cmd'];
export const PARAMETER_TYPES: ParameterType[] = ['string', 'number', 'boolean', 'enum', 'secret'];

export type ScriptFilters = { kind?: ScriptKind; q?: string; tag?: string };

export function useScripts(filters: ScriptFilters, cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['scripts', 'list', filters, cursor, limit],
    queryFn: () => api((c) => c.GET('/api/v1/scripts', { params: { query: { ...filters, cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}

export function useScript(id: string) {
  return useQuery({
    queryKey: ['scripts', 'detail', id],
    queryFn: () => api((c) => c.GET('/api/v1/scripts/{id}', { params: { path: { id } } })),
    enabled: id !== '',
  });
}

export function useScriptVersions(id: string, cursor: string | undefined, limit = 20) {
  return useQuery({
    queryKey: ['scripts', 'versions', id, cursor, limit],
    queryFn: () =>
      api((c) =>
        c.GET('/api/v1/scripts/{id}/versions', { params: { path: { id }, query: { cursor, limit } } }),
      ),
    placeholderData: keepPreviousData,
  });
}

/** One version as it was; versions never change, so it is read once. */
export function useScriptVersion(id: string, version: number | null) {
  return useQuery({
    queryKey: ['scripts', 'version', id, version],
    queryFn: () =>
      api((c) =>
        c.GET('/api/v1/scripts/{id}/versions/{version}', {
          params: { path: { id, version: version ?? 0 } },
        }),
      ),
    enabled: version !== null,
    staleTime: Infinity,
  });
}

export function useCreateScript() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ScriptCreateBody) => api((c) => c.POST('/api/v1/scripts', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['scripts'] }),
  });
}

export function useUpdateScript(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ScriptUpdateBody) =>
      api((c) => c.PATCH('/api/v1/scripts/{id}', { params: { path: { id } }, body })),
    onSuccess: (updated) => {
      queryClient.setQueryData(['scripts', 'detail', id], updated);
      void queryClient.invalidateQueries({ queryKey: ['scripts', 'list'] });
      void queryClient.invalidateQueries({ queryKey: ['scripts', 'versions', id] });
    },
  });
}

export function useDeleteScript() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api((c) => c.DELETE('/api/v1/scripts/{id}', { params: { path: { id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['scripts', 'list'] }),
  });
}

export function useRunScript(id: string) {
  return useMutation({
    mutationFn: (body: { agent_id: string; parameters: Record<string, ParameterValue> }) =>
      api((c) => c.POST('/api/v1/scripts/{id}/run', { params: { path: { id } }, body })),
  });
}

export function useExecuteScript() {
  return useMutation({
    mutationFn: ({ id, body }: { id: string; body: ScriptExecuteBody }) =>
      api((c) => c.POST('/api/v1/scripts/{id}/execute', { params: { path: { id } }, body })),
  });
}
