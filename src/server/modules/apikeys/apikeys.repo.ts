import type { Executor } from '../../db/executor.js';
import type { ApiKeysTable } from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';

export type ApiKeyRow = ApiKeysTable;

export interface ApiKeyPrincipalRow {
  id: string;
  org_id: string;
  name: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  role_name: string;
  role_builtin: number;
  role_permissions: string;
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

  /** The key and its role, in one round trip. */
  principalByHash(db: Executor, keyHash: string): Promise<ApiKeyPrincipalRow | undefined> {
    return db
      .selectFrom('api_keys')
      .innerJoin('roles', 'roles.id', 'api_keys.role_id')
      .select([
        'api_keys.id',
        'api_keys.org_id',
        'api_keys.name',
        'api_keys.created_by',
        'api_keys.expires_at',
        'api_keys.revoked_at',
        'api_keys.last_used_at',
        'roles.name as role_name',
        'roles.builtin as role_builtin',
        'roles.permissions as role_permissions',
      ])
      .where('api_keys.key_hash', '=', keyHash)
      .executeTakeFirst();
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
