import type { Executor } from '../../db/executor.js';
import type { ApiKeysTable } from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';
import { grantOf } from '../access/access.repo.js';
import type { RoleGrant } from '../access/permissions.js';

export type ApiKeyRow = ApiKeysTable;

/** A key with its role, and its creator as they are now. */
export interface ApiKeyPrincipal {
  id: string;
  org_id: string;
  name: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  role: RoleGrant;
  creator_disabled_at: string | null;
  /** The creator's roles in the key's organisation: none once they are no longer a member. */
  creator_roles: RoleGrant[];
}

export const apiKeysRepo = {
  insert(db: Executor, key: ApiKeyRow): Promise<unknown> {
    return db.insertInto('api_keys').values(key).execute();
  },

  list(db: Executor, orgId: string, page: PageParams): Promise<Page<ApiKeyRow>> {
    return paginate(db.selectFrom('api_keys').selectAll().where('org_id', '=', orgId), 'id', page);
  },

  get(db: Executor, orgId: string, id: string): Promise<ApiKeyRow | undefined> {
    return db
      .selectFrom('api_keys')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  /**
   * The key, its role, and its creator as they are now (disabled or not, and their roles in the
   * key's organisation), in one round trip: a key acts on behalf of its creator.
   */
  async principalByHash(db: Executor, keyHash: string): Promise<ApiKeyPrincipal | undefined> {
    // One row per role the creator holds in the key's organisation (one row with nulls if none).
    const rows = await db
      .selectFrom('api_keys')
      .innerJoin('roles as key_role', 'key_role.id', 'api_keys.role_id')
      .innerJoin('users as creator', 'creator.id', 'api_keys.created_by')
      .leftJoin('member_roles', (join) =>
        join
          .onRef('member_roles.org_id', '=', 'api_keys.org_id')
          .onRef('member_roles.user_id', '=', 'api_keys.created_by'),
      )
      .leftJoin('roles as creator_role', 'creator_role.id', 'member_roles.role_id')
      .select([
        'api_keys.id',
        'api_keys.org_id',
        'api_keys.name',
        'api_keys.created_by',
        'api_keys.expires_at',
        'api_keys.revoked_at',
        'api_keys.last_used_at',
        'key_role.name as role_name',
        'key_role.builtin as role_builtin',
        'key_role.permissions as role_permissions',
        'creator.disabled_at as creator_disabled_at',
        'creator_role.name as creator_role_name',
        'creator_role.builtin as creator_role_builtin',
        'creator_role.permissions as creator_role_permissions',
      ])
      .where('api_keys.key_hash', '=', keyHash)
      .execute();
    const first = rows[0];
    if (!first) return undefined;
    const {
      role_name,
      role_builtin,
      role_permissions,
      creator_role_name: _n,
      creator_role_builtin: _b,
      creator_role_permissions: _p,
      ...key
    } = first;
    const role = grantOf(role_name, role_builtin, role_permissions);
    const creatorRoles = rows.flatMap(
      (r) => grantOf(r.creator_role_name, r.creator_role_builtin, r.creator_role_permissions) ?? [],
    );
    return { ...key, role, creator_roles: creatorRoles };
  },

  touch(db: Executor, id: string, now: string): Promise<unknown> {
    return db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
  },

  revoke(db: Executor, orgId: string, id: string, now: string): Promise<unknown> {
    return db
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  },

  /** Revokes every live key one member created in the organisation; answers the keys as revoked. */
  revokeCreatedBy(db: Executor, orgId: string, userId: string, now: string): Promise<ApiKeyRow[]> {
    return db
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where('org_id', '=', orgId)
      .where('created_by', '=', userId)
      .where('revoked_at', 'is', null)
      .returningAll()
      .execute();
  },

  async countActive(db: Executor, orgId: string): Promise<number> {
    const row = await db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('org_id', '=', orgId)
      .where('revoked_at', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  },
};
