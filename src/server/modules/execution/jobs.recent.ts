import { isFinal } from '../../../protocol/jobs.js';
import type { EventBus, FleetEvent } from '../../realtime/events.js';
import type { AgentJob } from './jobs.rows.js';

/** How long a row is taken as read: an agent answers a job it was handed within moments. */
const RECENT_MS = 10_000;
/** Rows kept at most (the oldest go first): a fan-out's worth. */
const MAX_ROWS = 50_000;

/**
 * Job rows as this node last leased or wrote them, for the agent events that follow at once: an
 * agent handed a job acknowledges it, sends its output and its result within moments, and each
 * event would otherwise read the row again (three reads of every job of a fan-out).
 *
 * A row is absent → kept (a claim leased it, or an event applied here wrote it) → dropped, when
 * RECENT_MS passed, when a write expecting its status failed, or when another writer's change is
 * heard on the bus: a job sent back to the queue or ended (`job.state` queued or final) or asked
 * to stop (`job.cancel`), on any node. The writes an event makes stay guarded by the status they
 * expect, so a row changed meanwhile and not yet heard of only makes its write fail, and the row
 * is then read afresh.
 */
export class RecentJobs {
  readonly #rows = new Map<string, { row: AgentJob; at: number }>();

  constructor(bus: EventBus) {
    // for the bus's life: it drops its listeners when it closes, with the app
    bus.subscribe((event) => this.#heard(event));
  }

  /** The row as last leased or written here, if recent and this agent's. */
  get(agentId: string, id: string): AgentJob | undefined {
    const kept = this.#rows.get(id);
    if (!kept) return undefined;
    if (performance.now() - kept.at > RECENT_MS || kept.row.agent_id !== agentId) {
      this.#rows.delete(id);
      return undefined;
    }
    return kept.row;
  }

  keep(row: AgentJob): void {
    this.#rows.delete(row.id);
    if (this.#rows.size >= MAX_ROWS) {
      const oldest = this.#rows.keys().next();
      if (!oldest.done) this.#rows.delete(oldest.value);
    }
    this.#rows.set(row.id, { row, at: performance.now() });
  }

  drop(id: string): void {
    this.#rows.delete(id);
  }

  #heard(event: FleetEvent): void {
    if (
      event.type === 'job.cancel' ||
      (event.type === 'job.state' && (event.status === 'queued' || isFinal(event.status)))
    )
      this.#rows.delete(event.job_id);
  }
}
