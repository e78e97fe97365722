/**
 * The permission catalogue: every artifact and the actions on it. Modules add their artifact
 * here; built-in roles derive from this list, so they grow with the product.
 */
export const catalogue = {
  organization: ['read', 'update'],
  users: ['read', 'create', 'update', 'delete'],
  roles: ['read', 'create', 'update', 'delete'],
  invites: ['read', 'create', 'delete'],
  api_keys: ['read', 'create', 'delete'],
  audit: ['read'],
  settings: ['read', 'update'],
  agents: ['read', 'create', 'update', 'delete'],
  agent_groups: ['read', 'create', 'update', 'delete'],
  enrollment: ['read', 'create', 'delete'],
  jobs: ['read', 'execute'],
  runs: ['read', 'execute'],
  scripts: ['read', 'create', 'update', 'delete', 'execute'],
  profiles: ['read', 'create', 'update', 'delete', 'execute'],
  schedules: ['read', 'create', 'update', 'delete'],
} as const satisfies Record<string, readonly string[]>;

export type Artifact = keyof typeof catalogue;
export type Permission = { [A in Artifact]: `${A}:${(typeof catalogue)[A][number]}` }[Artifact];

export const allPermissions: Permission[] = Object.entries(catalogue).flatMap(([artifact, actions]) =>
  actions.map((action) => `${artifact}:${action}` as Permission),
);

export const builtinRoleNames = ['owner', 'admin', 'operator', 'viewer'] as const;
export type BuiltinRoleName = (typeof builtinRoleNames)[number];

const builtinPermissions: Record<BuiltinRoleName, readonly Permission[]> = {
  owner: allPermissions,
  // admins hold every permission; only owners may grant or take away the owner role (access service).
  admin: allPermissions,
  operator: allPermissions.filter((p) => p.endsWith(':read') || p.endsWith(':execute')),
  viewer: allPermissions.filter((p) => p.endsWith(':read') && p !== 'audit:read'),
};

export const builtinRoleDescriptions: Record<BuiltinRoleName, string> = {
  owner: 'Full control of the organisation, including its owners',
  admin: 'Manages users, roles, keys and settings',
  operator: 'Reads everything and runs work on the fleet',
  viewer: 'Reads the fleet and its history',
};

export function isBuiltinRoleName(name: string): name is BuiltinRoleName {
  return (builtinRoleNames as readonly string[]).includes(name);
}

export function isPermission(value: string): value is Permission {
  return (allPermissions as string[]).includes(value);
}

export interface RoleGrant {
  name: string;
  builtin: boolean;
  permissions: readonly string[];
}

/** A member's effective permissions: the union of their roles' grants. Immutable. */
export class PermissionSet {
  readonly #granted: Set<string>;
  #array: Permission[] | undefined;

  constructor(permissions: Iterable<string>) {
    this.#granted = new Set(permissions);
  }

  static fromRoles(roles: readonly RoleGrant[]): PermissionSet {
    // Most principals hold one built-in role: its set is built once, not on every request.
    const [only] = roles;
    if (roles.length === 1 && only?.builtin && isBuiltinRoleName(only.name)) return builtinSets[only.name];
    return new PermissionSet(
      roles.flatMap((role) =>
        role.builtin && isBuiltinRoleName(role.name) ? builtinPermissions[role.name] : role.permissions,
      ),
    );
  }

  has(permission: Permission): boolean {
    return this.#granted.has(permission);
  }

  /** True when every permission of `other` is held here: used so nobody grants more than they hold. */
  covers(other: PermissionSet): boolean {
    return [...other.#granted].every((p) => this.#granted.has(p));
  }

  /** In catalogue order. */
  toArray(): Permission[] {
    this.#array ??= allPermissions.filter((p) => this.#granted.has(p));
    return [...this.#array];
  }
}

const builtinSets = Object.fromEntries(
  builtinRoleNames.map((name) => [name, new PermissionSet(builtinPermissions[name])]),
) as Record<BuiltinRoleName, PermissionSet>;

export function builtinRolePermissions(name: BuiltinRoleName): readonly Permission[] {
  return builtinPermissions[name];
}
