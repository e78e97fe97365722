import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import { itemsRepo } from './items.repo.js';
import { queuesRepo, type Queue, type QueueChanges, type QueueFilter } from './queues.repo.js';
import type { QueueCreateBody, QueueUpdateBody } from './queues.schemas.js';
import { statsRepo } from './stats.repo.js';
import { queueView, type QueueView } from './queues.views.js';

/** An item in progress this long is abandoned, unless the queue says otherwise. */
const DEFAULT_ITEM_TIMEOUT_SECONDS = 3600;

export interface QueueStatsView {
  counts: Record<string, number>;
  average_processing_ms: number | null;
  sla_breaches: number;
  deadline_breaches: number;
  oldest_waiting_age_ms: number | null;
}

function nameTaken(name: string): AppError {
  return new AppError('conflict', `a queue named "${name}" exists`, {
    details: [{ field: 'name', message: 'already used in this organisation' }],
  });
}

/** Whether a process exists in an organisation; the processes module answers it (wired in app.ts). */
export type ProcessExists = (orgId: string, processId: string) => Promise<boolean>;

/** Work queues: their settings, and deleting them with their items. */
export class QueuesService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  readonly #processExists: ProcessExists;

  constructor(deps: { db: Executor; clock: Clock; audit: AuditLog; processExists: ProcessExists }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#processExists = deps.processExists;
  }

  /** A trigger names a process of the organisation (422 otherwise). */
  async #checkTrigger(orgId: string, processId: string | null | undefined): Promise<void> {
    if (processId && !(await this.#processExists(orgId, processId)))
      throw new AppError('unprocessable', 'the trigger process does not exist', {
        details: [{ field: 'trigger_process_id', message: 'no such process' }],
      });
  }

  async create(ctx: RequestContext, input: QueueCreateBody): Promise<QueueView> {
    await this.#checkTrigger(ctx.orgId, input.trigger_process_id);
    const now = this.#clock.now().toISOString();
    const queue: Queue = {
      id: newId(),
      org_id: ctx.orgId,
      name: input.name,
      description: input.description ?? '',
      max_retries: input.max_retries ?? 0,
      deadline_minutes: input.deadline_minutes ?? null,
      sla_minutes: input.sla_minutes ?? null,
      unique_references: input.unique_references ?? false,
      active: input.active ?? true,
      item_timeout_seconds: input.item_timeout_seconds ?? DEFAULT_ITEM_TIMEOUT_SECONDS,
      trigger_process_id: input.trigger_process_id ?? null,
      trigger_max_jobs: input.trigger_max_jobs ?? 1,
      created_by: ctx.userId,
      created_at: now,
      updated_at: now,
    };
    return inTransaction(this.#db, async (trx) => {
      if (!(await queuesRepo.insert(trx, queue))) throw nameTaken(queue.name);
      const created = queueView(queue);
      await this.#audit.record(trx, ctx, {
        action: 'created',
        entityType: 'queue',
        entityId: queue.id,
        after: created,
      });
      return created;
    });
  }

  async list(orgId: string, filter: QueueFilter, page: PageParams): Promise<Page<QueueView>> {
    return mapPage(await queuesRepo.list(this.#db, orgId, filter, page), queueView);
  }

  async get(orgId: string, id: string): Promise<QueueView> {
    return queueView(await this.row(this.#db, orgId, id));
  }

  /** The stored queue; another organisation's id is not found. */
  async row(db: Executor, orgId: string, id: string): Promise<Queue> {
    const queue = await queuesRepo.get(db, orgId, id);
    if (!queue) throw notFound('queue');
    return queue;
  }

  async update(ctx: RequestContext, id: string, input: QueueUpdateBody): Promise<QueueView> {
    await this.#checkTrigger(ctx.orgId, input.trigger_process_id);
    return inTransaction(this.#db, async (trx) => {
      const before = await queuesRepo.lock(trx, ctx.orgId, id);
      if (!before) throw notFound('queue');
      const changes: QueueChanges = {
        ...Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)),
        updated_at: this.#clock.now().toISOString(),
      };
      if (!(await queuesRepo.update(trx, ctx.orgId, id, changes))) throw nameTaken(input.name ?? before.name);
      const after = queueView({ ...before, ...changes });
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'queue',
        entityId: id,
        before: queueView(before),
        after,
      });
      return after;
    });
  }

  /**
   * Deletes a queue and its items. While items are new or in progress it is refused (409), since
   * work would be lost, unless `force` says that is meant.
   */
  async remove(ctx: RequestContext, id: string, force: boolean): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const before = await queuesRepo.lock(trx, ctx.orgId, id);
      if (!before) throw notFound('queue');
      if (!force && (await itemsRepo.hasUnfinished(trx, id)))
        throw new AppError('conflict', `queue "${before.name}" has items new or in progress`, {
          details: [{ field: 'force', message: 'delete with ?force=true to delete them too' }],
        });
      await queuesRepo.remove(trx, ctx.orgId, id);
      await this.#audit.record(trx, ctx, {
        action: 'deleted',
        entityType: 'queue',
        entityId: id,
        before: queueView(before),
      });
    });
  }

  async stats(orgId: string, id: string): Promise<QueueStatsView> {
    await this.row(this.#db, orgId, id);
    const now = this.#clock.now();
    const { oldest_waiting_at, ...stats } = await statsRepo.of(this.#db, id, now.toISOString());
    return {
      ...stats,
      oldest_waiting_age_ms:
        oldest_waiting_at === null ? null : Math.max(0, now.getTime() - Date.parse(oldest_waiting_at)),
    };
  }
}
