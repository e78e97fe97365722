import type { Executor } from '../db/executor.js';
import { AppError } from './errors.js';

/** Something that holds on to an entity, so that deleting the entity would break it. */
export interface EntityUser {
  type: string;
  id: string;
  name: string;
}

/**
 * The seam for "an entity in use cannot be deleted": the module that owns the entity asks, the
 * modules that hold on to it answer, and app.ts wires one to the other without an import cycle.
 */
export interface Usage {
  usersOf(db: Executor, orgId: string, id: string): Promise<EntityUser[]>;
}

/** Every user any of the lookups finds. */
export function anyUsage(...lookups: Usage[]): Usage {
  return {
    async usersOf(db, orgId, id) {
      const users: EntityUser[] = [];
      for (const lookup of lookups) users.push(...(await lookup.usersOf(db, orgId, id)));
      return users;
    },
  };
}

/** Refuses (409) to delete an entity in use, with a detail naming each user. */
export async function assertUnused(
  usage: Usage,
  db: Executor,
  orgId: string,
  entity: string,
  id: string,
): Promise<void> {
  const users = await usage.usersOf(db, orgId, id);
  if (users.length === 0) return;
  throw new AppError(
    'conflict',
    `${entity} is used by ${users.map((u) => `${u.type} "${u.name}"`).join(', ')}`,
    {
      details: users.map((u) => ({ field: u.type, message: `uses this ${entity}`, id: u.id, name: u.name })),
    },
  );
}
