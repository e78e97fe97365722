import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { contextOf, metaOf } from '../../http/context.js';
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
import type { AuthService } from './auth.service.js';

const tags = ['auth'];

export function authRoutes(deps: { auth: AuthService; limiter: RateLimiter }): FastifyPluginAsyncTypebox {
  const { auth, limiter } = deps;

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
        config: { permission: 'public' },
        preValidation: rateLimited,
        schema: {
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
        config: { permission: 'public' },
        preValidation: rateLimited,
        schema: {
          tags,
          summary: 'Log in with email and password',
          body: LoginBody,
          response: { 200: LoginResultSchema },
        },
      },
      async (request) => auth.login(metaOf(request), request.body),
    );

    app.post(
      '/api/v1/auth/token',
      {
        config: { permission: 'public' },
        preValidation: rateLimited,
        schema: {
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
        config: { permission: 'public' },
        schema: {
          tags,
          summary: 'Trade a refresh token for new tokens (rotation)',
          body: RefreshBody,
          response: { 200: LoginResultSchema },
        },
      },
      async (request) => auth.refresh(metaOf(request), request.body.refresh_token),
    );

    app.post(
      '/api/v1/auth/logout',
      { config: { permission: 'authenticated' }, schema: { tags, summary: 'End this session' } },
      async (request, reply) => {
        await auth.logout(contextOf(request));
        return reply.status(204).send();
      },
    );

    app.get(
      '/api/v1/auth/me',
      {
        config: { permission: 'authenticated' },
        schema: {
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
        config: { permission: 'authenticated' },
        schema: { tags, summary: 'Change your password; other sessions end', body: PasswordChangeBody },
      },
      async (request, reply) => {
        await auth.changePassword(contextOf(request), request.body);
        return reply.status(204).send();
      },
    );

    app.post(
      '/api/v1/auth/password-reset',
      {
        config: { permission: 'public' },
        preValidation: rateLimited,
        schema: {
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
        config: { permission: 'public' },
        preValidation: rateLimited,
        schema: { tags, summary: 'Set a new password with a reset token', body: ResetConfirmBody },
      },
      async (request, reply) => {
        await auth.confirmPasswordReset(metaOf(request), request.body);
        return reply.status(204).send();
      },
    );

    app.post(
      '/api/v1/auth/switch-org',
      {
        config: { permission: 'authenticated' },
        schema: {
          tags,
          summary: 'Open a session in another of your organisations',
          body: SwitchOrgBody,
          response: { 200: LoginResultSchema },
        },
      },
      async (request) => auth.switchOrg(contextOf(request), request.body.org_id),
    );
  };
}
