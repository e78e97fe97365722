import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useState } from 'react';
import { api, type Json } from '../../api/client';
import { useFleetEvents, useFollowJob, type FleetEvent } from '../../api/events';
import type { paths } from '../../api/schema';

export type Deployment = Json<'/api/v1/deployments', 'get'>['items'][number];
export type DeploymentDetail = Json<'/api/v1/deployments/{id}', 'get'>;
export type Target = DeploymentDetail['targets'][number];
export type Step = Target['steps'][number];
export type DeploymentStatus = Deployment['status'];
export type DeploymentFilters = NonNullable<paths['/api/v1/deployments']['get']['parameters']['query']>;

export const DEPLOYMENT_STATES: DeploymentStatus[] = ['running', 'paused', 'succeeded', 'failed'];

export function useDeployments(filters: DeploymentFilters, cursor: string | undefined) {
  return useQuery({
    queryKey: ['deployments', 'list', filters, cursor],
    queryFn: () =>
      api((c) => c.GET('/api/v1/deployments', { params: { query: { ...filters, cursor, limit: 50 } } })),
    placeholderData: keepPreviousData,
  });
}

export function useDeployment(id: string) {
  return useQuery({
    queryKey: ['deployments', 'detail', id],
    queryFn: () => api((c) => c.GET('/api/v1/deployments/{id}', { params: { path: { id } } })),
    enabled: id !== '',
  });
}

/** The organisation's services (the newest 200): what the service filter offers. */
export function useServiceChoices() {
  return useQuery({
    queryKey: ['services', 'list', 'for-deployments'],
    queryFn: () => api((c) => c.GET('/api/v1/services', { params: { query: { limit: 200 } } })),
  });
}

function useDeploymentAction(id: string, action: 'cancel' | 'continue') {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: () =>
      api((c) =>
        action === 'cancel'
          ? c.POST('/api/v1/deployments/{id}/cancel', { params: { path: { id } } })
          : c.POST('/api/v1/deployments/{id}/continue', { params: { path: { id } } }),
      ),
    onSuccess: (deployment) => {
      queryClient.setQueryData(['deployments', 'detail', id], deployment);
      return queryClient.invalidateQueries({ queryKey: ['deployments', 'list'] });
    },
  });
}

export const useCancelDeployment = (id: string) => useDeploymentAction(id, 'cancel');
export const useContinueDeployment = (id: string) => useDeploymentAction(id, 'continue');

/**
 * A deployment event's type and deployment, or null for any other event. The socket's typed
 * events do not name the deployment events yet, so their fields are read and checked here.
 */
function deploymentEventOf(event: FleetEvent): { type: string; deploymentId: string } | null {
  const fields: Record<string, unknown> = event;
  const { type, deployment_id: deploymentId } = fields;
  if (typeof type !== 'string' || !type.startsWith('deployment.') || typeof deploymentId !== 'string')
    return null;
  return { type, deploymentId };
}

/**
 * Keeps deployments live from the events socket: `deployment.state` reads the lists and the
 * deployment again; `deployment.target` and `deployment.step` its detail (machines and steps)
 * and the stored output of its machines.
 */
export function useDeploymentUpdates(): void {
  const queryClient = useQueryClient();
  const onEvent = useCallback(
    (event: FleetEvent) => {
      const moved = deploymentEventOf(event);
      if (!moved) return;
      void queryClient.invalidateQueries({ queryKey: ['deployments', 'detail', moved.deploymentId] });
      if (moved.type === 'deployment.state')
        void queryClient.invalidateQueries({ queryKey: ['deployments', 'list'] });
      if (moved.type === 'deployment.target')
        void queryClient.invalidateQueries({ queryKey: ['deployments', 'output', moved.deploymentId] });
    },
    [queryClient],
  );
  useFleetEvents(onEvent);
}

interface Chunk {
  seq: number;
  data: string;
}

/**
 * What the deploy script wrote on one machine: what is stored (the per-target output route),
 * then each chunk of its job as it arrives. The job is followed while shown; chunks are kept in
 * `seq` order, once each.
 */
export function useTargetOutput(deploymentId: string, target: Target | undefined): string {
  const jobId = target?.job_id ?? undefined;
  const targetId = target?.id;
  const [chunks, setChunks] = useState<Map<number, Chunk>>(new Map());
  useFollowJob(jobId);
  useEffect(() => setChunks(new Map()), [jobId]);
  const stored = useQuery({
    queryKey: ['deployments', 'output', deploymentId, targetId],
    queryFn: () =>
      api((c) =>
        c.GET('/api/v1/deployments/{id}/targets/{targetId}/output', {
          params: { path: { id: deploymentId, targetId: targetId ?? '' } },
        }),
      ),
    enabled: Boolean(targetId && jobId),
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
  for (const chunk of stored.data?.chunks ?? []) all.set(chunk.seq, chunk);
  return [...all.values()]
    .sort((a, b) => a.seq - b.seq)
    .map((chunk) => chunk.data)
    .join('');
}
