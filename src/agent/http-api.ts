import { Compile } from 'typebox/compile';
import {
  HeartbeatResponse,
  JobEventsResponse,
  RegisterResponse,
  type HeartbeatRequest,
  type JobEvent,
  type RegisterRequest,
} from '../protocol/agent.js';
import { errorMessage } from './log.js';

/** The agent's HTTP calls to the server: registration, and the polling fallback's heartbeat and events. */

/** A reply is an outcome, not an exception: callers branch on 401 and 410. */
export type ApiOutcome<T> =
  | { ok: true; status: number; body: T }
  /** status is null when no HTTP answer arrived (network error, timeout) or it was not understood. */
  | { ok: false; status: number | null; message: string };

const REQUEST_TIMEOUT_MS = 30_000;

/** `server` is the base URL (maybe with a path prefix); the API lives under it. */
export function endpoint(server: string, apiPath: string): string {
  return new URL(apiPath.replace(/^\//, ''), server.endsWith('/') ? server : `${server}/`).toString();
}

export function websocketUrl(server: string): string {
  const url = new URL(endpoint(server, '/api/v1/agent/ws'));
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** The server's error shape is `{ error: { code, message } }`; anything else is shown as it came. */
function describeError(status: number, text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
    const { code, message } = body.error ?? {};
    if (typeof message === 'string')
      return `HTTP ${status}${typeof code === 'string' ? ` ${code}` : ''}: ${message}`;
  } catch {
    // not JSON: fall through to the raw text
  }
  return `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
}

const checkRegister = Compile(RegisterResponse);
const checkHeartbeat = Compile(HeartbeatResponse);
const checkEvents = Compile(JobEventsResponse);

type Guard<T> = (value: unknown) => value is T;

export class AgentApi {
  constructor(private readonly server: string) {}

  register(request: RegisterRequest, signal: AbortSignal): Promise<ApiOutcome<RegisterResponse>> {
    return this.postJson('/api/v1/agent/register', undefined, request, signal, (v) => checkRegister.Check(v));
  }

  heartbeat(
    token: string,
    request: HeartbeatRequest,
    signal: AbortSignal,
  ): Promise<ApiOutcome<HeartbeatResponse>> {
    return this.postJson('/api/v1/agent/heartbeat', token, request, signal, (v) => checkHeartbeat.Check(v));
  }

  /** The reply holds one answer per event, in order. */
  postEvents(
    token: string,
    jobId: string,
    events: JobEvent[],
    signal: AbortSignal,
  ): Promise<ApiOutcome<JobEventsResponse>> {
    return this.postJson(
      `/api/v1/agent/jobs/${encodeURIComponent(jobId)}/events`,
      token,
      { events },
      signal,
      (v) => checkEvents.Check(v),
    );
  }

  private async postJson<T>(
    apiPath: string,
    token: string | undefined,
    body: unknown,
    signal: AbortSignal,
    guard: Guard<T>,
  ): Promise<ApiOutcome<T>> {
    const outcome = await this.post(apiPath, token, body, signal);
    if (!outcome.ok) return outcome;
    let value: unknown;
    try {
      value = JSON.parse(outcome.body);
    } catch {
      return { ok: false, status: null, message: `${apiPath} answered with something that is not JSON` };
    }
    if (!guard(value))
      return { ok: false, status: null, message: `${apiPath} answered with an unexpected body` };
    return { ok: true, status: outcome.status, body: value };
  }

  /** The raw text of a 2xx reply. */
  private async post(
    apiPath: string,
    token: string | undefined,
    body: unknown,
    signal: AbortSignal,
  ): Promise<ApiOutcome<string>> {
    try {
      const response = await fetch(endpoint(this.server, apiPath), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      });
      const text = await response.text();
      if (!response.ok)
        return { ok: false, status: response.status, message: describeError(response.status, text) };
      return { ok: true, status: response.status, body: text };
    } catch (error) {
      return { ok: false, status: null, message: errorMessage(error) };
    }
  }
}
