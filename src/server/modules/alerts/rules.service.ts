import type { Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import { AppError, type ErrorDetail } from '../../lib/errors.js';
import { newId } from '../../lib/ids.js';
import { mapPage, type Page, type PageParams } from '../../lib/pagination.js';
import type { RequestContext } from '../access/context.js';
import { requireKnownTarget } from '../agents/agents.service.js';
import type { AuditLog } from '../audit/audit.service.js';
import { conditionsRepo } from './alerts.repo.js';
import { AuditedRows } from './audited-rows.js';
import { alertSources, type Referenced } from './alerts.sources.js';
import type {
  AgentSelector,
  RuleCreateBody,
  RuleKind,
  RuleParams,
  RuleUpdateBody,
  Severity,
} from './alerts.schemas.js';
import { paramsProblems } from './rules.params.js';
import { rulesRepo, type Rule } from './rules.repo.js';

export interface RuleView {
  id: string;
  name: string;
  kind: RuleKind;
  params: RuleParams;
  enabled: boolean;
  severity: Severity;
  channel_ids: string[];
  created_at: string;
  updated_at: string;
}

export function ruleView(rule: Rule): RuleView {
  const { id, name, kind, params, enabled, severity, channel_ids, created_at, updated_at } = rule;
  return { id, name, kind, params, enabled, severity, channel_ids, created_at, updated_at };
}

function notValid(details: ErrorDetail[]): AppError {
  return new AppError('unprocessable', 'the alert rule is not valid', { details });
}

/** The ids a rule's parameters name, with the table each must be a row of. */
const REFERENCES: [keyof RuleParams, Exclude<Referenced, 'notification_channels'>][] = [
  ['script_id', 'scripts'],
  ['profile_id', 'profiles'],
  ['schedule_id', 'schedules'],
  ['service_id', 'services'],
  ['queue_id', 'queues'],
];

/** Checks that a selector names only the organisation's agents and groups; problems under `field`. */
export async function selectorProblems(
  db: Executor,
  orgId: string,
  selector: AgentSelector | undefined | null,
  field: string,
): Promise<ErrorDetail[]> {
  if (!selector) return [];
  try {
    await requireKnownTarget(db, orgId, selector);
    return [];
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'unprocessable') throw error;
    return error.details.map((d) => ({
      ...d,
      field: `${field}.${(d.field ?? '').replace(/^target\./, '')}`,
    }));
  }
}

/** Alert rules: what to watch, how severe it is, whom to tell. */
export class RulesService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #rules: AuditedRows<Rule, RuleView>;

  constructor(deps: { db: Executor; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#rules = new AuditedRows({ ...deps, repo: rulesRepo, entityType: 'alert_rule', view: ruleView });
  }

  async create(ctx: RequestContext, input: RuleCreateBody): Promise<RuleView> {
    const now = this.#clock.now().toISOString();
    const rule: Rule = {
      id: newId(),
      org_id: ctx.orgId,
      name: input.name.trim(),
      kind: input.kind,
      params: input.params,
      enabled: input.enabled ?? true,
      severity: input.severity ?? 'warning',
      channel_ids: input.channel_ids ?? [],
      created_by: ctx.userId,
      created_at: now,
      updated_at: now,
    };
    await this.#assertValid(ctx.orgId, rule);
    return this.#rules.create(ctx, rule);
  }

  async list(
    orgId: string,
    filter: { kind?: RuleKind; enabled?: boolean },
    page: PageParams,
  ): Promise<Page<RuleView>> {
    return mapPage(await rulesRepo.list(this.#db, orgId, filter, page), ruleView);
  }

  async get(orgId: string, id: string): Promise<RuleView> {
    return ruleView(await this.#rules.get(this.#db, orgId, id));
  }

  async update(ctx: RequestContext, id: string, input: RuleUpdateBody): Promise<RuleView> {
    const current = await this.#rules.get(this.#db, ctx.orgId, id);
    if (input.kind !== undefined && input.kind !== current.kind && input.params === undefined)
      throw notValid([{ field: 'params', message: `give the parameters of ${input.kind}` }]);
    const changes: Partial<Rule> = {
      ...(input.name === undefined ? {} : { name: input.name.trim() }),
      ...(input.kind === undefined ? {} : { kind: input.kind }),
      ...(input.params === undefined ? {} : { params: input.params }),
      ...(input.enabled === undefined ? {} : { enabled: input.enabled }),
      ...(input.severity === undefined ? {} : { severity: input.severity }),
      ...(input.channel_ids === undefined ? {} : { channel_ids: input.channel_ids }),
      updated_at: this.#clock.now().toISOString(),
    };
    await this.#assertValid(ctx.orgId, { ...current, ...changes });
    // a changed rule starts counting how long its condition has held again
    return this.#rules.update(ctx, current, changes, (trx) => conditionsRepo.forget(trx, id));
  }

  /** Deletes a rule; its alerts and their history go with it. */
  remove(ctx: RequestContext, id: string): Promise<void> {
    return this.#rules.remove(ctx, id);
  }

  /** The kind's parameters, and every id the rule names being the organisation's: one 422 for all problems. */
  async #assertValid(orgId: string, rule: Rule): Promise<void> {
    const details = paramsProblems(rule.kind, rule.params);
    if (rule.name === '') details.push({ field: 'name', message: 'must not be blank' });
    details.push(...(await selectorProblems(this.#db, orgId, rule.params.selector, 'params.selector')));
    for (const [param, table] of REFERENCES) {
      const id = rule.params[param];
      if (typeof id !== 'string') continue;
      if (!(await alertSources.existing(this.#db, table, orgId, [id])).has(id))
        details.push({ field: `params.${param}`, message: `${table.replace(/s$/, '')} not found` });
    }
    const channels = await alertSources.existing(this.#db, 'notification_channels', orgId, rule.channel_ids);
    rule.channel_ids.forEach((id, index) => {
      if (!channels.has(id))
        details.push({ field: `channel_ids.${index}`, message: 'notification channel not found' });
    });
    if (details.length > 0) throw notValid(details);
  }
}
