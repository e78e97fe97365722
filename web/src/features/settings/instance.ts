import { useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';
import { api } from '../../api/client';

/**
 * The instance's name (`general.instance_name`), from the system info: the console's title. Under
 * the `settings` key, so saving settings reads it again.
 */
export function useInstanceName(): string {
  const info = useQuery({
    queryKey: ['settings', 'instance'],
    queryFn: () => api((c) => c.GET('/api/v1/system/info')),
    staleTime: 60_000,
  });
  const name = info.data?.instance_name ?? 'Fleetplane';
  useEffect(() => {
    document.title = name;
  }, [name]);
  return name;
}
