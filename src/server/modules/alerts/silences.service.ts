import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, type ErrorDetail } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { AgentSelector, SilenceCreateBody, SilenceUpdateBody } from './alerts.schemas.js';
import { AuditedRows } from './audited-rows.js';
import { selectorProblems } from './rules.service.js';
import { rulesRepo, silencesRepo, type Silence, type SilenceState } from './rules.repo.js';

export interface SilenceView {
  id: string;
  rule_id: string | null;
  selector: AgentSelector | null;
  reason: string;
  starts_at: string;
  ends_at: string;
  state: SilenceState;
  created_at: string;
  updated_at: string;
}

function stateAt(silence: Silence, now: string): SilenceState {
  if (silence.ends_at <= now) return 'expired';
  return silence.starts_at > now ? 'pending' : 'active';
}

/** Times in one form (ISO, UTC, milliseconds), so they compare as text in both dialects. */
function iso(value: string): string {
  return new Date(value).toISOString();
}

/**
 * Silences: while one is in force, alerts it matches (its rule, its agents, or both) still fire
 * and are recorded, but their channels are not told. A silence starting later is a maintenance
 * window; one past its end is kept and listed as expired.
 */
export class SilencesService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #silences: AuditedRows<Silence, SilenceView>;

  constructor(deps: { db: Executor; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#silences = new AuditedRows({
      ...deps,
      repo: silencesRepo,
      entityType: 'silence',
      view: (silence) => this.view(silence),
    });
  }

  view(silence: Silence): SilenceView {
    const { id, rule_id, selector, reason, starts_at, ends_at, created_at, updated_at } = silence;
    const state = stateAt(silence, this.#clock.now().toISOString());
    return { id, rule_id, selector, reason, starts_at, ends_at, state, created_at, updated_at };
  }

  async create(ctx: RequestContext, input: SilenceCreateBody): Promise<SilenceView> {
    const now = this.#clock.now().toISOString();
    const silence: Silence = {
      id: newId(),
      org_id: ctx.orgId,
      rule_id: input.rule_id ?? null,
      selector: input.selector ?? null,
      reason: input.reason.trim(),
      starts_at: input.starts_at === undefined ? now : iso(input.starts_at),
      ends_at: iso(input.ends_at),
      created_by: ctx.userId,
      created_at: now,
      updated_at: now,
    };
    await this.#assertValid(ctx.orgId, silence);
    return this.#silences.create(ctx, silence);
  }

  async list(orgId: string, state: SilenceState | undefined, page: PageParams): Promise<Page<SilenceView>> {
    const now = this.#clock.now().toISOString();
    return mapPage(await silencesRepo.list(this.#db, orgId, state, now, page), (s) => this.view(s));
  }

  async get(orgId: string, id: string): Promise<SilenceView> {
    return this.view(await this.#silences.get(this.#db, orgId, id));
  }

  async update(ctx: RequestContext, id: string, input: SilenceUpdateBody): Promise<SilenceView> {
    const current = await this.#silences.get(this.#db, ctx.orgId, id);
    const changes: Partial<Silence> = {
      ...(input.rule_id === undefined ? {} : { rule_id: input.rule_id }),
      ...(input.selector === undefined ? {} : { selector: input.selector }),
      ...(input.reason === undefined ? {} : { reason: input.reason.trim() }),
      ...(input.starts_at === undefined ? {} : { starts_at: iso(input.starts_at) }),
      ...(input.ends_at === undefined ? {} : { ends_at: iso(input.ends_at) }),
      updated_at: this.#clock.now().toISOString(),
    };
    await this.#assertValid(ctx.orgId, { ...current, ...changes });
    return this.#silences.update(ctx, current, changes);
  }

  remove(ctx: RequestContext, id: string): Promise<void> {
    return this.#silences.remove(ctx, id);
  }

  async #assertValid(orgId: string, silence: Silence): Promise<void> {
    const details: ErrorDetail[] = [];
    if (silence.rule_id === null && silence.selector === null)
      details.push({ field: 'rule_id', message: 'name a rule, an agent selector, or both' });
    if (silence.rule_id !== null && !(await rulesRepo.get(this.#db, orgId, silence.rule_id)))
      details.push({ field: 'rule_id', message: 'alert rule not found' });
    if (silence.reason === '') details.push({ field: 'reason', message: 'must not be blank' });
    if (silence.ends_at <= silence.starts_at)
      details.push({ field: 'ends_at', message: 'must be after starts_at' });
    details.push(...(await selectorProblems(this.#db, orgId, silence.selector, 'selector')));
    if (details.length > 0) throw new AppError('unprocessable', 'the silence is not valid', { details });
  }
}
