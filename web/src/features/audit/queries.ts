import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type AuditPage = Json<'/api/v1/audit', 'get'>;
export type AuditEvent = AuditPage['items'][number];
export type AuditQuery = NonNullable<paths['/api/v1/audit']['get']['parameters']['query']>;
export type AuditFilters = Omit<AuditQuery, 'cursor' | 'limit'>;

export function useAuditEvents(filters: AuditFilters, cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['audit', 'list', filters, cursor, limit],
    queryFn: () => api((c) => c.GET('/api/v1/audit', { params: { query: { ...filters, cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}
