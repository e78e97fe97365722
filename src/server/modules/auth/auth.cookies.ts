import { timingSafeEqual } from 'node:crypto';
import type {} from '@fastify/cookie';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { newSecret } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';

/**
 * A browser session keeps its refresh token where page scripts cannot read it: the httpOnly
 * `fp_refresh` cookie, sent only to the auth routes. Refreshing by that cookie needs the
 * double-submit CSRF token: the `fp_csrf` cookie, readable by the console's own pages only
 * (SameSite=Strict), echoed in `X-CSRF-Token`; another site can neither read it nor send it.
 */
export const REFRESH_COOKIE = 'fp_refresh';
export const CSRF_COOKIE = 'fp_csrf';
export const CSRF_HEADER = 'x-csrf-token';
const REFRESH_PATH = '/api/v1/auth';

/** `request.protocol` follows X-Forwarded-Proto only when FLEETPLANE_TRUST_PROXY is set. */
function baseOptions(request: FastifyRequest) {
  return { sameSite: 'strict', secure: request.protocol === 'https' } as const;
}

export function setSessionCookies(
  request: FastifyRequest,
  reply: FastifyReply,
  refreshToken: string,
  ttlMs: number,
): void {
  const maxAge = Math.floor(ttlMs / 1000);
  void reply.setCookie(REFRESH_COOKIE, refreshToken, {
    ...baseOptions(request),
    httpOnly: true,
    path: REFRESH_PATH,
    maxAge,
  });
  void reply.setCookie(CSRF_COOKIE, newSecret('csrf'), {
    ...baseOptions(request),
    httpOnly: false,
    path: '/',
    maxAge,
  });
}

export function clearSessionCookies(request: FastifyRequest, reply: FastifyReply): void {
  void reply.clearCookie(REFRESH_COOKIE, { ...baseOptions(request), httpOnly: true, path: REFRESH_PATH });
  void reply.clearCookie(CSRF_COOKIE, { ...baseOptions(request), path: '/' });
}

/** The refresh token of the cookie session, once the CSRF header matches its cookie. */
export function cookieRefreshToken(request: FastifyRequest): string {
  const token = request.cookies[REFRESH_COOKIE];
  if (!token)
    throw new AppError('unauthorized', 'no refresh token: send refresh_token or the session cookie');
  const cookie = Buffer.from(request.cookies[CSRF_COOKIE] ?? '');
  const header = request.headers[CSRF_HEADER];
  const echoed = Buffer.from(typeof header === 'string' ? header : '');
  if (cookie.length === 0 || cookie.length !== echoed.length || !timingSafeEqual(cookie, echoed))
    throw new AppError('csrf_failed', `the ${CSRF_HEADER} header must repeat the ${CSRF_COOKIE} cookie`);
  return token;
}
