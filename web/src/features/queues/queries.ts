import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type Queue = Json<'/api/v1/queues/{id}', 'get'>;
export type QueueCreateBody = paths['/api/v1/queues']['post']['requestBody']['content']['application/json'];
export type QueueUpdateBody =
  paths['/api/v1/queues/{id}']['patch']['requestBody']['content']['application/json'];
export type QueueItem = Json<'/api/v1/queues/{id}/items', 'get'>['items'][number];
export type ItemStatus = QueueItem['status'];
export type Priority = QueueItem['priority'];
export type ItemInput =
  paths['/api/v1/queues/{id}/items']['post']['requestBody']['content']['application/json'];
export type QueueStats = Json<'/api/v1/queues/{id}/stats', 'get'>;

export const itemStatuses: readonly ItemStatus[] = [
  'new',
  'in_progress',
  'successful',
  'failed',
  'abandoned',
  'retried',
  'deleted',
];

export function useQueues(q: string | undefined, cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['queues', 'list', q, cursor, limit],
    queryFn: () => api((c) => c.GET('/api/v1/queues', { params: { query: { q, cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}

export function useQueue(id: string) {
  return useQuery({
    queryKey: ['queues', 'detail', id],
    queryFn: () => api((c) => c.GET('/api/v1/queues/{id}', { params: { path: { id } } })),
    enabled: id !== '',
  });
}

export function useQueueStats(id: string) {
  return useQuery({
    queryKey: ['queues', 'stats', id],
    queryFn: () => api((c) => c.GET('/api/v1/queues/{id}/stats', { params: { path: { id } } })),
    refetchInterval: 10_000,
  });
}

export function useQueueItems(
  id: string,
  status: ItemStatus | undefined,
  cursor: string | undefined,
  limit = 50,
) {
  return useQuery({
    queryKey: ['queues', 'items', id, status, cursor, limit],
    queryFn: () =>
      api((c) =>
        c.GET('/api/v1/queues/{id}/items', { params: { path: { id }, query: { status, cursor, limit } } }),
      ),
    placeholderData: keepPreviousData,
  });
}

function useInvalidating<A, R>(run: (args: A) => Promise<R>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: run,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['queues'] }),
  });
}

export function useCreateQueue() {
  return useInvalidating((body: QueueCreateBody) => api((c) => c.POST('/api/v1/queues', { body })));
}

export function useUpdateQueue(id: string) {
  return useInvalidating((body: QueueUpdateBody) =>
    api((c) => c.PATCH('/api/v1/queues/{id}', { params: { path: { id } }, body })),
  );
}

export function useDeleteQueue() {
  return useInvalidating((args: { id: string; force: boolean }) =>
    api((c) =>
      c.DELETE('/api/v1/queues/{id}', {
        params: { path: { id: args.id }, query: args.force ? { force: true } : {} },
      }),
    ),
  );
}

export function useAddItem(queueId: string) {
  return useInvalidating((body: ItemInput) =>
    api((c) => c.POST('/api/v1/queues/{id}/items', { params: { path: { id: queueId } }, body })),
  );
}

export function useAddItems(queueId: string) {
  return useInvalidating((items: ItemInput[]) =>
    api((c) =>
      c.POST('/api/v1/queues/{id}/items/bulk', { params: { path: { id: queueId } }, body: { items } }),
    ),
  );
}

export function useDeleteItem() {
  return useInvalidating((id: string) =>
    api((c) => c.DELETE('/api/v1/queue-items/{id}', { params: { path: { id } } })),
  );
}
