import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';

export type FleetOverview = Json<'/api/v1/metrics/overview', 'get'>;
export type FleetWindow = FleetOverview['window'];
export const FLEET_WINDOWS: FleetWindow[] = ['1h', '24h', '7d', '30d'];

/** History is rolled up each minute: read again as often. */
const REFRESH_MS = 60_000;

export function useFleetOverview(window: FleetWindow) {
  return useQuery({
    queryKey: ['metrics', 'overview', window],
    queryFn: () => api((c) => c.GET('/api/v1/metrics/overview', { params: { query: { window } } })),
    placeholderData: keepPreviousData,
    refetchInterval: REFRESH_MS,
  });
}
