import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  api,
  ApiError,
  refreshSession,
  saveDownload,
  tokenStore,
  type ErrorBody,
  type Json,
} from '../../api/client';

export type Package = Json<'/api/v1/packages', 'get'>['items'][number];
export type PackageDetail = Json<'/api/v1/packages/{id}', 'get'>;

export interface PackageFilters {
  q?: string;
}

export function usePackages(filters: PackageFilters, cursor: string | undefined, limit = 50) {
  return useQuery({
    queryKey: ['packages', 'list', filters, cursor, limit],
    queryFn: () =>
      api((c) => c.GET('/api/v1/packages', { params: { query: { q: filters.q, cursor, limit } } })),
    placeholderData: keepPreviousData,
  });
}

export function usePackage(id: string | null) {
  return useQuery({
    queryKey: ['packages', 'one', id],
    queryFn: () => api((c) => c.GET('/api/v1/packages/{id}', { params: { path: { id: id ?? '' } } })),
    enabled: id !== null,
  });
}

/** Sends the form once; XMLHttpRequest, as fetch reports no upload progress. */
function sendUpload(file: File, onProgress: (fraction: number) => void): Promise<XMLHttpRequest> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', '/api/v1/packages');
    const token = tokenStore.get();
    if (token) request.setRequestHeader('authorization', `Bearer ${token}`);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onload = () => resolve(request);
    request.onerror = () => reject(new Error('the upload did not reach the server'));
    const form = new FormData();
    form.append('file', file, file.name);
    request.send(form);
  });
}

/** Uploads a package zip as multipart/form-data, refreshing the session once on a 401. */
export async function uploadPackage(
  file: File,
  onProgress: (fraction: number) => void,
): Promise<PackageDetail> {
  let request = await sendUpload(file, onProgress);
  if (request.status === 401 && (await refreshSession())) request = await sendUpload(file, onProgress);
  const body = request.responseText ? (JSON.parse(request.responseText) as unknown) : undefined;
  if (request.status !== 201) throw new ApiError(request.status, body as ErrorBody | undefined);
  return body as PackageDetail;
}

export function useUploadPackage() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ file, onProgress }: { file: File; onProgress: (fraction: number) => void }) =>
      uploadPackage(file, onProgress),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['packages'] }),
  });
}

export function useSetPackageActive() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, active }: { id: string; active: boolean }) =>
      api((c) =>
        active
          ? c.POST('/api/v1/packages/{id}/activate', { params: { path: { id } } })
          : c.POST('/api/v1/packages/{id}/deactivate', { params: { path: { id } } }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['packages'] }),
  });
}

export function useDeletePackage() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => api((c) => c.DELETE('/api/v1/packages/{id}', { params: { path: { id } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['packages'] }),
  });
}

/** Saves the package's zip. */
export function downloadPackage(pkg: Pick<Package, 'id' | 'name' | 'version'>): Promise<void> {
  return saveDownload(
    (c) => c.GET('/api/v1/packages/{id}/download', { params: { path: { id: pkg.id } }, parseAs: 'blob' }),
    `${pkg.name}-${pkg.version}.zip`,
  );
}
