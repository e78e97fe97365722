import { inTransaction, type Executor } from '../../db/executor.js';
import type { NodeLeases } from '../../db/node-leases.js';
import type { Clock } from '../../lib/clock.js';
import { newId } from '../../lib/ids.js';
import type { Logger } from '../../lib/logger.js';
import type { EventBus } from '../../realtime/events.js';
import { watchAgents } from '../agents/agents.watch.js';
import { findingsOf, type Finding } from './alerts.findings.js';
import { alertsRepo, conditionsRepo, type Alert } from './alerts.repo.js';
import type { Delivery, Notice, Notifier } from './notifier.js';
import { channelsRepo, rulesRepo, silencesRepo, type Rule, type Silence } from './rules.repo.js';

/** The lease that makes one node evaluate; held for a few intervals, renewed each pass. */
const LEASE = 'alerts';
const MINUTE = 60_000;

/**
 * Evaluates every enabled rule, on one node at a time (the holder of the `alerts` lease).
 *
 * For each rule: what is in trouble now (findingsOf); a subject whose condition has held long
 * enough (`minutes`, for offline agents and metrics) opens an alert unless one is open (the
 * partial unique index makes that hold across nodes and passes); an open alert whose subject is
 * no longer in trouble resolves. Then alerts not yet told are told to the rule's channels,
 * unless a silence in force matches them: they stay untold until it ends, or until resolved.
 *
 * Timer states: stopped → start() → waiting ⇄ evaluating → stop() → stopped. `intervalMs`
 * answers the wait before each pass (read from the settings each time).
 */
export class AlertEvaluator {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #bus: EventBus;
  readonly #leases: NodeLeases;
  readonly #notifier: Notifier;
  readonly #logger: Logger;
  readonly #intervalMs: () => Promise<number>;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #pass: Promise<unknown> = Promise.resolve();

  constructor(deps: {
    db: Executor;
    clock: Clock;
    bus: EventBus;
    leases: NodeLeases;
    notifier: Notifier;
    logger: Logger;
    intervalMs: () => Promise<number>;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#bus = deps.bus;
    this.#leases = deps.leases;
    this.#notifier = deps.notifier;
    this.#logger = deps.logger;
    this.#intervalMs = deps.intervalMs;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#schedule();
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#timer);
    await this.#pass;
    await this.#leases.release(LEASE).catch(() => undefined);
  }

  /**
   * One pass if this node holds the lease (taken or renewed for three intervals); answers
   * whether it evaluated. Passes on one node run one after another.
   */
  tick(): Promise<boolean> {
    return this.#serial(async () => {
      const ttl = 3 * (await this.#intervalMs());
      if (!(await this.#leases.hold(LEASE, ttl))) return false;
      await this.#evaluateAll();
      return true;
    });
  }

  /** Evaluates every enabled rule now, lease or not (tests drive this by hand). */
  evaluate(): Promise<void> {
    return this.#serial(() => this.#evaluateAll());
  }

  /** Passes on one node run one after another. */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const pass = this.#pass.then(work);
    this.#pass = pass.catch(() => undefined);
    return pass;
  }

  /** One rule's failure never stops the rest. */
  async #evaluateAll(): Promise<void> {
    for (const alert of await alertsRepo.openOfDisabled(this.#db))
      await this.#close(alert, { reason: 'rule disabled' });
    for (const rule of await rulesRepo.enabled(this.#db)) {
      try {
        await this.#evaluateRule(rule);
      } catch (error) {
        this.#logger.error({ err: error, ruleId: rule.id }, 'alerts: a rule could not be evaluated');
      }
    }
  }

  async #schedule(): Promise<void> {
    const wait = await this.#intervalMs().catch(() => MINUTE);
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.tick()
        .catch((error: unknown) => this.#logger.error({ err: error }, 'alerts: evaluation failed'))
        .finally(() => void this.#schedule());
    }, wait).unref();
  }

  async #evaluateRule(rule: Rule): Promise<void> {
    const now = this.#clock.now();
    const findings = await findingsOf(this.#db, rule, now);
    const tracked = findings.filter((f) => f.tracked).map((f) => f.subject);
    const since =
      rule.kind === 'metric_above'
        ? await conditionsRepo.track(this.#db, rule.id, tracked, now.toISOString())
        : undefined;
    const holdMs = (rule.params.minutes ?? 0) * MINUTE;
    const ready = (f: Finding) => {
      const from = f.since ?? since?.get(f.subject);
      return from === undefined || now.getTime() - Date.parse(from) >= holdMs;
    };
    const open = await alertsRepo.openOf(this.#db, rule.id);
    const troubled = new Set(findings.map((f) => f.subject));
    const opened = new Set(open.map((a) => a.subject));
    const silences = new SilenceMatcher(
      this.#db,
      rule,
      await silencesRepo.active(this.#db, rule.org_id, now.toISOString()),
    );
    for (const alert of open) if (!troubled.has(alert.subject)) await this.#resolve(rule, alert, silences);
    for (const finding of findings)
      if (!opened.has(finding.subject) && ready(finding)) await this.#fire(rule, finding, silences);
    await this.#notifyPending(rule, silences);
  }

  async #fire(rule: Rule, finding: Finding, silences: SilenceMatcher): Promise<void> {
    const at = this.#clock.now().toISOString();
    const alert: Alert = {
      id: newId(),
      org_id: rule.org_id,
      rule_id: rule.id,
      subject: finding.subject,
      subject_label: finding.label,
      state: 'firing',
      severity: rule.severity,
      summary: finding.summary,
      fired_at: at,
      acknowledged_at: null,
      acknowledged_by: null,
      notified_at: null,
      resolved_at: null,
      updated_at: at,
    };
    const silence = await silences.matching(alert.subject);
    const fired = await inTransaction(this.#db, async (trx) => {
      // Another pass (another node) opened it first: nothing to do.
      if (!(await alertsRepo.open(trx, alert))) return false;
      await alertsRepo.record(trx, alert.id, newId(), {
        at,
        kind: 'fired',
        actor: null,
        detail: { summary: alert.summary },
      });
      if (silence)
        await alertsRepo.record(trx, alert.id, newId(), {
          at,
          kind: 'silenced',
          actor: null,
          detail: { silence_id: silence.id, reason: silence.reason, until: silence.ends_at },
        });
      return true;
    });
    if (fired) this.#publish('alert.fired', rule, alert);
  }

  /** Resolves an open alert and records why; false when it was resolved meanwhile. */
  #close(alert: Alert, detail: Record<string, unknown>): Promise<boolean> {
    const at = this.#clock.now().toISOString();
    return inTransaction(this.#db, async (trx) => {
      const changes = { state: 'resolved' as const, resolved_at: at, updated_at: at };
      if (!(await alertsRepo.change(trx, alert.id, changes))) return false;
      await alertsRepo.record(trx, alert.id, newId(), { at, kind: 'resolved', actor: null, detail });
      return true;
    });
  }

  async #resolve(rule: Rule, alert: Alert, silences: SilenceMatcher): Promise<void> {
    const at = this.#clock.now().toISOString();
    if (!(await this.#close(alert, {}))) return;
    this.#publish('alert.resolved', rule, alert);
    // Told it fired, told it resolved; one never told (silenced, or acknowledged first) is not.
    if (alert.notified_at !== null && !(await silences.matching(alert.subject)))
      await this.#tell(rule, { ...alert, resolved_at: at }, 'alert.resolved');
  }

  /** Tells the rule's channels of its firing alerts not told yet and not held by a silence. */
  async #notifyPending(rule: Rule, silences: SilenceMatcher): Promise<void> {
    if (rule.channel_ids.length === 0) return;
    for (const alert of await alertsRepo.unnotified(this.#db, rule.id)) {
      if (await silences.matching(alert.subject)) continue;
      // Claimed before sending, so a notice goes out at most once whatever runs alongside.
      if (!(await alertsRepo.claimNotice(this.#db, alert.id, this.#clock.now().toISOString()))) continue;
      await this.#tell(rule, alert, 'alert.fired');
    }
  }

  /** Sends to every channel of the rule (with retries), recording each attempt in the alert's history. */
  async #tell(rule: Rule, alert: Alert, event: Notice['event']): Promise<void> {
    const channels = await channelsRepo.many(this.#db, rule.org_id, rule.channel_ids);
    const notice: Notice = {
      event,
      alert_id: alert.id,
      rule: { id: rule.id, name: rule.name, kind: rule.kind },
      severity: alert.severity,
      subject: alert.subject,
      subject_label: alert.subject_label,
      summary: alert.summary,
      at: this.#clock.now().toISOString(),
    };
    await Promise.all(
      channels.map((channel) =>
        this.#notifier.send(channel, notice, (attempt: number, delivery: Delivery) =>
          alertsRepo.record(this.#db, alert.id, newId(), {
            at: this.#clock.now().toISOString(),
            kind: delivery.ok ? 'notified' : 'notify_failed',
            actor: null,
            detail: { event, channel_id: channel.id, channel: channel.name, attempt, ...delivery },
          }),
        ),
      ),
    );
  }

  #publish(type: 'alert.fired' | 'alert.resolved', rule: Rule, alert: Alert): void {
    this.#bus.publish({
      type,
      org_id: rule.org_id,
      alert_id: alert.id,
      rule_id: rule.id,
      rule_name: rule.name,
      severity: alert.severity,
      subject: alert.subject,
      subject_label: alert.subject_label,
      summary: alert.summary,
    });
  }
}

/** The silences in force for one rule's pass; a selector's agents are resolved once per pass. */
class SilenceMatcher {
  readonly #agents = new Map<string, Promise<Set<string>>>();

  constructor(
    private readonly db: Executor,
    private readonly rule: Rule,
    private readonly silences: readonly Silence[],
  ) {}

  /** The first silence that holds this subject's notifications, if any. */
  async matching(subject: string): Promise<Silence | undefined> {
    const agentId = subject.startsWith('agent:') ? subject.slice('agent:'.length) : undefined;
    for (const silence of this.silences) {
      if (silence.rule_id !== null && silence.rule_id !== this.rule.id) continue;
      if (silence.selector === null) return silence;
      if (agentId !== undefined && (await this.#agentsOf(silence)).has(agentId)) return silence;
    }
    return undefined;
  }

  #agentsOf(silence: Silence): Promise<Set<string>> {
    let agents = this.#agents.get(silence.id);
    if (!agents) {
      agents = watchAgents(this.db, this.rule.org_id, silence.selector ?? {}).then(
        (found) => new Set(found.map((a) => a.id)),
      );
      this.#agents.set(silence.id, agents);
    }
    return agents;
  }
}
