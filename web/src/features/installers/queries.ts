import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError, refreshSession, tokenStore, type ErrorBody, type Json } from '../../api/client';
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

function fileNameOf(response: Response, fallback: string): string {
  return /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? fallback;
}

/** Saves the script or the offline zip: posted with the session's token, then handed to the browser. */
export function useInstallerDownload() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async (body: InstallerBody & { format: 'script' | 'zip' }) => {
      const post = () =>
        fetch('/api/v1/installers', {
          method: 'POST',
          headers: { authorization: `Bearer ${tokenStore.get() ?? ''}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      let response = await post();
      if (response.status === 401 && (await refreshSession())) response = await post();
      if (!response.ok) throw new ApiError(response.status, (await response.json()) as ErrorBody);
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement('a');
      link.href = url;
      link.download = fileNameOf(response, `fleetplane-install-${body.os}-${body.arch}`);
      link.click();
      URL.revokeObjectURL(url);
    },
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['enrollment-tokens'] }),
  });
}
