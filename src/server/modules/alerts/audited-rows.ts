import { inTransaction, type Executor } from '../../db/executor.js';
import { notFound } from '../../lib/errors.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';

/** An organisation's rows of one table, as rules.repo.ts reads and writes them. */
interface OrgRows<Row, Changes> {
  insert(db: Executor, row: Row): Promise<void>;
  get(db: Executor, orgId: string, id: string): Promise<Row | undefined>;
  update(db: Executor, orgId: string, id: string, changes: Changes): Promise<void>;
  remove(db: Executor, orgId: string, id: string): Promise<void>;
}

/**
 * The writes rules, channels and silences share: each in one transaction with its audit event,
 * which holds the row as shown (`view`) before and after.
 */
export class AuditedRows<
  Row extends { id: string },
  View extends object,
  Changes extends Partial<Row> = Partial<Row>,
> {
  readonly #db: Executor;
  readonly #audit: AuditLog;
  readonly #repo: OrgRows<Row, Changes>;
  /** The audit event's entity type; spaced, the name a 404 gives. */
  readonly #entityType: string;
  readonly #view: (row: Row) => View;

  constructor(deps: {
    db: Executor;
    audit: AuditLog;
    repo: OrgRows<Row, Changes>;
    entityType: string;
    view: (row: Row) => View;
  }) {
    this.#db = deps.db;
    this.#audit = deps.audit;
    this.#repo = deps.repo;
    this.#entityType = deps.entityType;
    this.#view = deps.view;
  }

  /** The organisation's row, or a 404. */
  async get(db: Executor, orgId: string, id: string): Promise<Row> {
    const row = await this.#repo.get(db, orgId, id);
    if (!row) throw notFound(this.#entityType.replaceAll('_', ' '));
    return row;
  }

  async create(ctx: RequestContext, row: Row): Promise<View> {
    return inTransaction(this.#db, async (trx) => {
      await this.#repo.insert(trx, row);
      const view = this.#view(row);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: this.#entityType,
        entityId: row.id,
        after: view,
      });
      return view;
    });
  }

  /** Writes `changes` to `current` (read before, outside the transaction); `alsoIn` runs in the same transaction. */
  async update(
    ctx: RequestContext,
    current: Row,
    changes: Changes,
    alsoIn?: (trx: Executor) => Promise<void>,
  ): Promise<View> {
    return inTransaction(this.#db, async (trx) => {
      // deleted meanwhile: a 404 rather than an update of nothing
      await this.get(trx, ctx.orgId, current.id);
      await this.#repo.update(trx, ctx.orgId, current.id, changes);
      await alsoIn?.(trx);
      const view = this.#view({ ...current, ...changes });
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: this.#entityType,
        entityId: current.id,
        before: this.#view(current),
        after: view,
      });
      return view;
    });
  }

  async remove(ctx: RequestContext, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const before = await this.get(trx, ctx.orgId, id);
      await this.#repo.remove(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: this.#entityType,
        entityId: id,
        before: this.#view(before),
      });
    });
  }
}
