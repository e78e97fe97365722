import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';

export type Settings = Json<'/api/v1/settings', 'get'>;
export type SettingsGroup = keyof Settings;

export function useSettings() {
  return useQuery({
    queryKey: ['settings'],
    queryFn: () => api((c) => c.GET('/api/v1/settings')),
  });
}

// A route per group, each typed on its own: a server change to a group breaks the type check here.
const updaters: { [G in SettingsGroup]: (body: Partial<Settings[G]>) => Promise<Settings[G]> } = {
  general: (body) => api((c) => c.PUT('/api/v1/settings/general', { body })),
  security: (body) => api((c) => c.PUT('/api/v1/settings/security', { body })),
  jobs: (body) => api((c) => c.PUT('/api/v1/settings/jobs', { body })),
  email: (body) => api((c) => c.PUT('/api/v1/settings/email', { body })),
  logging: (body) => api((c) => c.PUT('/api/v1/settings/logging', { body })),
  ai: (body) => api((c) => c.PUT('/api/v1/settings/ai', { body })),
  packages: (body) => api((c) => c.PUT('/api/v1/settings/packages', { body })),
  webhooks: (body) => api((c) => c.PUT('/api/v1/settings/webhooks', { body })),
  metrics: (body) => api((c) => c.PUT('/api/v1/settings/metrics', { body })),
  alerts: (body) => api((c) => c.PUT('/api/v1/settings/alerts', { body })),
};

/** Saves the keys the form changed; a secret left as its mask is not sent, so it keeps its value. */
export function useUpdateSettings<G extends SettingsGroup>(group: G) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: Partial<Settings[G]>) => updaters[group](body),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['settings'] }),
  });
}
