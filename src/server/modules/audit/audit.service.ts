import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { newId } from '../../lib/ids.js';
import { notFound } from '../../lib/errors.js';
import { maskSecrets } from '../../lib/secrets.js';
import type { Page, PageParams } from '../../lib/pagination.js';
import type { Actor, RequestMeta } from '../access/context.js';
import { auditRepo, type AuditEvent, type AuditFilter } from './audit.repo.js';

export const auditActions = [
  'created',
  'modified',
  'deleted',
  'status_changed',
  'login',
  'logout',
  'login_failed',
  /** A credential asset's value was handed to a robot (the value itself is never recorded). */
  'asset_read',
  /** The services directory was brought into the organisation (the report is the event's `after`). */
  'synced',
] as const;
export type AuditAction = (typeof auditActions)[number];

export interface AuditScope {
  orgId: string | null;
  actor: Actor;
  meta: RequestMeta;
}

export interface AuditEntry {
  action: AuditAction;
  entityType: string;
  entityId: string | null;
  before?: object | null;
  after?: object | null;
}

function masked(value: object | null | undefined): unknown {
  return value == null ? null : maskSecrets(value);
}

export class AuditLog {
  readonly #db: Executor;
  readonly #clock: Clock;

  constructor(deps: { db: Executor; clock: Clock }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
  }

  /** Writes one event; call it inside the transaction of the change it describes. */
  async record(db: Executor, scope: AuditScope, entry: AuditEntry): Promise<void> {
    await auditRepo.insert(db, this.#event(scope, entry));
  }

  /** Writes the events of many changes made together (a batch of claims) in a few statements. */
  async recordMany(db: Executor, events: readonly { scope: AuditScope; entry: AuditEntry }[]): Promise<void> {
    await auditRepo.insertMany(
      db,
      events.map(({ scope, entry }) => this.#event(scope, entry)),
    );
  }

  #event(scope: AuditScope, entry: AuditEntry): AuditEvent {
    return {
      id: newId(),
      org_id: scope.orgId,
      actor_type: scope.actor.type,
      actor_id: scope.actor.id,
      actor_label: scope.actor.label,
      action: entry.action,
      entity_type: entry.entityType,
      entity_id: entry.entityId,
      before: masked(entry.before),
      after: masked(entry.after),
      ip: scope.meta.ip,
      user_agent: scope.meta.userAgent?.slice(0, 512) ?? null,
      request_id: scope.meta.requestId,
      created_at: this.#clock.now().toISOString(),
    };
  }

  list(orgId: string, filter: AuditFilter, page: PageParams): Promise<Page<AuditEvent>> {
    return auditRepo.list(this.#db, orgId, filter, page);
  }

  async get(orgId: string, id: string): Promise<AuditEvent> {
    const row = await auditRepo.get(this.#db, orgId, id);
    if (!row) throw notFound('audit event');
    return row;
  }
}
