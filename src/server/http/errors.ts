import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { isDatabaseUnavailable } from '../db/availability.js';
import { AppError, errorStatus, type ErrorCode, type ErrorDetail } from '../lib/errors.js';

/** The error shape's name: its `$id`, and its name in the OpenAPI document's components. */
export const ERROR_BODY_ID = 'ErrorBody';

/**
 * The one error shape, shared by every error response of the OpenAPI document. Error bodies are
 * serialized with it: a detail keeps every property it has (`field`, `uninstall`, `members`...).
 */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.Enum(Object.keys(errorStatus) as ErrorCode[], {
        description: 'Stable code: what went wrong, for programs; the HTTP status follows from it',
      }),
      message: Type.String({ description: 'What went wrong, for people' }),
      details: Type.Array(
        Type.Object(
          {
            field: Type.Optional(
              Type.String({ description: 'The input at fault, as `body.name` or `querystring.q`' }),
            ),
            message: Type.String(),
          },
          { additionalProperties: true },
        ),
      ),
    }),
    request_id: Type.String({ description: 'Also in the `x-request-id` header; logs name it' }),
  },
  { $id: ERROR_BODY_ID, description: 'Every error answer of the API' },
);

function send(
  reply: FastifyReply,
  request: FastifyRequest,
  code: ErrorCode,
  message: string,
  details: ErrorDetail[] = [],
) {
  return reply
    .status(errorStatus[code])
    .type('application/json')
    .send({ error: { code, message, details }, request_id: request.id });
}

function fromFastify(error: FastifyError): AppError {
  if (error.validation) {
    return new AppError('validation_failed', 'request is not valid', {
      details: error.validation.map((v) => {
        const missing = typeof v.params.missingProperty === 'string' ? `/${v.params.missingProperty}` : '';
        const extra =
          typeof v.params.additionalProperty === 'string' ? `/${v.params.additionalProperty}` : '';
        return {
          field: `${error.validationContext ?? 'body'}${`${v.instancePath}${missing}${extra}`.replaceAll('/', '.')}`,
          message: v.message ?? 'is not valid',
        };
      }),
    });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', 'request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('bad_request', 'content type is not supported; send application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new AppError('bad_request', 'request body is not valid JSON');
    case 'FST_ERR_BAD_URL':
      return new AppError('bad_request', 'the path is not valid: a percent-encoded part is not UTF-8');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new AppError('bad_request', 'a path parameter is longer than 100 characters');
    default:
      if (error.statusCode === 400 || error instanceof SyntaxError)
        return new AppError('bad_request', error.message);
      if (error.statusCode === 413) return new AppError('payload_too_large', 'request body is too large');
      if (error.statusCode === 415) return new AppError('bad_request', error.message);
      return new AppError('internal', 'internal error');
  }
}

/** Seconds a client is told to wait when the database is unreachable: about a reconnect's time. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

export function databaseUnavailable(): AppError {
  return new AppError('not_ready', 'the database is not reachable; try again shortly', {
    retryAfterSeconds: DATABASE_RETRY_AFTER_SECONDS,
  });
}

function toAppError(error: FastifyError | AppError): AppError {
  if (error instanceof AppError) return error;
  // not a bug of this request: the database went away under it
  if (isDatabaseUnavailable(error)) return databaseUnavailable();
  return fromFastify(error);
}

/**
 * Fastify's answer to a URL its router cannot read (bad percent-encoding, an overlong parameter),
 * given before any route or error handler runs: passed as the `frameworkErrors` option.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const appError = fromFastify(error);
  void send(reply, request, appError.code, appError.message, appError.details);
}

/** One error shape for everything: application errors, validation, unknown routes, crashes. */
export function installErrorHandling(app: FastifyInstance): void {
  app.addSchema(ErrorBody);

  app.setErrorHandler((error: FastifyError | AppError, request, reply) => {
    const appError = toAppError(error);
    if (appError.code === 'internal') request.log.error({ err: error }, 'request failed');
    if (appError.retryAfterSeconds !== undefined)
      void reply.header('retry-after', String(appError.retryAfterSeconds));
    if (appError.code === 'unauthorized') void reply.header('www-authenticate', 'Bearer realm="fleetplane"');
    return send(reply, request, appError.code, appError.message, appError.details);
  });

  app.setNotFoundHandler((request, reply) =>
    send(reply, request, 'not_found', `no route for ${request.method} ${request.url.split('?')[0]}`),
  );
}
