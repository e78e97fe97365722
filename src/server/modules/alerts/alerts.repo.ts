import type { Executor } from '../../db/executor.js';
import type { AlertEventsTable, AlertsTable } from '../../db/schema.js';
import { unlessTaken } from '../../db/search.js';
import { mapPage, paginate, type Page, type PageParams } from '../../lib/pagination.js';
import type { AlertState, Severity } from './alerts.schemas.js';

export interface Alert extends Omit<AlertsTable, 'state' | 'severity'> {
  state: AlertState;
  severity: Severity;
}

export interface AlertWithRule extends Alert {
  rule_name: string;
}

export type AlertEventKind =
  'fired' | 'acknowledged' | 'notified' | 'notify_failed' | 'silenced' | 'resolved';

export interface AlertEvent {
  at: string;
  kind: AlertEventKind;
  actor: string | null;
  detail: Record<string, unknown>;
}

export interface AlertFilter {
  state?: AlertState;
  ruleId?: string;
  severity?: Severity;
}

function decode<T extends AlertsTable>(row: T): T & Alert {
  return { ...row, state: row.state as AlertState, severity: row.severity as Severity };
}

export const alertsRepo = {
  /** False when the rule already has an open alert for this subject (the partial unique index). */
  open(db: Executor, alert: Alert): Promise<boolean> {
    return unlessTaken(db.insertInto('alerts').values(alert).execute());
  },

  /** The rule's open alerts (firing or acknowledged). */
  async openOf(db: Executor, ruleId: string): Promise<Alert[]> {
    const rows = await db
      .selectFrom('alerts')
      .selectAll()
      .where('rule_id', '=', ruleId)
      .where('resolved_at', 'is', null)
      .execute();
    return rows.map(decode);
  },

  /** Open alerts of disabled rules: a rule switched off no longer judges, so they resolve. */
  async openOfDisabled(db: Executor): Promise<Alert[]> {
    const rows = await db
      .selectFrom('alerts')
      .innerJoin('alert_rules', 'alert_rules.id', 'alerts.rule_id')
      .selectAll('alerts')
      .where('alert_rules.enabled', '=', 0)
      .where('alerts.resolved_at', 'is', null)
      .execute();
    return rows.map(decode);
  },

  /** Open alerts whose channels were not told yet, and not acknowledged (a silence may have held them). */
  async unnotified(db: Executor, ruleId: string): Promise<Alert[]> {
    const rows = await db
      .selectFrom('alerts')
      .selectAll()
      .where('rule_id', '=', ruleId)
      .where('state', '=', 'firing')
      .where('notified_at', 'is', null)
      .execute();
    return rows.map(decode);
  },

  async get(db: Executor, orgId: string, id: string): Promise<AlertWithRule | undefined> {
    const row = await db
      .selectFrom('alerts')
      .innerJoin('alert_rules', 'alert_rules.id', 'alerts.rule_id')
      .selectAll('alerts')
      .select('alert_rules.name as rule_name')
      .where('alerts.org_id', '=', orgId)
      .where('alerts.id', '=', id)
      .executeTakeFirst();
    return row && decode(row);
  },

  async list(
    db: Executor,
    orgId: string,
    filter: AlertFilter,
    page: PageParams,
  ): Promise<Page<AlertWithRule>> {
    let q = db
      .selectFrom('alerts')
      .innerJoin('alert_rules', 'alert_rules.id', 'alerts.rule_id')
      .selectAll('alerts')
      .select('alert_rules.name as rule_name')
      .where('alerts.org_id', '=', orgId);
    if (filter.state) q = q.where('alerts.state', '=', filter.state);
    if (filter.ruleId) q = q.where('alerts.rule_id', '=', filter.ruleId);
    if (filter.severity) q = q.where('alerts.severity', '=', filter.severity);
    return mapPage(await paginate(q, 'alerts.id', page), decode);
  },

  /** Moves an open alert; false when it was not open (resolved meanwhile). */
  async change(
    db: Executor,
    id: string,
    changes: Partial<
      Pick<
        Alert,
        'state' | 'acknowledged_at' | 'acknowledged_by' | 'notified_at' | 'resolved_at' | 'updated_at'
      >
    >,
  ): Promise<boolean> {
    const result = await db
      .updateTable('alerts')
      .set(changes)
      .where('id', '=', id)
      .where('resolved_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  /** Marks a firing alert told; false when another pass did first (or it was acknowledged or resolved). */
  async claimNotice(db: Executor, id: string, now: string): Promise<boolean> {
    const result = await db
      .updateTable('alerts')
      .set({ notified_at: now, updated_at: now })
      .where('id', '=', id)
      .where('state', '=', 'firing')
      .where('notified_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  },

  async record(db: Executor, alertId: string, id: string, event: AlertEvent): Promise<void> {
    const row: AlertEventsTable = { id, alert_id: alertId, ...event, detail: JSON.stringify(event.detail) };
    await db.insertInto('alert_events').values(row).execute();
  },

  async history(db: Executor, alertId: string): Promise<AlertEvent[]> {
    const rows = await db
      .selectFrom('alert_events')
      .selectAll()
      .where('alert_id', '=', alertId)
      .orderBy('id')
      .execute();
    return rows.map((row) => ({
      at: row.at,
      kind: row.kind as AlertEventKind,
      actor: row.actor,
      detail: JSON.parse(row.detail) as Record<string, unknown>,
    }));
  },
};

/** Since when each subject of a rule has met its condition (for rules that must see it hold a while). */
export const conditionsRepo = {
  /** Forgets since when a rule's subjects held: a changed rule starts counting again. */
  async forget(db: Executor, ruleId: string): Promise<void> {
    await db.deleteFrom('alert_conditions').where('rule_id', '=', ruleId).execute();
  },

  /**
   * Records the subjects meeting the condition now (a subject already recorded keeps its
   * `since`) and forgets the others; answers since when each holds.
   */
  async track(
    db: Executor,
    ruleId: string,
    subjects: readonly string[],
    now: string,
  ): Promise<Map<string, string>> {
    if (subjects.length === 0) {
      await this.forget(db, ruleId);
      return new Map();
    }
    await db
      .deleteFrom('alert_conditions')
      .where('rule_id', '=', ruleId)
      .where('subject', 'not in', [...subjects])
      .execute();
    // 3 parameters a row: 500 rows a statement stays far below both dialects' limits
    for (let i = 0; i < subjects.length; i += 500)
      await db
        .insertInto('alert_conditions')
        .values(subjects.slice(i, i + 500).map((subject) => ({ rule_id: ruleId, subject, since: now })))
        .onConflict((oc) => oc.columns(['rule_id', 'subject']).doNothing())
        .execute();
    const rows = await db
      .selectFrom('alert_conditions')
      .select(['subject', 'since'])
      .where('rule_id', '=', ruleId)
      .execute();
    return new Map(rows.map((row) => [row.subject, row.since]));
  },
};
