/** Stable error codes; the HTTP edge maps them to statuses, services never see HTTP. */
export const errorStatus = {
  bad_request: 400,
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  /** A cookie-authenticated request without the matching `X-CSRF-Token` header. */
  csrf_failed: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  payload_too_large: 413,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
  /** A receiver this server called (a webhook, a notification channel) could not be reached. */
  bad_gateway: 502,
  not_ready: 503,
  /** The AI provider is not configured, refuses connections or is rate-limiting us. */
  provider_unavailable: 503,
  /** A provider this server called (the AI assistant's) did not answer in time. */
  gateway_timeout: 504,
  /** This node holds as many agent sockets as it may; another node, or this one later, may take it. */
  node_full: 503,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export interface ErrorDetail {
  field?: string;
  message: string;
  [key: string]: unknown;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetail[];
  /** Seconds, for answers the client may retry later (rate_limited, not_ready, node_full). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: ErrorDetail[]; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = options.details ?? [];
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  get status(): number {
    return errorStatus[this.code];
  }
}

export function notFound(entity: string): AppError {
  return new AppError('not_found', `${entity} not found`);
}

export function assertNever(value: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(value)}`);
}
