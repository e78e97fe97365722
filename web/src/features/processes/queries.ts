import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../../api/client';

/*
 * The processes and packages routes are newer than the generated API types (web/src/api/schema.d.ts):
 * their shapes are written here, as the server's schemas say, until the types are generated again.
 */

export interface EntryPoint {
  name: string;
  path: string;
  language: string;
  input_schema?: Record<string, unknown> | null;
}

export interface PackageVersion {
  id: string;
  name: string;
  version: string;
  description: string;
  hash: string;
  entry_points: EntryPoint[];
  active: boolean;
  created_at: string;
}

export type ProcessInput = Record<string, unknown>;

/** What a process runs, and how: what a version keeps. */
export interface ProcessDefinition {
  package_name: string;
  package_version: string | null;
  entry_point: string;
  default_input: ProcessInput;
  timeout_seconds: number;
  max_attempts: number;
  retry_delay_seconds: number;
  robot_pool: string | null;
  assets: string[];
}

export interface Process extends ProcessDefinition {
  id: string;
  name: string;
  description: string;
  version: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface ProcessDetail extends Process {
  current_package: { id: string; name: string; version: string; hash: string; active: boolean } | null;
  current_entry_point: EntryPoint | null;
  resolve_error: string | null;
}

export interface ProcessVersion extends ProcessDefinition {
  process_id: string;
  version: number;
  created_by: string | null;
  created_at: string;
}

export type ProcessBody = ProcessDefinition & { name: string; description: string };

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

export type ProcessFilters = { q?: string; package_name?: string };

export function useProcesses(filters: ProcessFilters, cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['processes', 'list', filters, cursor, limit],
    queryFn: () =>
      request<Page<Process>>('GET', '/api/v1/processes', {
        params: { query: { ...filters, cursor, limit } },
      }),
    placeholderData: keepPreviousData,
  });
}

export function useProcess(id: string) {
  return useQuery({
    queryKey: ['processes', 'detail', id],
    queryFn: () => request<ProcessDetail>('GET', '/api/v1/processes/{id}', { params: { path: { id } } }),
    enabled: id !== '',
  });
}

export function useProcessVersions(id: string, cursor: string | undefined, limit = 20) {
  return useQuery({
    queryKey: ['processes', 'versions', id, cursor, limit],
    queryFn: () =>
      request<Page<ProcessVersion>>('GET', '/api/v1/processes/{id}/versions', {
        params: { path: { id }, query: { cursor, limit } },
      }),
    placeholderData: keepPreviousData,
  });
}

export function useCreateProcess() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: ProcessBody) => request<Process>('POST', '/api/v1/processes', { body }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['processes'] }),
  });
}

export function useUpdateProcess(id: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: Partial<ProcessBody>) =>
      request<Process>('PATCH', '/api/v1/processes/{id}', { params: { path: { id } }, body }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['processes'] }),
  });
}

export function useDeleteProcess() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      request<null>('DELETE', '/api/v1/processes/{id}', { params: { path: { id } } }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['processes', 'list'] }),
  });
}

/** The organisation's package versions (the newest 200): what the pickers offer. */
export function usePackageVersions() {
  return useQuery({
    queryKey: ['packages', 'list', 'for-processes'],
    queryFn: () =>
      request<Page<PackageVersion>>('GET', '/api/v1/packages', { params: { query: { limit: 200 } } }),
  });
}
