import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type Alert = Json<'/api/v1/alerts/{id}', 'get'>;
export type AlertState = Alert['state'];
export type AlertSummary = Json<'/api/v1/alerts', 'get'>['items'][number];
export type Rule = Json<'/api/v1/alert-rules/{id}', 'get'>;
export type RuleBody = paths['/api/v1/alert-rules']['post']['requestBody']['content']['application/json'];
export type RuleKind = RuleBody['kind'];
export type RuleParams = RuleBody['params'];
export type Channel = Json<'/api/v1/notification-channels/{id}', 'get'>;
export type ChannelBody =
  paths['/api/v1/notification-channels']['post']['requestBody']['content']['application/json'];
export type Silence = Json<'/api/v1/silences/{id}', 'get'>;
export type SilenceBody = paths['/api/v1/silences']['post']['requestBody']['content']['application/json'];
export type Delivery = Json<'/api/v1/notification-channels/{id}/test', 'post'>;

const KEY = ['alerts'];

/** Alerts change by themselves (the evaluator): the list is read again every 10 s. */
export function useAlerts(state: AlertState | undefined, cursor: string | undefined) {
  return useQuery({
    queryKey: [...KEY, 'alerts', state, cursor],
    queryFn: () => api((c) => c.GET('/api/v1/alerts', { params: { query: { state, cursor, limit: 50 } } })),
    placeholderData: keepPreviousData,
    refetchInterval: 10_000,
  });
}

export function useAlert(id: string | null) {
  return useQuery({
    queryKey: [...KEY, 'alert', id],
    enabled: id !== null,
    queryFn: () => api((c) => c.GET('/api/v1/alerts/{id}', { params: { path: { id: id ?? '' } } })),
  });
}

export function useRules(cursor: string | undefined) {
  return useQuery({
    queryKey: [...KEY, 'rules', cursor],
    queryFn: () => api((c) => c.GET('/api/v1/alert-rules', { params: { query: { cursor, limit: 50 } } })),
    placeholderData: keepPreviousData,
  });
}

export function useChannels(cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: [...KEY, 'channels', cursor, limit],
    queryFn: () =>
      api((c) => c.GET('/api/v1/notification-channels', { params: { query: { cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}

export function useSilences(cursor: string | undefined) {
  return useQuery({
    queryKey: [...KEY, 'silences', cursor],
    queryFn: () => api((c) => c.GET('/api/v1/silences', { params: { query: { cursor, limit: 50 } } })),
    placeholderData: keepPreviousData,
  });
}

function useAlertsMutation<V, R>(send: (vars: V) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: send,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: KEY }),
  });
}

export function useAcknowledge() {
  return useAlertsMutation((id: string) =>
    api((c) => c.POST('/api/v1/alerts/{id}/acknowledge', { params: { path: { id } } })),
  );
}

export function useSaveRule(id: string | undefined) {
  return useAlertsMutation((body: RuleBody) =>
    id === undefined
      ? api((c) => c.POST('/api/v1/alert-rules', { body }))
      : api((c) => c.PATCH('/api/v1/alert-rules/{id}', { params: { path: { id } }, body })),
  );
}

export function useDeleteRule() {
  return useAlertsMutation((id: string) =>
    api((c) => c.DELETE('/api/v1/alert-rules/{id}', { params: { path: { id } } })),
  );
}

export function useCreateChannel() {
  return useAlertsMutation((body: ChannelBody) =>
    api((c) => c.POST('/api/v1/notification-channels', { body })),
  );
}

export function useDeleteChannel() {
  return useAlertsMutation((id: string) =>
    api((c) => c.DELETE('/api/v1/notification-channels/{id}', { params: { path: { id } } })),
  );
}

/** Not cached: each press sends a sample and shows what the receiver answered. */
export function useTestChannel() {
  return useMutation({
    mutationFn: (id: string) =>
      api((c) => c.POST('/api/v1/notification-channels/{id}/test', { params: { path: { id } } })),
  });
}

export function useCreateSilence() {
  return useAlertsMutation((body: SilenceBody) => api((c) => c.POST('/api/v1/silences', { body })));
}

export function useDeleteSilence() {
  return useAlertsMutation((id: string) =>
    api((c) => c.DELETE('/api/v1/silences/{id}', { params: { path: { id } } })),
  );
}
