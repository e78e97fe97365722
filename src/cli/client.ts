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

/** Query values left undefined are not sent. */
export type Query = Record<string, string | number | boolean | undefined>;

function urlOf(server: string, route: string, query: Query = {}): URL {
  const url = new URL(route, server);
  for (const [name, value] of Object.entries(query))
    if (value !== undefined) url.searchParams.set(name, String(value));
  return url;
}

export async function callApi<T>(
  server: string,
  method: string,
  route: string,
  options: { token?: string; body?: unknown; query?: Query } = {},
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(urlOf(server, route, options.query), {
      method,
      headers: {
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
    });
  } catch (error) {
    // fetch says only "fetch failed"; its cause names what went wrong (ECONNREFUSED, a DNS error)
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`cannot reach ${server}: ${cause?.code ?? cause?.message ?? String(error)}`);
  }
  const text = await response.text();
  const json = response.headers.get('content-type')?.includes('application/json');
  const body: unknown = json && text ? JSON.parse(text) : text || null;
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

const LOG_IN_AGAIN = 'the stored login has expired: log in again with `fleetplane login`';

/**
 * The operator's client: an API key from the environment (`FLEETPLANE_API_KEY` with
 * `FLEETPLANE_SERVER`), else the stored login, whose access token is refreshed once when refused.
 */
export class ApiClient {
  readonly server: string;
  #token: string;
  readonly #store: CredentialStore | null;

  private constructor(server: string, token: string, store: CredentialStore | null) {
    this.server = server;
    this.#token = token;
    this.#store = store;
  }

  static fromEnvironment(env: NodeJS.ProcessEnv, store: CredentialStore): ApiClient {
    const apiKey = env.FLEETPLANE_API_KEY;
    if (apiKey) {
      if (!env.FLEETPLANE_SERVER) throw new Error('FLEETPLANE_API_KEY is set but FLEETPLANE_SERVER is not');
      return new ApiClient(env.FLEETPLANE_SERVER, apiKey, null);
    }
    const stored = store.read();
    if (!stored)
      throw new Error(
        'no credentials: run `fleetplane login --server URL --email EMAIL`, ' +
          'or set FLEETPLANE_API_KEY and FLEETPLANE_SERVER',
      );
    return new ApiClient(stored.server, stored.access_token, store);
  }

  /** The bearer token of the next request (the events socket sends it too). */
  get token(): string {
    return this.#token;
  }

  async request<T>(
    method: string,
    route: string,
    options: { body?: unknown; query?: Query } = {},
  ): Promise<T> {
    try {
      return await callApi<T>(this.server, method, route, { ...options, token: this.#token });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      await this.refresh();
      try {
        return await callApi<T>(this.server, method, route, { ...options, token: this.#token });
      } catch (again) {
        if (again instanceof ApiError && again.status === 401) throw new Error(LOG_IN_AGAIN);
        throw again;
      }
    }
  }

  get<T>(route: string, query?: Query): Promise<T> {
    return this.request<T>('GET', route, { query });
  }

  /** Every item of a paginated list, page after page, or the first `limit`. */
  async list<T>(route: string, query: Query = {}, limit = Infinity): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.get<{ items: T[]; next_cursor: string | null }>(route, {
        ...query,
        limit: Math.min(200, limit - items.length),
        cursor,
      });
      items.push(...page.items);
      cursor = page.next_cursor ?? undefined;
    } while (cursor && items.length < limit);
    return items;
  }

  /** Swaps the stored login's refresh token for a new pair; an API key cannot be refreshed. */
  async refresh(): Promise<void> {
    const stored = this.#store?.read();
    if (!this.#store || !stored)
      throw new Error('the API key was refused: it may be revoked, expired or mistyped');
    let refreshed: LoginResponse;
    try {
      refreshed = await callApi<LoginResponse>(stored.server, 'POST', '/api/v1/auth/refresh', {
        body: { refresh_token: stored.refresh_token },
      });
    } catch (error) {
      if (error instanceof ApiError && error.status < 500) throw new Error(LOG_IN_AGAIN);
      throw error;
    }
    this.#store.write({
      ...stored,
      access_token: refreshed.access_token,
      refresh_token: refreshed.refresh_token,
    });
    this.#token = refreshed.access_token;
  }
}
