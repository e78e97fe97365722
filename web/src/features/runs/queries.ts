import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { api, type Json } from '../../api/client';
import { useFleetEvents, type FleetEvent } from '../../api/events';
import type { Job } from '../execution/queries';

export type RunPage = Json<'/api/v1/runs', 'get'>;
export type Run = RunPage['items'][number];
export type RunState = Run['status'];
export type JobState = Job['status'];

export const RUN_STATES: RunState[] = ['running', 'succeeded', 'failed', 'canceled'];
export const JOB_STATES: JobState[] = [
  'queued',
  'dispatched',
  'running',
  'succeeded',
  'failed',
  'timed_out',
  'canceled',
  'lost',
];

export function useRuns(status: RunState | undefined, cursor: string | undefined) {
  return useQuery({
    queryKey: ['runs', 'list', status, cursor],
    queryFn: () => api((c) => c.GET('/api/v1/runs', { params: { query: { status, cursor, limit: 50 } } })),
    placeholderData: keepPreviousData,
  });
}

export function useRun(id: string) {
  return useQuery({
    queryKey: ['runs', 'detail', id],
    queryFn: () => api((c) => c.GET('/api/v1/runs/{id}', { params: { path: { id } } })),
  });
}

/** A run's jobs, filtered by status. */
export function useRunJobs(runId: string, status: JobState | undefined, cursor: string | undefined) {
  return useQuery({
    queryKey: ['runs', 'jobs', runId, status, cursor],
    queryFn: () =>
      api((c) =>
        c.GET('/api/v1/runs/{id}/jobs', {
          params: { path: { id: runId }, query: { status, cursor, limit: 50 } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

const isRunState = (status: string): status is RunState => (RUN_STATES as string[]).includes(status);

/**
 * Keeps runs live from the events socket: `run.progress` patches the cached pages and the detail
 * in place; the lists are read again when the run is new to them or its status changed (a status
 * filter may now take it in or leave it out). A run's jobs are read again when one of them moves.
 */
export function useRunProgress(): void {
  const queryClient = useQueryClient();
  const onEvent = useCallback(
    (event: FleetEvent) => {
      if (event.type === 'job.state' && event.run_id) {
        void queryClient.invalidateQueries({ queryKey: ['runs', 'jobs', event.run_id] });
        return;
      }
      if (event.type !== 'run.progress' || !isRunState(event.status)) return;
      const status = event.status;
      const patch = (run: Run): Run =>
        run.id === event.run_id ? { ...run, status, counts: event.counts } : run;
      let known = false;
      queryClient.setQueriesData<RunPage>({ queryKey: ['runs', 'list'] }, (page) => {
        if (!page) return page;
        if (page.items.some((run) => run.id === event.run_id && run.status === status)) known = true;
        return { ...page, items: page.items.map(patch) };
      });
      queryClient.setQueryData<Run>(['runs', 'detail', event.run_id], (run) => run && patch(run));
      if (!known) void queryClient.invalidateQueries({ queryKey: ['runs', 'list'] });
    },
    [queryClient],
  );
  useFleetEvents(onEvent);
}
