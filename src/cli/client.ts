import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface StoredCredentials {
  server: string;
  access_token: string;
  refresh_token: string;
  email: string;
  org_id: string;
}

/** Credentials of `fleetplane login`, kept 0600 for later client commands. */
export class CredentialStore {
  constructor(readonly file: string) {}

  read(): StoredCredentials | null {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as StoredCredentials;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  write(credentials: StoredCredentials): void {
    mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    writeFileSync(this.file, JSON.stringify(credentials, null, 2), { mode: 0o600 });
  }
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const message = (body as { error?: { message?: string } } | null)?.error?.message ?? `HTTP ${status}`;
    super(message);
  }
}

export async function callApi<T>(
  server: string,
  method: string,
  route: string,
  options: { token?: string; body?: unknown } = {},
): Promise<T> {
  const response = await fetch(new URL(route, server), {
    method,
    headers: {
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  const text = await response.text();
  const body: unknown = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, body);
  return body as T;
}

interface LoginResponse {
  access_token: string;
  refresh_token: string;
  user: { email: string };
  org: { id: string; name: string };
}

export async function login(
  store: CredentialStore,
  server: string,
  email: string,
  password: string,
): Promise<LoginResponse> {
  const result = await callApi<LoginResponse>(server, 'POST', '/api/v1/auth/login', {
    body: { email, password },
  });
  store.write({
    server,
    access_token: result.access_token,
    refresh_token: result.refresh_token,
    email: result.user.email,
    org_id: result.org.id,
  });
  return result;
}

/** Calls the API with the stored token, refreshing it once when it has expired. */
export async function callWithStored<T>(
  store: CredentialStore,
  method: string,
  route: string,
  body?: unknown,
): Promise<T> {
  const credentials = store.read();
  if (!credentials) throw new Error('not logged in: run `fleetplane login --server URL --email EMAIL` first');
  try {
    return await callApi<T>(credentials.server, method, route, { token: credentials.access_token, body });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
    const refreshed = await callApi<LoginResponse>(credentials.server, 'POST', '/api/v1/auth/refresh', {
      body: { refresh_token: credentials.refresh_token },
    });
    store.write({
      ...credentials,
      access_token: refreshed.access_token,
      refresh_token: refreshed.refresh_token,
    });
    return callApi<T>(credentials.server, method, route, { token: refreshed.access_token, body });
  }
}
