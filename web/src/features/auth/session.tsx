import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, refreshSession, tokenStore, type Json } from '../../api/client';

export type Me = Json<'/api/v1/auth/me', 'get'>;

interface Session {
  /** `restoring` while the refresh cookie is tried on load. */
  state: 'restoring' | 'signed-out' | 'signed-in';
  me: Me | undefined;
  signIn: (email: string, password: string) => Promise<void>;
  signOut: () => Promise<void>;
  switchOrg: (orgId: string) => Promise<void>;
}

const SessionContext = createContext<Session | null>(null);

/**
 * The signed-in user. States: restoring (on load, the refresh cookie is traded for an access
 * token) → signed-in | signed-out; sign-in and sign-out move between the last two, and a
 * refused refresh (the token store emptied) signs out.
 */
export function SessionProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [token, setToken] = useState(tokenStore.get);
  const [restoring, setRestoring] = useState(true);

  useEffect(() => tokenStore.subscribe(setToken), []);
  useEffect(() => {
    void refreshSession().finally(() => setRestoring(false));
  }, []);

  const me = useQuery({
    // one key for the session's life: a refreshed token is the same principal
    queryKey: ['me'],
    queryFn: () => api((c) => c.GET('/api/v1/auth/me')),
    enabled: token !== null,
    staleTime: 60_000,
  });

  const signIn = useCallback(async (email: string, password: string) => {
    const result = await api((c) =>
      c.POST('/api/v1/auth/login', { body: { email, password, session: 'cookie' } }),
    );
    tokenStore.set(result.access_token);
  }, []);

  const signOut = useCallback(async () => {
    await api((c) => c.POST('/api/v1/auth/logout')).catch(() => undefined);
    tokenStore.set(null);
    queryClient.clear();
  }, [queryClient]);

  const switchOrg = useCallback(
    async (orgId: string) => {
      const result = await api((c) =>
        c.POST('/api/v1/auth/switch-org', { body: { org_id: orgId, session: 'cookie' } }),
      );
      queryClient.clear();
      tokenStore.set(result.access_token);
    },
    [queryClient],
  );

  const state: Session['state'] =
    restoring || (token !== null && me.isPending)
      ? 'restoring'
      : token && me.data
        ? 'signed-in'
        : 'signed-out';
  const value = useMemo(
    () => ({ state, me: me.data, signIn, signOut, switchOrg }),
    [state, me.data, signIn, signOut, switchOrg],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

/** Whether the signed-in principal holds `permission` (`jobs:execute`…): pages hide what it cannot do. */
export function usePermission(permission: string): boolean {
  return useSession().me?.permissions.includes(permission) ?? false;
}
