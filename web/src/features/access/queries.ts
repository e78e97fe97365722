import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Json } from '../../api/client';
import type { paths } from '../../api/schema';

export type Role = Json<'/api/v1/access/roles', 'get'>['items'][number];
export type Member = Json<'/api/v1/access/users', 'get'>['items'][number];
export type Invite = Json<'/api/v1/access/invites', 'get'>['items'][number];
export type RoleBody = paths['/api/v1/access/roles']['post']['requestBody']['content']['application/json'];

/** Every role of the organisation on one page: an organisation has a handful, and forms pick from them all. */
export function useRoles() {
  return useQuery({
    queryKey: ['access', 'roles'],
    queryFn: () => api((c) => c.GET('/api/v1/access/roles', { params: { query: { limit: 200 } } })),
  });
}

export function usePermissionCatalogue() {
  return useQuery({
    queryKey: ['access', 'permissions'],
    queryFn: () => api((c) => c.GET('/api/v1/access/permissions')),
    staleTime: Infinity,
  });
}

export function useMembers(cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['access', 'members', cursor, limit],
    queryFn: () => api((c) => c.GET('/api/v1/access/users', { params: { query: { cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}

export function useInvites(cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['access', 'invites', cursor, limit],
    queryFn: () => api((c) => c.GET('/api/v1/access/invites', { params: { query: { cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}

/** Every access mutation reads the access queries again: a role change shows in members too. */
function useAccessMutation<T>(mutationFn: (input: T) => Promise<unknown>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['access'] }),
  });
}

export function useSetMemberRoles() {
  return useAccessMutation(({ id, roleIds }: { id: string; roleIds: string[] }) =>
    api((c) =>
      c.PUT('/api/v1/access/users/{id}/roles', { params: { path: { id } }, body: { role_ids: roleIds } }),
    ),
  );
}

export function useRemoveMember() {
  return useAccessMutation((id: string) =>
    api((c) => c.DELETE('/api/v1/access/users/{id}', { params: { path: { id } } })),
  );
}

export function useCreateInvite() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { email: string; role_id: string }) =>
      api((c) => c.POST('/api/v1/access/invites', { body })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['access', 'invites'] }),
  });
}

export function useRevokeInvite() {
  return useAccessMutation((id: string) =>
    api((c) => c.DELETE('/api/v1/access/invites/{id}', { params: { path: { id } } })),
  );
}

export function useCreateRole() {
  return useAccessMutation((body: RoleBody) => api((c) => c.POST('/api/v1/access/roles', { body })));
}

export function useUpdateRolePermissions() {
  return useAccessMutation(({ id, permissions }: { id: string; permissions: string[] }) =>
    api((c) => c.PATCH('/api/v1/access/roles/{id}', { params: { path: { id } }, body: { permissions } })),
  );
}

export function useDeleteRole() {
  return useAccessMutation((id: string) =>
    api((c) => c.DELETE('/api/v1/access/roles/{id}', { params: { path: { id } } })),
  );
}
