import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { api, type Json } from '../../api/client';
import { useFleetEvents, type FleetEvent } from '../../api/events';
import type { paths } from '../../api/schema';

export type ProcessJobPage = Json<'/api/v1/process-jobs', 'get'>;
export type ProcessJob = ProcessJobPage['items'][number];
export type ProcessJobState = ProcessJob['status'];
export type Robot = Json<'/api/v1/robots', 'get'>['items'][number];
export type ProcessItem = Json<'/api/v1/processes', 'get'>['items'][number];

type Body<P extends keyof paths> = paths[P] extends {
  post: { requestBody?: { content: { 'application/json': infer B } } };
}
  ? B
  : never;
export type StartBody = Body<'/api/v1/process-jobs'>;
export type ReassignBody = Body<'/api/v1/process-jobs/{id}/reassign'>;
export type StatusBody = Body<'/api/v1/process-jobs/{id}/status'>;

export const PROCESS_JOB_STATES: ProcessJobState[] = [
  'queued',
  'dispatched',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'canceled',
  'lost',
];

export type ProcessJobFilters = { status?: ProcessJobState; process_id?: string; robot_id?: string };

export function useProcessJobs(filters: ProcessJobFilters, cursor: string | undefined) {
  return useQuery({
    queryKey: ['process-jobs', 'list', filters, cursor],
    queryFn: () =>
      api((c) => c.GET('/api/v1/process-jobs', { params: { query: { ...filters, cursor, limit: 50 } } })),
    placeholderData: keepPreviousData,
  });
}

export function useProcessJob(id: string) {
  return useQuery({
    queryKey: ['process-jobs', 'detail', id],
    queryFn: () => api((c) => c.GET('/api/v1/process-jobs/{id}', { params: { path: { id } } })),
    enabled: id !== '',
  });
}

/**
 * The organisation's robots (the first 200), for names and pickers: one list read once, not one
 * request per row. `pool` narrows it to the robots of one pool.
 */
export function useRobots(pool?: string | null) {
  return useQuery({
    queryKey: ['robots', 'list', 'for-process-jobs', pool ?? null],
    queryFn: () =>
      api((c) => c.GET('/api/v1/robots', { params: { query: { limit: 200, pool: pool ?? undefined } } })),
  });
}

/** Robot names by id, for the rows that name only the id. */
export function useRobotNames(): Map<string, string> {
  const robots = useRobots();
  return new Map((robots.data?.items ?? []).map((robot) => [robot.id, robot.name]));
}

/** The organisation's processes (the newest 200): what the start modal and the filter offer. */
export function useProcessChoices() {
  return useQuery({
    queryKey: ['processes', 'list', 'for-process-jobs'],
    queryFn: () => api((c) => c.GET('/api/v1/processes', { params: { query: { limit: 200 } } })),
  });
}

function useInvalidateProcessJobs() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: ['process-jobs'] });
}

export function useStartProcessJob() {
  const invalidate = useInvalidateProcessJobs();
  return useMutation({
    mutationFn: (body: StartBody) => api((c) => c.POST('/api/v1/process-jobs', { body })),
    onSuccess: invalidate,
  });
}

export function useCancelProcessJob(id: string) {
  const invalidate = useInvalidateProcessJobs();
  return useMutation({
    mutationFn: () => api((c) => c.POST('/api/v1/process-jobs/{id}/cancel', { params: { path: { id } } })),
    onSuccess: invalidate,
  });
}

export function useReassignProcessJob(id: string) {
  const invalidate = useInvalidateProcessJobs();
  return useMutation({
    mutationFn: (body: ReassignBody) =>
      api((c) => c.POST('/api/v1/process-jobs/{id}/reassign', { params: { path: { id } }, body })),
    onSuccess: invalidate,
  });
}

export function useSetProcessJobStatus(id: string) {
  const invalidate = useInvalidateProcessJobs();
  return useMutation({
    mutationFn: (body: StatusBody) =>
      api((c) => c.POST('/api/v1/process-jobs/{id}/status', { params: { path: { id } }, body })),
    onSuccess: invalidate,
  });
}

/**
 * Keeps process jobs live from the events socket: a job that moves (`job.state`) has its detail
 * and the lists read again; a list may take it in or leave it out under its status filter.
 */
export function useProcessJobUpdates(): void {
  const queryClient = useQueryClient();
  const onEvent = useCallback(
    (event: FleetEvent) => {
      if (event.type !== 'job.state') return;
      void queryClient.invalidateQueries({ queryKey: ['process-jobs', 'detail', event.job_id] });
      void queryClient.invalidateQueries({ queryKey: ['process-jobs', 'list'] });
    },
    [queryClient],
  );
  useFleetEvents(onEvent);
}

/** How long a job took, or has been taking; null before it starts. */
export function durationOf(job: ProcessJob, now = Date.now()): string | null {
  if (job.duration_ms !== null) return formatDuration(job.duration_ms);
  if (!job.started_at) return null;
  const end = job.finished_at ? Date.parse(job.finished_at) : now;
  return formatDuration(end - Date.parse(job.started_at));
}

function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${seconds % 60} s`;
}
