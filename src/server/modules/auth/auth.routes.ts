import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { contextOf, metaOf } from '../../http/context.js';
import { NoContent } from '../../http/schemas.js';
import type { RateLimiter } from '../../http/rate-limit.js';
import { AppError } from '../../lib/errors.js';
import {
  LoginBody,
  LoginResultSchema,
  MeSchema,
  PasswordChangeBody,
  RefreshBody,
  ResetConfirmBody,
  ResetRequestBody,
  SignupBody,
  SwitchOrgBody,
  TokenBody,
  TokenResult,
} from './auth.schemas.js';
import { clearSessionCookies, cookieRefreshToken, setSessionCookies } from './auth.cookies.js';
import type { AuthService, LoginResult } from './auth.service.js';

const tags = ['auth'];

export function authRoutes(deps: {
  auth: AuthService;
  limiter: RateLimiter;
  /** The refresh cookie lives as long as the refresh token. */
  refreshTtlMs: number;
}): FastifyPluginAsyncTypebox {
  const { auth, limiter, refreshTtlMs } = deps;

  /** A cookie session's answer carries its refresh token in the cookie only. */
  const answer = (request: FastifyRequest, reply: FastifyReply, result: LoginResult, cookie: boolean) => {
    if (!cookie) return result;
    setSessionCookies(request, reply, result.refresh_token, refreshTtlMs);
    const { refresh_token: _inCookie, ...rest } = result;
    return rest;
  };

  /** Counted before validation, so malformed attempts count too: per IP and per account. */
  const rateLimited = async (request: FastifyRequest) => {
    const body = (request.body ?? {}) as { email?: unknown; username?: unknown };
    const account =
      typeof body.email === 'string' ? body.email : typeof body.username === 'string' ? body.username : null;
    const route = request.routeOptions.url ?? '';
    // Login and token guess the same passwords, so they share one budget per account.
    const scope = route === '/api/v1/auth/token' ? '/api/v1/auth/login' : route;
    const accountKey = account ? [`${scope}|account|${account.trim().toLowerCase()}`] : [];
    limiter.hit([`${route}|ip|${request.ip}`, ...accountKey]);
  };

  return async (app) => {
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_request, body, done) => {
        done(null, Object.fromEntries(new URLSearchParams(body as string)));
      },
    );

    app.post(
      '/api/v1/auth/signup',
      {
        config: {
          permission: 'public',
          errors: ['unauthorized', 'forbidden', 'conflict', 'unprocessable', 'rate_limited', 'not_ready'],
        },
        preValidation: rateLimited,
        schema: {
          operationId: 'signup',
          tags,
          summary: 'Create an account (and its organisation), or accept an invite',
          body: SignupBody,
          response: { 201: LoginResultSchema },
        },
      },
      async (request, reply) => reply.status(201).send(await auth.signup(metaOf(request), request.body)),
    );

    app.post(
      '/api/v1/auth/login',
      {
        config: { permission: 'public', errors: ['unauthorized', 'forbidden', 'rate_limited', 'not_ready'] },
        preValidation: rateLimited,
        schema: {
          operationId: 'login',
          tags,
          summary: 'Log in with email and password',
          body: LoginBody,
          response: { 200: LoginResultSchema },
        },
      },
      async (request, reply) => {
        const { session, ...credentials } = request.body;
        return answer(request, reply, await auth.login(metaOf(request), credentials), session === 'cookie');
      },
    );

    app.post(
      '/api/v1/auth/token',
      {
        config: { permission: 'public', errors: ['unauthorized', 'forbidden', 'rate_limited', 'not_ready'] },
        preValidation: rateLimited,
        schema: {
          operationId: 'issueToken',
          tags,
          summary: 'OAuth2 token endpoint (password and refresh_token grants) for tools',
          consumes: ['application/x-www-form-urlencoded', 'application/json'],
          body: TokenBody,
          response: { 200: TokenResult },
        },
      },
      async (request) => {
        const body = request.body;
        if (body.grant_type === 'refresh_token') {
          if (!body.refresh_token) throw new AppError('bad_request', 'refresh_token is required');
          return auth.refresh(metaOf(request), body.refresh_token);
        }
        if (!body.username || !body.password)
          throw new AppError('bad_request', 'username and password are required');
        return auth.login(metaOf(request), { email: body.username, password: body.password });
      },
    );

    app.post(
      '/api/v1/auth/refresh',
      {
        config: { permission: 'public', errors: ['unauthorized', 'csrf_failed', 'not_ready'] },
        schema: {
          operationId: 'refreshSession',
          tags,
          summary:
            'Trade a refresh token for new tokens (rotation): the one in the body, else the fp_refresh cookie with the X-CSRF-Token header',
          body: RefreshBody,
          response: { 200: LoginResultSchema },
        },
      },
      async (request, reply) => {
        const { refresh_token: inBody, session } = request.body;
        const token = inBody ?? cookieRefreshToken(request);
        const result = await auth.refresh(metaOf(request), token);
        return answer(request, reply, result, session === 'cookie' || inBody === undefined);
      },
    );

    app.post(
      '/api/v1/auth/logout',
      {
        config: { permission: 'authenticated', errors: ['bad_request'] },
        schema: { operationId: 'logout', tags, summary: 'End this session', response: { 204: NoContent } },
      },
      async (request, reply) => {
        await auth.logout(contextOf(request));
        clearSessionCookies(request, reply);
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/v1/auth/me',
      {
        config: { permission: 'authenticated' },
        schema: {
          operationId: 'getMe',
          tags,
          summary: 'Who is calling, in which organisation, with what permissions',
          response: { 200: MeSchema },
        },
      },
      async (request) => auth.me(contextOf(request)),
    );

    app.post(
      '/api/v1/auth/password',
      {
        config: { permission: 'authenticated', errors: ['unprocessable'] },
        schema: {
          operationId: 'changePassword',
          tags,
          summary: 'Change your password; other sessions end',
          body: PasswordChangeBody,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await auth.changePassword(contextOf(request), request.body);
        return reply.status(204).send();
      },
    );

    app.post(
      '/api/v1/auth/password-reset',
      {
        config: { permission: 'public', errors: ['rate_limited', 'not_ready'] },
        preValidation: rateLimited,
        schema: {
          operationId: 'requestPasswordReset',
          tags,
          summary: 'Send a single-use password reset token',
          body: ResetRequestBody,
          response: { 202: Type.Object({ accepted: Type.Boolean() }) },
        },
      },
      async (request, reply) => {
        await auth.requestPasswordReset(metaOf(request), request.body.email);
        return reply.status(202).send({ accepted: true });
      },
    );

    app.post(
      '/api/v1/auth/password-reset/confirm',
      {
        config: { permission: 'public', errors: ['unprocessable', 'rate_limited', 'not_ready'] },
        preValidation: rateLimited,
        schema: {
          operationId: 'confirmPasswordReset',
          tags,
          summary: 'Set a new password with a reset token',
          body: ResetConfirmBody,
          response: { 204: NoContent },
        },
      },
      async (request, reply) => {
        await auth.confirmPasswordReset(metaOf(request), request.body);
        return reply.status(204).send();
      },
    );

    app.post(
      '/api/v1/auth/switch-org',
      {
        config: { permission: 'authenticated', errors: ['not_found'] },
        schema: {
          operationId: 'switchOrg',
          tags,
          summary: 'Open a session in another of your organisations',
          body: SwitchOrgBody,
          response: { 200: LoginResultSchema },
        },
      },
      async (request, reply) =>
        answer(
          request,
          reply,
          await auth.switchOrg(contextOf(request), request.body.org_id),
          request.body.session === 'cookie',
        ),
    );
  };
}
