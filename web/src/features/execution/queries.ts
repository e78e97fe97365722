import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useState } from 'react';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';
import { useFleetEvents, useFollowJob, type FleetEvent } from '../../api/events';

export type Job = Json<'/api/v1/jobs/{id}', 'get'>;
export type Interpreter =
  paths['/api/v1/agents/{id}/jobs']['post']['requestBody']['content']['application/json']['interpreter'];

export const FINISHED = new Set(['succeeded', 'failed', 'timed_out', 'canceled', 'lost']);

export function useJob(id: string | undefined) {
  return useQuery({
    queryKey: ['jobs', 'detail', id],
    queryFn: () => api((c) => c.GET('/api/v1/jobs/{id}', { params: { path: { id: id ?? '' } } })),
    enabled: Boolean(id),
  });
}

export function useAgentJobs(agentId: string, cursor: string | undefined) {
  return useQuery({
    queryKey: ['jobs', 'agent', agentId, cursor],
    queryFn: () =>
      api((c) =>
        c.GET('/api/v1/agents/{id}/jobs', {
          params: { path: { id: agentId }, query: { limit: 20, cursor } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
}

/** A job's state moves: its detail and the lists that show it are read again. */
export function useJobStateUpdates(): void {
  const queryClient = useQueryClient();
  const onEvent = useCallback(
    (event: FleetEvent) => {
      if (event.type !== 'job.state') return;
      void queryClient.invalidateQueries({ queryKey: ['jobs', 'detail', event.job_id] });
      if (event.agent_id) void queryClient.invalidateQueries({ queryKey: ['jobs', 'agent', event.agent_id] });
    },
    [queryClient],
  );
  useFleetEvents(onEvent);
}

interface Chunk {
  seq: number;
  stream: string;
  data: string;
}

/**
 * A job's output: what is stored, then each chunk as it arrives. The job is followed before the
 * stored output is read, so no chunk falls between; chunks are kept in `seq` order, once each.
 */
export function useLiveOutput(jobId: string | undefined): { text: string; truncated: boolean } {
  const [chunks, setChunks] = useState<Map<number, Chunk>>(new Map());
  useFollowJob(jobId);
  useEffect(() => setChunks(new Map()), [jobId]);

  const stored = useQuery({
    queryKey: ['jobs', 'output', jobId],
    queryFn: () =>
      api((c) =>
        c.GET('/api/v1/jobs/{id}/output', {
          params: { path: { id: jobId ?? '' }, query: { format: 'json' } },
        }),
      ),
    enabled: Boolean(jobId),
  });
  const onEvent = useCallback(
    (event: FleetEvent) => {
      if (event.type !== 'job.output' || event.job_id !== jobId) return;
      setChunks((current) => new Map(current).set(event.seq, event));
    },
    [jobId],
  );
  useFleetEvents(onEvent);

  const all = new Map(chunks);
  const body = stored.data;
  if (body && typeof body === 'object') for (const chunk of body.chunks) all.set(chunk.seq, chunk);
  const text = [...all.values()]
    .sort((a, b) => a.seq - b.seq)
    .map((chunk) => chunk.data)
    .join('');
  return { text, truncated: typeof body === 'object' && body.truncated };
}
