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
  packages: ['read', 'create', 'update', 'delete'],
  processes: ['read', 'create', 'update', 'delete'],
  robots: ['read', 'create', 'update', 'delete'],
  process_jobs: ['read', 'execute', 'update'],
  queues: ['read', 'create', 'update', 'delete'],
  queue_items: ['read', 'create', 'update', 'delete'],
  assets: ['read', 'create', 'update', 'delete'],
  services: ['read', 'create', 'update', 'delete'],
  deploy_tokens: ['read', 'create', 'delete'],
  deployments: ['read', 'execute'],
  deployed_services: ['read'],
  alerts: ['read', 'create', 'update', 'delete'],
  webhooks: ['read', 'create', 'update', 'delete'],
  // confirm_dangerous: running a command the safety check calls dangerous (admins and owners)
  assistant: ['read', 'execute', 'confirm_dangerous'],
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
  // admins hold every permission; the owner role outranks them (PermissionSet.rank).
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

/** Built-in roles from the lowest rank up: a role's rank is its place here, counting from 1. */
const ladder: readonly BuiltinRoleName[] = ['viewer', 'operator', 'admin', 'owner'];

function builtinRank(name: BuiltinRoleName): number {
  return ladder.indexOf(name) + 1;
}

/**
 * What a principal holds: the union of their roles' permissions, and the highest rank among those
 * roles. Admin and owner hold the same permissions; the rank is what sets them apart. Immutable.
 */
export class PermissionSet {
  readonly #granted: Set<string>;
  #rank: number | undefined;
  #array: Permission[] | undefined;

  /** Without a rank, the set ranks with the lowest built-in role that holds all of it. */
  constructor(permissions: Iterable<string>, rank?: number) {
    this.#granted = new Set(permissions);
    this.#rank = rank;
  }

  static fromRoles(roles: readonly RoleGrant[]): PermissionSet {
    // Most principals hold one built-in role: its set is built once, not on every request.
    const [only] = roles;
    if (roles.length === 1 && only?.builtin && isBuiltinRoleName(only.name)) return builtinSets[only.name];
    let rank = 0;
    const permissions: string[] = [];
    for (const role of roles) {
      if (role.builtin && isBuiltinRoleName(role.name)) {
        rank = Math.max(rank, builtinRank(role.name));
        permissions.push(...builtinPermissions[role.name]);
      } else {
        permissions.push(...role.permissions);
      }
    }
    const set = new PermissionSet(permissions);
    // A custom role ranks by its permissions, a built-in one by its name: the higher of the two wins.
    return rank > set.rank ? new PermissionSet(permissions, rank) : set;
  }

  /** 1 (viewer) to 4 (owner); a custom set ranks with the lowest built-in role that covers it. */
  get rank(): number {
    // Only catalogue permissions count: one dropped from the catalogue grants nothing, so it ranks nothing.
    this.#rank ??= builtinRank(
      ladder.find((name) => this.#known().every((p) => builtinSets[name].has(p))) ?? 'owner',
    );
    return this.#rank;
  }

  has(permission: Permission): boolean {
    return this.#granted.has(permission);
  }

  /** True when every permission of `other` is held here. */
  covers(other: PermissionSet): boolean {
    return [...other.#granted].every((p) => this.#granted.has(p));
  }

  /** What both hold, at the lower of the two ranks: what an API key may do for its creator now. */
  intersect(other: PermissionSet): PermissionSet {
    if (other.covers(this) && other.rank >= this.rank) return this;
    return new PermissionSet(
      [...this.#granted].filter((p) => other.#granted.has(p)),
      Math.min(this.rank, other.rank),
    );
  }

  /** In catalogue order. */
  toArray(): Permission[] {
    return [...this.#known()];
  }

  #known(): readonly Permission[] {
    this.#array ??= allPermissions.filter((p) => this.#granted.has(p));
    return this.#array;
  }
}

const builtinSets = Object.fromEntries(
  builtinRoleNames.map((name) => [name, new PermissionSet(builtinPermissions[name], builtinRank(name))]),
) as Record<BuiltinRoleName, PermissionSet>;

export function builtinRolePermissions(name: BuiltinRoleName): readonly Permission[] {
  return builtinPermissions[name];
}
