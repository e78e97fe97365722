import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/crypto.js';
import { AppError, notFound, type ErrorDetail } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import { assertUnused, type Usage } from '../../lib/usage.js';
import type { Actor, RequestContext, RequestMeta } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import {
  assetsRepo,
  type Asset,
  type AssetFilter,
  type AssetSummary,
  type AssetValueRow,
  type OpenableValue,
} from './assets.repo.js';
import type { AssetCreateBody, AssetUpdateBody } from './assets.schemas.js';
import {
  decodeValue,
  encodeValue,
  valueProblems,
  visibleUsername,
  type AssetType,
  type AssetValue,
} from './assets.values.js';

/**
 * How a stored value is shown on every read: that it exists, when it changed, and for a
 * credential its username, which names an account but opens nothing. Never the value itself,
 * whatever the type: a text or an integer may be as sensitive as a password.
 */
export interface AssetValueView {
  robot_id: string | null;
  username: string | null;
  updated_at: string;
}

export interface AssetView {
  id: string;
  name: string;
  description: string;
  type: AssetType;
  has_value: boolean;
  global_value: AssetValueView | null;
  robot_value_count: number;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

export interface AssetDetail extends AssetView {
  robot_values: AssetValueView[];
}

/** What a process receives for one asset. */
export interface OpenedAsset {
  type: AssetType;
  value: AssetValue;
}

/** Whether a robot exists in an organisation; the robots module answers it (wired in app.ts). */
export type RobotExists = (orgId: string, robotId: string) => Promise<boolean>;

const NO_META: RequestMeta = { ip: null, userAgent: null, requestId: null };

/** What the audit log keeps of an asset: metadata only, never a value. */
function auditView(asset: Asset) {
  return { name: asset.name, description: asset.description, type: asset.type };
}

function invalidValue(details: ErrorDetail[]): AppError {
  return new AppError('unprocessable', 'the value does not fit the asset type', { details });
}

function nameTaken(name: string): AppError {
  return new AppError('conflict', `an asset named "${name}" already exists`, {
    details: [{ field: 'name', message: 'taken' }],
  });
}

/**
 * Named values processes read at run time. Every value is sealed at rest and masked on every
 * read; only `openForJob` and `openForRobot`, called by other modules and never by a route of
 * this one, hand a value out.
 */
export class AssetsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #box: SecretBox;
  readonly #usage: Usage;
  readonly #robotExists: RobotExists;

  constructor(deps: {
    db: Executor;
    clock: Clock;
    audit: AuditLog;
    box: SecretBox;
    /** What holds on to an asset (a robot running as a credential): it cannot be deleted meanwhile. */
    usage: Usage;
    robotExists: RobotExists;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#box = deps.box;
    this.#usage = deps.usage;
    this.#robotExists = deps.robotExists;
  }

  async create(ctx: RequestContext, input: AssetCreateBody): Promise<AssetDetail> {
    if (input.value !== undefined) this.#assertFits(input.type, input.value);
    const now = this.#clock.now().toISOString();
    const asset: Asset = {
      id: newId(),
      org_id: ctx.orgId,
      name: input.name,
      description: input.description ?? '',
      type: input.type,
      created_by: ctx.userId,
      created_at: now,
      updated_at: now,
    };
    return inTransaction(this.#db, async (trx) => {
      if (!(await assetsRepo.insert(trx, asset))) throw nameTaken(asset.name);
      if (input.value !== undefined) await this.#put(trx, ctx, asset, null, input.value as AssetValue);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'asset',
        entityId: asset.id,
        after: { ...auditView(asset), has_value: input.value !== undefined },
      });
      return this.#detail(trx, asset);
    });
  }

  async list(orgId: string, filter: AssetFilter, page: PageParams): Promise<Page<AssetView>> {
    return mapPage(await assetsRepo.list(this.#db, orgId, filter, page), (row) => this.#summaryView(row));
  }

  async get(orgId: string, id: string): Promise<AssetDetail> {
    const asset = await assetsRepo.get(this.#db, orgId, id);
    if (!asset) throw notFound('asset');
    return this.#detail(this.#db, asset);
  }

  async update(ctx: RequestContext, id: string, input: AssetUpdateBody): Promise<AssetDetail> {
    return inTransaction(this.#db, async (trx) => {
      const before = await assetsRepo.lock(trx, ctx.orgId, id);
      if (!before) throw notFound('asset');
      const after: Asset = {
        ...before,
        name: input.name ?? before.name,
        description: input.description ?? before.description,
        updated_at: this.#clock.now().toISOString(),
      };
      const { name, description, updated_at } = after;
      if (!(await assetsRepo.update(trx, ctx.orgId, id, { name, description, updated_at })))
        throw nameTaken(name);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'asset',
        entityId: id,
        before: auditView(before),
        after: auditView(after),
      });
      return this.#detail(trx, after);
    });
  }

  async remove(ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const before = await assetsRepo.lock(trx, ctx.orgId, id);
      if (!before) throw notFound('asset');
      await assertUnused(this.#usage, trx, ctx.orgId, 'asset', id);
      await assetsRepo.remove(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: 'asset',
        entityId: id,
        before: auditView(before),
      });
    });
  }

  /** Sets the global value (robotId null) or one robot's value; the audit event says only that it changed. */
  async setValue(
    ctx: RequestContext,
    id: string,
    robotId: string | null,
    value: unknown,
  ): Promise<AssetDetail> {
    // Asked before the transaction: the robots module reads on its own connection, and SQLite has one.
    if (robotId !== null && !(await this.#robotExists(ctx.orgId, robotId))) throw notFound('robot');
    return inTransaction(this.#db, async (trx) => {
      const asset = await assetsRepo.lock(trx, ctx.orgId, id);
      if (!asset) throw notFound('asset');
      this.#assertFits(asset.type, value);
      const had = (await assetsRepo.value(trx, id, robotId)) !== undefined;
      await this.#put(trx, ctx, asset, robotId, value as AssetValue);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'asset',
        entityId: id,
        before: { ...auditView(asset), robot_id: robotId, has_value: had },
        after: { ...auditView(asset), robot_id: robotId, has_value: true, value: 'changed' },
      });
      return this.#detail(trx, asset);
    });
  }

  /** Deletes one robot's value: the robot falls back to the global value. */
  async removeRobotValue(ctx: RequestContext, id: string, robotId: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const asset = await assetsRepo.lock(trx, ctx.orgId, id);
      if (!asset) throw notFound('asset');
      if (!(await assetsRepo.removeValue(trx, id, robotId))) throw notFound('asset value for this robot');
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'asset',
        entityId: id,
        before: { ...auditView(asset), robot_id: robotId, has_value: true },
        after: { ...auditView(asset), robot_id: robotId, has_value: false },
      });
    });
  }

  /**
   * The values a job receives, by asset name: the robot's own value where it has one, else the
   * global one. For other modules (a process job starting), never for a route. Any name unknown
   * or without a value fails the whole call (422 naming each), so a job never starts half-equipped.
   */
  async openForJob(
    orgId: string,
    robotId: string | null,
    names: readonly string[],
  ): Promise<Record<string, OpenedAsset>> {
    const wanted = [...new Set(names)];
    if (wanted.length === 0) return {};
    const rows = await assetsRepo.openable(this.#db, orgId, wanted, robotId);
    const opened: Record<string, OpenedAsset> = {};
    const problems: ErrorDetail[] = [];
    for (const name of wanted) {
      const found = this.#open(
        rows.filter((row) => row.name === name),
        robotId,
      );
      if (found.kind === 'opened') opened[name] = found.asset;
      else
        problems.push({ field: name, message: found.kind === 'unknown' ? 'no such asset' : 'has no value' });
    }
    if (problems.length > 0)
      throw new AppError(
        'unprocessable',
        `assets unknown or without a value: ${problems.map((p) => p.field).join(', ')}`,
        { details: problems },
      );
    return opened;
  }

  /**
   * One asset's value for a robot asking through the runner API, recorded as read (by the robot,
   * which asset; never the value) in the same transaction, so no value leaves unrecorded. A robot
   * may read its own value of an asset; the global value only while it runs a job whose process
   * declares the asset (`declared`), else 403.
   */
  async openForRobot(
    orgId: string,
    robotId: string,
    name: string,
    access: { actor: Actor; meta?: RequestMeta; declared: boolean },
  ): Promise<OpenedAsset> {
    const { actor, meta = NO_META, declared } = access;
    return inTransaction(this.#db, async (trx) => {
      const rows = await assetsRepo.openable(trx, orgId, [name], robotId);
      const found = this.#open(rows, robotId);
      if (found.kind === 'unknown') throw notFound('asset');
      if (found.kind === 'empty')
        throw new AppError('unprocessable', `asset "${name}" has no value for this robot`, {
          details: [{ field: name, message: 'has no value' }],
        });
      if (!found.own && !declared)
        throw new AppError(
          'forbidden',
          `asset "${name}" has no value of this robot's own, and no job it runs declares it`,
        );
      await this.#audit.record(
        trx,
        { orgId, actor, meta },
        {
          action: 'asset_read',
          entityType: 'asset',
          entityId: found.assetId,
          after: { name, type: found.asset.type, robot_id: robotId },
        },
      );
      return found.asset;
    });
  }

  /** The robot's own value where it has one, else the global one. */
  #open(
    rows: readonly OpenableValue[],
    robotId: string | null,
  ):
    | { kind: 'opened'; assetId: string; asset: OpenedAsset; own: boolean }
    | { kind: 'unknown' }
    | { kind: 'empty' } {
    const first = rows[0];
    if (!first) return { kind: 'unknown' };
    const chosen =
      rows.find((row) => robotId !== null && row.robot_id === robotId && row.value !== null) ??
      rows.find((row) => row.robot_id === null && row.value !== null);
    if (!chosen?.value) return { kind: 'empty' };
    return {
      kind: 'opened',
      assetId: first.asset_id,
      asset: { type: first.type, value: decodeValue(this.#box.open(chosen.value)) },
      own: chosen.robot_id !== null,
    };
  }

  #assertFits(type: AssetType, value: unknown): void {
    const problems = valueProblems(type, value);
    if (problems.length > 0) throw invalidValue(problems);
  }

  async #put(
    trx: Executor,
    ctx: RequestContext,
    asset: Asset,
    robotId: string | null,
    value: AssetValue,
  ): Promise<void> {
    const row: AssetValueRow = {
      id: newId(),
      asset_id: asset.id,
      robot_id: robotId,
      value: this.#box.seal(encodeValue(value)),
      updated_by: ctx.userId,
      updated_at: this.#clock.now().toISOString(),
    };
    await assetsRepo.putValue(trx, row);
  }

  #valueView(type: AssetType, row: Pick<AssetValueRow, 'robot_id' | 'value' | 'updated_at'>): AssetValueView {
    const username =
      type === 'credential' ? visibleUsername(type, decodeValue(this.#box.open(row.value))) : null;
    return { robot_id: row.robot_id, username, updated_at: row.updated_at };
  }

  #summaryView(row: AssetSummary): AssetView {
    const globalValue =
      row.global_value !== null && row.global_updated_at !== null
        ? this.#valueView(row.type, {
            robot_id: null,
            value: row.global_value,
            updated_at: row.global_updated_at,
          })
        : null;
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      type: row.type,
      has_value: globalValue !== null || row.robot_value_count > 0,
      global_value: globalValue,
      robot_value_count: row.robot_value_count,
      created_by: row.created_by,
      created_at: row.created_at,
      updated_at: row.updated_at,
    };
  }

  async #detail(db: Executor, asset: Asset): Promise<AssetDetail> {
    const values = await assetsRepo.values(db, asset.id);
    const global = values.find((row) => row.robot_id === null);
    const robotValues = values
      .filter((row) => row.robot_id !== null)
      .sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1))
      .map((row) => this.#valueView(asset.type, row));
    const summary = this.#summaryView({
      ...asset,
      global_value: global?.value ?? null,
      global_updated_at: global?.updated_at ?? null,
      robot_value_count: robotValues.length,
    });
    return { ...summary, robot_values: robotValues };
  }
}
