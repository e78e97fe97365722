import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, notFound } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import type { Page, PageParams } from '../../lib/pagination.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import { alertsRepo, type AlertEvent, type AlertFilter, type AlertWithRule } from './alerts.repo.js';

export type AlertView = Omit<AlertWithRule, 'org_id' | 'updated_at'>;

export interface AlertDetail extends AlertView {
  history: AlertEvent[];
}

export function alertView(alert: AlertWithRule): AlertView {
  const { org_id: _org, updated_at: _updated, ...view } = alert;
  return view;
}

/** Who did it, as the history names them: the actor's label, or its kind and id. */
function actorName(ctx: RequestContext): string {
  return ctx.actor.label ?? `${ctx.actor.type}:${ctx.actor.id ?? ''}`;
}

/**
 * Alerts as people see them: listed, read with their history, acknowledged. An alert moves
 * firing → acknowledged (by someone) → resolved, or firing → resolved; only the evaluator
 * opens and resolves them (AlertEvaluator).
 */
export class AlertsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(deps: { db: Executor; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  async list(orgId: string, filter: AlertFilter, page: PageParams): Promise<Page<AlertView>> {
    const found = await alertsRepo.list(this.#db, orgId, filter, page);
    return { items: found.items.map(alertView), next_cursor: found.next_cursor };
  }

  async get(orgId: string, id: string): Promise<AlertDetail> {
    const alert = await this.#alert(this.#db, orgId, id);
    return { ...alertView(alert), history: await alertsRepo.history(this.#db, id) };
  }

  /** Someone is on it: no more notifications. Again on an acknowledged alert changes nothing; a resolved one is 409. */
  async acknowledge(ctx: RequestContext, id: string): Promise<AlertDetail> {
    await inTransaction(this.#db, async (trx) => {
      const before = await this.#alert(trx, ctx.orgId, id);
      if (before.state === 'acknowledged') return;
      const now = this.#clock.now().toISOString();
      const by = actorName(ctx);
      const changes = {
        state: 'acknowledged' as const,
        acknowledged_at: now,
        acknowledged_by: by,
        updated_at: now,
      };
      if (before.state === 'resolved' || !(await alertsRepo.change(trx, id, changes)))
        throw new AppError('conflict', 'the alert is resolved already');
      await alertsRepo.record(trx, id, newId(), { at: now, kind: 'acknowledged', actor: by, detail: {} });
      await this.#audit.record(trx, ctx, {
        action: 'status_changed',
        entityType: 'alert',
        entityId: id,
        before: { state: before.state },
        after: { state: 'acknowledged' },
      });
    });
    return this.get(ctx.orgId, id);
  }

  async #alert(db: Executor, orgId: string, id: string): Promise<AlertWithRule> {
    const alert = await alertsRepo.get(db, orgId, id);
    if (!alert) throw notFound('alert');
    return alert;
  }
}
