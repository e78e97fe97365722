import createClient from 'openapi-fetch';
import type { components, paths } from './schema';

export type ErrorBody = components['schemas']['ErrorBody'];

/** JSON answer of an operation: `Json<'/api/v1/agents', 'get'>`. */
export type Json<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends {
  responses: infer R;
}
  ? {
      [S in keyof R]: S extends 200 | 201 | 202
        ? R[S] extends { content: { 'application/json': infer B } }
          ? B
          : never
        : never;
    }[keyof R]
  : never;

/** The server's one error shape, thrown: its message is what the UI shows. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorBody['error']['details'];

  constructor(status: number, body: ErrorBody | undefined) {
    super(body?.error.message ?? `request failed (HTTP ${status})`);
    this.name = 'ApiError';
    this.status = status;
    this.code = body?.error.code ?? 'unknown';
    this.details = body?.error.details ?? [];
  }
}

/**
 * The access token lives in this module only (never in storage): a reload gets a new one from
 * the httpOnly refresh cookie. Listeners hear every change (sign-in, refresh, sign-out).
 */
let accessToken: string | null = null;
const tokenListeners = new Set<(token: string | null) => void>();

export const tokenStore = {
  get: () => accessToken,
  set(token: string | null) {
    accessToken = token;
    for (const listener of tokenListeners) listener(token);
  },
  subscribe(listener: (token: string | null) => void): () => void {
    tokenListeners.add(listener);
    return () => tokenListeners.delete(listener);
  },
};

export const client = createClient<paths>({ baseUrl: '' });
client.use({
  onRequest({ request }) {
    if (accessToken && !request.headers.has('authorization'))
      request.headers.set('authorization', `Bearer ${accessToken}`);
    return request;
  },
});

function csrfToken(): string {
  const match = /(?:^|;\s*)fp_csrf=([^;]+)/.exec(document.cookie);
  return match?.[1] ? decodeURIComponent(match[1]) : '';
}

let refreshing: Promise<boolean> | null = null;

/** Trades the refresh cookie for a new access token; concurrent callers share one attempt. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= client
    .POST('/api/v1/auth/refresh', { body: {}, headers: { 'x-csrf-token': csrfToken() } })
    .then(({ data }) => {
      tokenStore.set(data?.access_token ?? null);
      return Boolean(data);
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

interface Outcome<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/**
 * Sends a request built on `client`, refreshing the session once when it answers 401, and
 * returns its data or throws ApiError: `await api((c) => c.GET('/api/v1/agents'))`.
 */
export async function api<T>(send: (c: typeof client) => Promise<Outcome<T>>): Promise<T> {
  return (await answered(send)).data as T;
}

async function answered<T>(send: (c: typeof client) => Promise<Outcome<T>>): Promise<Outcome<T>> {
  let outcome = await send(client);
  if (outcome.response.status === 401 && accessToken && (await refreshSession()))
    outcome = await send(client);
  if (!outcome.response.ok) {
    if (outcome.response.status === 401) tokenStore.set(null);
    throw new ApiError(outcome.response.status, outcome.error as ErrorBody | undefined);
  }
  return outcome;
}

/**
 * Sends a request as `api` does (`parseAs: 'blob'`) and hands what it answers to the browser as a
 * file, named as its content-disposition says: a plain link would carry no token.
 */
export async function saveDownload(
  send: (c: typeof client) => Promise<Outcome<Blob>>,
  fallbackName: string,
): Promise<void> {
  const { data, response } = await answered(send);
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1];
  const url = URL.createObjectURL(data as Blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name ?? fallbackName;
  link.click();
  URL.revokeObjectURL(url);
}
