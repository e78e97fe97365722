import { expect } from 'vitest';
import type { AuditCase, AuditFixture, Prepared } from './fixture.js';

/**
 * Builders for the usual kinds of case. Each names what the event must hold; a case that is not
 * one of these spells its AuditCase out.
 */

type Prepare = (f: AuditFixture) => Promise<Prepared>;

/** A creation: the event holds an `after` only, about the entity the answer names (by its `id` unless told). */
export function created(entityType: string, prepare: Prepare): AuditCase {
  return {
    action: 'created',
    entityType,
    before: false,
    after: true,
    async prepare(f) {
      return { entityId: (reply) => reply.id, ...(await prepare(f)) };
    },
  };
}

/** A change: the event holds a `before` and an `after`. */
export function modified(entityType: string, prepare: Prepare): AuditCase {
  return { action: 'modified', entityType, before: true, after: true, prepare };
}

/** A deletion: the event holds the `before` only. */
export function deleted(entityType: string, prepare: Prepare): AuditCase {
  return { action: 'deleted', entityType, before: true, after: false, prepare };
}

/** Sign-in and sign-out: the event names the session and holds no `before` or `after`. */
export function sessionEvent(action: 'login' | 'logout', prepare: Prepare): AuditCase {
  return { action, entityType: 'session', before: false, after: false, prepare };
}

/** One field of an entity, as the event's `before` and `after` must show it. */
export interface FieldChange {
  /** Makes the entity; answers its id. */
  of: (f: AuditFixture) => Promise<string>;
  field: string;
  from: unknown;
  to: unknown;
}

function expectChange(event: any, change: FieldChange): void {
  expect(event.before[change.field]).toEqual(change.from);
  expect(event.after[change.field]).toEqual(change.to);
}

/** A PATCH of one field, sending its new value. */
export function patched(entityType: string, change: FieldChange): AuditCase {
  return modified(entityType, async (f) => ({
    params: { id: await change.of(f) },
    body: { [change.field]: change.to },
    check: (e) => expectChange(e, change),
  }));
}

/** A call without a body that moves an entity on (cancel, revoke, enable): before and after show the move. */
export function moved(action: string, entityType: string, change: FieldChange): AuditCase {
  return {
    action,
    entityType,
    before: true,
    after: true,
    async prepare(f) {
      return { params: { id: await change.of(f) }, check: (e) => expectChange(e, change) };
    },
  };
}

/** A DELETE of an entity `make` creates: the `before` names it. */
export function deletedNamed(
  entityType: string,
  make: (f: AuditFixture) => Promise<{ id: string; name: string }>,
): AuditCase {
  return deleted(entityType, async (f) => {
    const entity = await make(f);
    return { params: { id: entity.id }, check: (e) => expect(e.before.name).toBe(entity.name) };
  });
}
