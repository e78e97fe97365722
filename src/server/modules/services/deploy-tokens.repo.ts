import type { Executor } from '../../db/executor.js';
import type { DeployTokensTable } from '../../db/schema.js';
import { paginate, type Page, type PageParams } from '../../lib/pagination.js';

export type DeployTokenKind = 'service' | 'config';

export interface DeployToken extends Omit<DeployTokensTable, 'kind'> {
  kind: DeployTokenKind;
}

/** A token with the name of its service (null for config tokens). */
export interface DeployTokenListed extends DeployToken {
  service_name: string | null;
}

export interface DeployTokenFilter {
  kind?: DeployTokenKind;
  serviceId?: string;
}

function listed(db: Executor) {
  return db
    .selectFrom('deploy_tokens')
    .leftJoin('services', 'services.id', 'deploy_tokens.service_id')
    .selectAll('deploy_tokens')
    .select('services.name as service_name');
}

function decode<T extends { kind: string }>(row: T): T & { kind: DeployTokenKind } {
  return { ...row, kind: row.kind as DeployTokenKind };
}

export const deployTokensRepo = {
  insert(db: Executor, token: DeployToken): Promise<unknown> {
    return db.insertInto('deploy_tokens').values(token).execute();
  },

  async list(
    db: Executor,
    orgId: string,
    filter: DeployTokenFilter,
    page: PageParams,
  ): Promise<Page<DeployTokenListed>> {
    let q = listed(db).where('deploy_tokens.org_id', '=', orgId);
    if (filter.kind) q = q.where('deploy_tokens.kind', '=', filter.kind);
    if (filter.serviceId) q = q.where('deploy_tokens.service_id', '=', filter.serviceId);
    const page_ = await paginate(q, 'deploy_tokens.id', page);
    return { ...page_, items: page_.items.map(decode) };
  },

  async get(db: Executor, orgId: string, id: string): Promise<DeployTokenListed | undefined> {
    const row = await listed(db)
      .where('deploy_tokens.org_id', '=', orgId)
      .where('deploy_tokens.id', '=', id)
      .executeTakeFirst();
    return row && decode(row);
  },

  /** The token a secret hashes to, whatever its state: the caller judges expiry and revocation. */
  async byHash(db: Executor, tokenHash: string): Promise<DeployToken | undefined> {
    const row = await db
      .selectFrom('deploy_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    return row && decode(row);
  },

  touch(db: Executor, id: string, now: string): Promise<unknown> {
    return db.updateTable('deploy_tokens').set({ last_used_at: now }).where('id', '=', id).execute();
  },

  /** Revokes a live token; answers whether it was live. */
  async revoke(db: Executor, orgId: string, id: string, now: string): Promise<boolean> {
    const result = await db
      .updateTable('deploy_tokens')
      .set({ revoked_at: now })
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  },
};
