import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, saveDownload, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type InstallerConfig = Json<'/api/v1/installers/config', 'get'>;
export type InstallerBody = paths['/api/v1/installers']['post']['requestBody']['content']['application/json'];
export type InstallerCommand = Json<'/api/v1/installers', 'post'>;

export function useInstallerConfig() {
  return useQuery({
    queryKey: ['installers', 'config'],
    queryFn: () => api((c) => c.GET('/api/v1/installers/config')),
  });
}

/** The one-line command; a new token shows up in the enrollment list. */
export function useInstallerCommand() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: InstallerBody) =>
      api((c) =>
        c.POST('/api/v1/installers', { body: { ...body, format: 'command' } }),
      ) as Promise<InstallerCommand>,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['enrollment-tokens'] }),
  });
}

/** Saves the script or the offline zip. */
export function useInstallerDownload() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: InstallerBody & { format: 'script' | 'zip' }) =>
      saveDownload(
        (c) => c.POST('/api/v1/installers', { body, parseAs: 'blob' }),
        `fleetplane-install-${body.os}-${body.arch}`,
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['enrollment-tokens'] }),
  });
}
