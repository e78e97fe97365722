import { webcrypto } from 'node:crypto';
import { SignJWT, jwtVerify, errors } from 'jose';
import type { Clock } from '../../lib/clock.js';
import { deriveKey } from '../../lib/crypto.js';

export interface AccessClaims {
  userId: string;
  orgId: string;
  sessionId: string;
}

const ISSUER = 'fleetplane';
/** Tokens whose signature was checked, kept so a client's every request does not pay for HMAC again. */
const VERIFIED_CACHE_SIZE = 10_000;
const AUDIENCE = 'fleetplane-api';

/** Short-lived HS256 access tokens; the session they name is checked on every request, so logout is immediate. */
export class AccessTokens {
  /** Imported once: jose would import raw key bytes again at every verify. */
  readonly #key: Promise<webcrypto.CryptoKey>;
  readonly #ttlMs: number;
  readonly #clock: Clock;
  /** Token → its claims and expiry (seconds); a Map keeps insertion order, so the first key is the oldest. */
  readonly #verified = new Map<string, { claims: AccessClaims; exp: number }>();

  constructor(deps: { masterKey: Buffer; ttlMs: number; clock: Clock }) {
    this.#key = webcrypto.subtle.importKey(
      'raw',
      deriveKey(deps.masterKey, 'fleetplane:jwt'),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    this.#ttlMs = deps.ttlMs;
    this.#clock = deps.clock;
  }

  get ttlSeconds(): number {
    return Math.floor(this.#ttlMs / 1000);
  }

  async issue(claims: AccessClaims): Promise<string> {
    const nowSeconds = Math.floor(this.#clock.now().getTime() / 1000);
    return new SignJWT({ org: claims.orgId, sid: claims.sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + this.ttlSeconds)
      .sign(await this.#key);
  }

  /**
   * The claims of a valid token, or null for anything else (bad signature, expired, malformed).
   * Only tokens this key signed are cached, so a flood of forged ones cannot fill the cache.
   */
  async verify(token: string): Promise<AccessClaims | null> {
    const now = Math.floor(this.#clock.now().getTime() / 1000);
    const known = this.#verified.get(token);
    if (known) return known.exp > now ? known.claims : null;
    const checked = await this.#check(token);
    if (!checked) return null;
    // Every token lives as long, so the oldest entry is the first to expire: it makes room.
    const oldest = this.#verified.keys().next();
    if (this.#verified.size >= VERIFIED_CACHE_SIZE && !oldest.done) this.#verified.delete(oldest.value);
    this.#verified.set(token, checked);
    return checked.claims;
  }

  async #check(token: string): Promise<{ claims: AccessClaims; exp: number } | null> {
    try {
      const { payload } = await jwtVerify(token, await this.#key, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        currentDate: this.#clock.now(),
      });
      if (
        typeof payload.sub !== 'string' ||
        typeof payload.org !== 'string' ||
        typeof payload.sid !== 'string' ||
        typeof payload.exp !== 'number'
      )
        return null;
      return {
        claims: { userId: payload.sub, orgId: payload.org, sessionId: payload.sid },
        exp: payload.exp,
      };
    } catch (error) {
      if (error instanceof errors.JOSEError) return null;
      throw error;
    }
  }
}
