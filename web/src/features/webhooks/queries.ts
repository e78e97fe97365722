import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type Webhook = Json<'/api/v1/webhooks/{id}', 'get'>;
export type WebhookBody = paths['/api/v1/webhooks']['post']['requestBody']['content']['application/json'];
export type WebhookChanges =
  paths['/api/v1/webhooks/{id}']['patch']['requestBody']['content']['application/json'];
export type Delivery = Json<'/api/v1/webhooks/{id}/deliveries', 'get'>['items'][number];
export type DeliveryStatus = Delivery['status'];

export const deliveryStatuses: DeliveryStatus[] = ['pending', 'delivered', 'failed'];

const KEY = ['webhooks'];

export function useWebhooks(cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: [...KEY, 'list', cursor, limit],
    queryFn: () => api((c) => c.GET('/api/v1/webhooks', { params: { query: { cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}

export function useWebhook(id: string) {
  return useQuery({
    queryKey: [...KEY, 'one', id],
    queryFn: () => api((c) => c.GET('/api/v1/webhooks/{id}', { params: { path: { id } } })),
  });
}

export function useEventTypes() {
  return useQuery({
    queryKey: [...KEY, 'event-types'],
    queryFn: () => api((c) => c.GET('/api/v1/webhooks/event-types')),
    staleTime: Infinity,
  });
}

/** Deliveries are sent in the background: the list follows them while any is pending. */
export function useDeliveries(id: string, status: DeliveryStatus | undefined, cursor: string | undefined) {
  return useQuery({
    queryKey: [...KEY, 'deliveries', id, status, cursor],
    queryFn: () =>
      api((c) =>
        c.GET('/api/v1/webhooks/{id}/deliveries', {
          params: { path: { id }, query: { status, cursor, limit: 25 } },
        }),
      ),
    placeholderData: keepPreviousData,
    refetchInterval: (query) =>
      query.state.data?.items.some((delivery) => delivery.status === 'pending') ? 1000 : false,
  });
}

export function useDelivery(id: string, deliveryId: string | null) {
  return useQuery({
    queryKey: [...KEY, 'delivery', id, deliveryId],
    enabled: deliveryId !== null,
    queryFn: () =>
      api((c) =>
        c.GET('/api/v1/webhooks/{id}/deliveries/{deliveryId}', {
          params: { path: { id, deliveryId: deliveryId ?? '' } },
        }),
      ),
    refetchInterval: (query) => (query.state.data?.status === 'pending' ? 1000 : false),
  });
}

function useWebhookMutation<V, R>(send: (vars: V) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: send,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: KEY }),
  });
}

export function useCreateWebhook() {
  return useWebhookMutation((body: WebhookBody) => api((c) => c.POST('/api/v1/webhooks', { body })));
}

export function useUpdateWebhook(id: string) {
  return useWebhookMutation((body: WebhookChanges) =>
    api((c) => c.PATCH('/api/v1/webhooks/{id}', { params: { path: { id } }, body })),
  );
}

export function useDeleteWebhook() {
  return useWebhookMutation((id: string) =>
    api((c) => c.DELETE('/api/v1/webhooks/{id}', { params: { path: { id } } })),
  );
}

export function useRotateSecret() {
  return useWebhookMutation((id: string) =>
    api((c) => c.POST('/api/v1/webhooks/{id}/rotate-secret', { params: { path: { id } } })),
  );
}

export function usePauseWebhook() {
  return useWebhookMutation((vars: { id: string; pause: boolean }) =>
    vars.pause
      ? api((c) => c.POST('/api/v1/webhooks/{id}/pause', { params: { path: { id: vars.id } } }))
      : api((c) => c.POST('/api/v1/webhooks/{id}/resume', { params: { path: { id: vars.id } } })),
  );
}

export function useTestWebhook() {
  return useWebhookMutation((id: string) =>
    api((c) => c.POST('/api/v1/webhooks/{id}/test', { params: { path: { id } } })),
  );
}

export function useRedeliver() {
  return useWebhookMutation((vars: { id: string; deliveryId: string }) =>
    api((c) => c.POST('/api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver', { params: { path: vars } })),
  );
}
