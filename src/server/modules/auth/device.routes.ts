import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { contextOf, metaOf, publicOrigin } from '../../http/context.js';
import type { RateLimiter } from '../../http/rate-limit.js';
import { IdParams, NoContent } from '../../http/schemas.js';
import { PageOf, PageQuery, pageParams } from '../../lib/pagination.js';
import {
  DeviceConfirmBody,
  DeviceSchema,
  DeviceStartBody,
  DeviceStartResult,
  DeviceTokenBody,
  DeviceTokenResult,
  SdkTokenSchema,
} from './device.schemas.js';
import type { DeviceService } from './device.service.js';

const tags = ['sdk'];

export function deviceRoutes(deps: {
  device: DeviceService;
  limiter: RateLimiter;
  /** Where the console is; the request's own origin when not configured. */
  publicUrl: string | undefined;
}): FastifyPluginAsyncTypebox {
  const { device, limiter, publicUrl } = deps;
  const baseUrl = (request: FastifyRequest) => publicOrigin(request, publicUrl);
  return async (app) => {
    app.post(
      '/api/v1/sdk/device/start',
      {
        config: { permission: 'public', errors: ['rate_limited', 'not_ready'] },
        // Counted before validation, as sign-in is: per IP.
        preValidation: async (request) => limiter.hit([`${request.routeOptions.url ?? ''}|ip|${request.ip}`]),
        schema: {
          operationId: 'startDeviceSignIn',
          tags,
          summary:
            'Begin an SDK sign-in (RFC 8628): show user_code and verification_uri to the user, then poll the token endpoint',
          body: DeviceStartBody,
          response: { 200: DeviceStartResult },
        },
      },
      async (request) => device.start(metaOf(request), request.body, baseUrl(request)),
    );

    app.post(
      '/api/v1/sdk/device/token',
      {
        config: { permission: 'public', errors: ['not_found', 'not_ready'] },
        schema: {
          operationId: 'pollDeviceToken',
          tags,
          summary:
            'Poll for the SDK token. Always HTTP 200 with a `status`: pending; slow_down (polled sooner than `interval`, which grows by 5 s); denied; expired (also once the token was issued); confirmed, with the token, once. An unknown device_code is 404',
          body: DeviceTokenBody,
          response: { 200: DeviceTokenResult },
        },
      },
      async (request) => device.poll(metaOf(request), request.body.device_code),
    );

    app.post(
      '/api/v1/sdk/device/confirm',
      {
        config: { permission: 'authenticated', errors: ['not_found', 'gone', 'conflict', 'unprocessable'] },
        schema: {
          operationId: 'confirmDeviceSignIn',
          tags,
          summary:
            'Approve (for you, in your current organisation) or deny an SDK sign-in by its user code; an expired code is 410',
          body: DeviceConfirmBody,
          response: { 200: DeviceSchema },
        },
      },
      async (request) => device.confirm(contextOf(request), request.body),
    );

    app.get(
      '/api/v1/sdk/tokens',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'listSdkTokens',
          tags,
          summary: 'Your SDK tokens in this organisation (masked), newest first',
          querystring: PageQuery,
          response: { 200: PageOf(SdkTokenSchema) },
        },
      },
      async (request) => device.listTokens(contextOf(request), pageParams(request.query)),
    );

    app.delete(
      '/api/v1/sdk/tokens/:id',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'revokeSdkToken',
          tags,
          summary: 'Revoke one of your SDK tokens',
          params: IdParams,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await device.revokeToken(contextOf(request), request.params.id);
        return reply.status(204).send();
      },
    );
  };
}
