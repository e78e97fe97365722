import type { Clock } from '../../lib/clock.js';
import type { EventBus, FleetEvent } from '../../realtime/events.js';
import type { Principal } from '../access/context.js';

/** Which principals a change may affect: every field given must match; none given means all. */
export interface PrincipalScope {
  orgId?: string;
  /** The acting user, or the user who created the acting API key. */
  userId?: string;
  sessionId?: string;
  apiKeyId?: string;
}

/** Told by the services that change what a principal holds (roles, members, keys, sessions, passwords). */
export interface PrincipalChanges {
  /** Resolves once this node forgot the principals in scope and the other nodes were told to. */
  changed(scope: PrincipalScope): Promise<void>;
}

interface Entry {
  principal: Principal;
  expiresAtMs: number;
  /** An API key's last-used time as last written, in ms; null for a session. */
  lastUsedAtMs: number | null;
}

/** Credentials cached at most: a flood of valid credentials evicts the oldest, never grows the heap. */
const MAX_ENTRIES = 10_000;

function matches(principal: Principal, scope: PrincipalScope): boolean {
  return (
    (scope.orgId === undefined || principal.orgId === scope.orgId) &&
    (scope.userId === undefined || principal.userId === scope.userId) &&
    (scope.sessionId === undefined || principal.sessionId === scope.sessionId) &&
    (scope.apiKeyId === undefined ||
      (principal.actor.type === 'api_key' && principal.actor.id === scope.apiKeyId))
  );
}

const scopeOf = (event: Extract<FleetEvent, { type: 'principals.changed' }>): PrincipalScope => ({
  ...(event.org_id === null ? {} : { orgId: event.org_id }),
  ...(event.user_id === null ? {} : { userId: event.user_id }),
  ...(event.session_id === null ? {} : { sessionId: event.session_id }),
  ...(event.api_key_id === null ? {} : { apiKeyId: event.api_key_id }),
});

/**
 * The principals of recently used credentials (a session, by its id; an API key, by its hash),
 * kept per node for `ttlMs` so an authenticated request costs no query. A change that may affect
 * a principal drops it here at once and, through the event bus, on every other node before the
 * change is answered (PostgreSQL: NOTIFY, sent before the service returns).
 *
 * Guards: a lookup that began before a change is not cached (a generation counter), nothing is
 * cached while the bus cannot hear other nodes (their changes would go unheard), and everything
 * is dropped when it hears them again. A change made outside the API (a manual UPDATE) shows
 * within `ttlMs`.
 */
export class PrincipalCache implements PrincipalChanges {
  readonly #entries = new Map<string, Entry>();
  readonly #bus: EventBus;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  /** Bumped by every change heard: a lookup started under an older generation is not kept. */
  #generation = 0;
  #unsubscribe: (() => void) | undefined;
  #unsubscribeResume: (() => void) | undefined;

  constructor(deps: { bus: EventBus; clock: Clock; ttlMs: number }) {
    this.#bus = deps.bus;
    this.#clock = deps.clock;
    this.#ttlMs = deps.ttlMs;
  }

  start(): void {
    this.#unsubscribe = this.#bus.subscribe((event) => {
      if (event.type === 'principals.changed') this.#drop(scopeOf(event));
    });
    this.#unsubscribeResume = this.#bus.onResume(() => this.#drop({}));
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#unsubscribeResume?.();
    this.#entries.clear();
  }

  /** The cached principal and the API key's last-used time (ms), if still fresh. */
  get(key: string): { principal: Principal; lastUsedAtMs: number | null } | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs <= this.#clock.now().getTime()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Where a lookup starts: pass it to `set` so a change heard meanwhile keeps the result out. */
  get generation(): number {
    return this.#generation;
  }

  /** Keeps a principal until `ttlMs` from now, or until `notAfterMs` (its credential's expiry) if sooner. */
  set(
    key: string,
    generation: number,
    value: { principal: Principal; lastUsedAtMs: number | null; notAfterMs: number | null },
  ): void {
    if (this.#ttlMs <= 0 || generation !== this.#generation || !this.#bus.listening) return;
    const ttlEnd = this.#clock.now().getTime() + this.#ttlMs;
    if (this.#entries.size >= MAX_ENTRIES) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.delete(key);
    this.#entries.set(key, {
      principal: value.principal,
      lastUsedAtMs: value.lastUsedAtMs,
      expiresAtMs: value.notAfterMs === null ? ttlEnd : Math.min(ttlEnd, value.notAfterMs),
    });
  }

  /** An API key's last-used time was written. */
  touched(key: string, atMs: number): void {
    const entry = this.#entries.get(key);
    if (entry) entry.lastUsedAtMs = atMs;
  }

  async changed(scope: PrincipalScope): Promise<void> {
    this.#drop(scope);
    this.#bus.publish({
      type: 'principals.changed',
      org_id: scope.orgId ?? null,
      user_id: scope.userId ?? null,
      session_id: scope.sessionId ?? null,
      api_key_id: scope.apiKeyId ?? null,
    });
    await this.#bus.flush();
  }

  #drop(scope: PrincipalScope): void {
    this.#generation += 1;
    for (const [key, entry] of this.#entries) if (matches(entry.principal, scope)) this.#entries.delete(key);
  }
}
