import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client';

/*
 * The queues routes are newer than the generated API types (web/src/api/schema.d.ts): their
 * shapes are written here, as the server's schemas say, until the types are generated again.
 */

export interface Queue {
  id: string;
  name: string;
  description: string;
  max_retries: number;
  deadline_minutes: number | null;
  sla_minutes: number | null;
  unique_references: boolean;
  active: boolean;
  item_timeout_seconds: number;
  trigger_process_id: string | null;
  trigger_max_jobs: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export type QueueBody = Partial<Omit<Queue, 'id' | 'created_by' | 'created_at' | 'updated_at'>>;

export const itemStatuses = [
  'new',
  'in_progress',
  'successful',
  'failed',
  'abandoned',
  'retried',
  'deleted',
] as const;
export type ItemStatus = (typeof itemStatuses)[number];
export type Priority = 'high' | 'normal' | 'low';

export interface QueueItem {
  id: string;
  queue_id: string;
  status: ItemStatus;
  priority: Priority;
  content: Record<string, unknown>;
  reference: string | null;
  progress: string | null;
  output: unknown;
  error: { type: 'business' | 'application'; reason: string } | null;
  robot_id: string | null;
  retry_of: string | null;
  retry_number: number;
  defer_until: string | null;
  deadline: string | null;
  started_at: string | null;
  finished_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface ItemInput {
  content: Record<string, unknown>;
  priority?: Priority;
  reference?: string;
  defer_until?: string;
  deadline?: string;
}

export interface QueueStats {
  counts: Record<ItemStatus, number>;
  average_processing_ms: number | null;
  sla_breaches: number;
  deadline_breaches: number;
  oldest_waiting_age_ms: number | null;
}

interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

type Query = Record<string, string | number | boolean | undefined>;
interface Init {
  params?: { path?: Record<string, string | number>; query?: Query };
  body?: unknown;
}
interface Outcome {
  data?: unknown;
  error?: unknown;
  response: Response;
}
/** The same client, called by path text: these paths are not in the generated types yet. */
type ClientByPath = Record<
  'GET' | 'POST' | 'PATCH' | 'DELETE',
  (path: string, init?: Init) => Promise<Outcome>
>;

function request<T>(method: keyof ClientByPath, path: string, init?: Init): Promise<T> {
  return api((c) => (c as unknown as ClientByPath)[method](path, init)) as Promise<T>;
}

export function useQueues(q: string | undefined, cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['queues', 'list', q, cursor, limit],
    queryFn: () => request<Page<Queue>>('GET', '/api/v1/queues', { params: { query: { q, cursor, limit } } }),
    placeholderData: keepPreviousData,
  });
}

export function useQueue(id: string) {
  return useQuery({
    queryKey: ['queues', 'detail', id],
    queryFn: () => request<Queue>('GET', '/api/v1/queues/{id}', { params: { path: { id } } }),
    enabled: id !== '',
  });
}

export function useQueueStats(id: string) {
  return useQuery({
    queryKey: ['queues', 'stats', id],
    queryFn: () => request<QueueStats>('GET', '/api/v1/queues/{id}/stats', { params: { path: { id } } }),
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
      request<Page<QueueItem>>('GET', '/api/v1/queues/{id}/items', {
        params: { path: { id }, query: { status, cursor, limit } },
      }),
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
  return useInvalidating((body: QueueBody) => request<Queue>('POST', '/api/v1/queues', { body }));
}

export function useUpdateQueue(id: string) {
  return useInvalidating((body: QueueBody) =>
    request<Queue>('PATCH', '/api/v1/queues/{id}', { params: { path: { id } }, body }),
  );
}

export function useDeleteQueue() {
  return useInvalidating((args: { id: string; force: boolean }) =>
    request<null>('DELETE', '/api/v1/queues/{id}', {
      params: { path: { id: args.id }, query: args.force ? { force: true } : {} },
    }),
  );
}

export function useAddItem(queueId: string) {
  return useInvalidating((body: ItemInput) =>
    request<QueueItem>('POST', '/api/v1/queues/{id}/items', { params: { path: { id: queueId } }, body }),
  );
}

export function useAddItems(queueId: string) {
  return useInvalidating((items: ItemInput[]) =>
    request<{ count: number; first_id: string; last_id: string }>('POST', '/api/v1/queues/{id}/items/bulk', {
      params: { path: { id: queueId } },
      body: { items },
    }),
  );
}

export function useDeleteItem() {
  return useInvalidating((id: string) =>
    request<null>('DELETE', '/api/v1/queue-items/{id}', { params: { path: { id } } }),
  );
}
