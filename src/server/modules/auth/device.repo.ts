import type { Executor } from '../../db/executor.js';
import type { SdkDevicesTable, SdkTokensTable } from '../../db/schema.js';
import { unlessTaken } from '../../db/search.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';
import { grantOf } from '../access/access.repo.js';
import type { RoleGrant } from '../access/permissions.js';

export type DeviceStatus = 'pending' | 'confirmed' | 'denied' | 'consumed';
export interface DeviceRow extends Omit<SdkDevicesTable, 'status'> {
  status: DeviceStatus;
}
export type SdkTokenRow = SdkTokensTable;

/** A token with its user as they are now: disabled or not, and their roles in the token's organisation. */
export interface SdkTokenPrincipal {
  id: string;
  org_id: string;
  user_id: string;
  client_name: string;
  scope: string;
  expires_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
  email: string;
  disabled_at: string | null;
  /** None once the user is no longer a member. */
  roles: RoleGrant[];
}

const statuses: readonly DeviceStatus[] = ['pending', 'confirmed', 'denied', 'consumed'];

function decode(row: SdkDevicesTable): DeviceRow {
  if (!(statuses as readonly string[]).includes(row.status))
    throw new Error(`device session in unknown status ${row.status}`);
  return row as DeviceRow;
}

export const deviceRepo = {
  /** False when the user code is taken (by chance: one in billions); the caller draws another. */
  insert(db: Executor, row: DeviceRow): Promise<boolean> {
    return unlessTaken(db.insertInto('sdk_devices').values(row).execute());
  },

  async byUserCode(db: Executor, userCode: string): Promise<DeviceRow | undefined> {
    const row = await db
      .selectFrom('sdk_devices')
      .selectAll()
      .where('user_code', '=', userCode)
      .executeTakeFirst();
    return row && decode(row);
  },

  async byDeviceCodeHash(db: Executor, hash: string): Promise<DeviceRow | undefined> {
    const row = await db
      .selectFrom('sdk_devices')
      .selectAll()
      .where('device_code_hash', '=', hash)
      .executeTakeFirst();
    return row && decode(row);
  },

  /** Moves a session out of `from`; false when another request moved it first. */
  async transition(
    db: Executor,
    id: string,
    from: DeviceStatus,
    changes: Partial<Pick<DeviceRow, 'status' | 'org_id' | 'user_id' | 'decided_at'>>,
  ): Promise<boolean> {
    const result = await db
      .updateTable('sdk_devices')
      .set(changes)
      .where('id', '=', id)
      .where('status', '=', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },

  polled(db: Executor, id: string, at: string, intervalSeconds: number): Promise<unknown> {
    return db
      .updateTable('sdk_devices')
      .set({ last_polled_at: at, interval_seconds: intervalSeconds })
      .where('id', '=', id)
      .execute();
  },

  /** Forgets sessions that ended long ago; their codes can never be used again in any case. */
  purgeBefore(db: Executor, before: string): Promise<unknown> {
    return db.deleteFrom('sdk_devices').where('expires_at', '<', before).execute();
  },

  insertToken(db: Executor, row: SdkTokenRow): Promise<unknown> {
    return db.insertInto('sdk_tokens').values(row).execute();
  },

  listTokens(db: Executor, orgId: string, userId: string, page: PageParams): Promise<Page<SdkTokenRow>> {
    return paginate(
      db.selectFrom('sdk_tokens').selectAll().where('org_id', '=', orgId).where('user_id', '=', userId),
      'id',
      page,
    );
  },

  getToken(db: Executor, orgId: string, userId: string, id: string): Promise<SdkTokenRow | undefined> {
    return db
      .selectFrom('sdk_tokens')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('user_id', '=', userId)
      .where('id', '=', id)
      .executeTakeFirst();
  },

  revokeToken(db: Executor, id: string, now: string): Promise<unknown> {
    return db
      .updateTable('sdk_tokens')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .execute();
  },

  touchToken(db: Executor, id: string, now: string): Promise<unknown> {
    return db.updateTable('sdk_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
  },

  /** The token and its user's roles in its organisation as they are now, in one round trip. */
  async principalByHash(db: Executor, hash: string): Promise<SdkTokenPrincipal | undefined> {
    const rows = await db
      .selectFrom('sdk_tokens')
      .innerJoin('users', 'users.id', 'sdk_tokens.user_id')
      .leftJoin('member_roles', (join) =>
        join
          .onRef('member_roles.org_id', '=', 'sdk_tokens.org_id')
          .onRef('member_roles.user_id', '=', 'sdk_tokens.user_id'),
      )
      .leftJoin('roles', 'roles.id', 'member_roles.role_id')
      .select([
        'sdk_tokens.id',
        'sdk_tokens.org_id',
        'sdk_tokens.user_id',
        'sdk_tokens.client_name',
        'sdk_tokens.scope',
        'sdk_tokens.expires_at',
        'sdk_tokens.revoked_at',
        'sdk_tokens.last_used_at',
        'users.email',
        'users.disabled_at',
        'roles.name as role_name',
        'roles.builtin as role_builtin',
        'roles.permissions as role_permissions',
      ])
      .where('sdk_tokens.token_hash', '=', hash)
      .execute();
    const first = rows[0];
    if (!first) return undefined;
    const { role_name: _n, role_builtin: _b, role_permissions: _p, ...token } = first;
    const roles = rows.flatMap((r) => grantOf(r.role_name, r.role_builtin, r.role_permissions) ?? []);
    return { ...token, roles };
  },
};
