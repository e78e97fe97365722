import { AppError } from '../../lib/errors.js';
import type { Role } from './access.repo.js';
import { PermissionSet } from './permissions.js';

export function rolePermissions(role: Pick<Role, 'name' | 'builtin' | 'permissions'>): PermissionSet {
  return PermissionSet.fromRoles([role]);
}

/**
 * The one rule for handing out a role: granting it, inviting to it, minting an API key with it,
 * defining it. The role may rank no higher than the holder's highest role (so an admin makes no
 * owners, though both hold every permission) and may hold no permission the holder lacks.
 */
export function assertAssignable(holder: PermissionSet, roleName: string, role: PermissionSet): void {
  if (role.rank > holder.rank)
    throw new AppError('forbidden', `the role "${roleName}" ranks above your own: you cannot hand it out`);
  const missing = role.toArray().filter((p) => !holder.has(p));
  if (missing.length > 0)
    throw new AppError('forbidden', `the role "${roleName}" holds permissions you do not hold`, {
      details: missing.map((p) => ({ message: `you do not hold "${p}"`, permission: p })),
    });
}
