import { inTransaction, type Executor } from '../../db/executor.js';
import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/crypto.js';
import { AppError } from '../../lib/errors.js';
import { MASK } from '../../lib/secrets.js';
import { isTimeZone } from '../../lib/time-zones.js';
import type { EventBus } from '../../realtime/events.js';
import type { RequestContext } from '../access/context.js';
import type { AuditLog } from '../audit/audit.service.js';
import { primaryOrg } from '../orgs/orgs.service.js';
import {
  secretSettings,
  settingsDefaults,
  settingsGroups,
  type SettingsGroup,
  type SettingsValues,
} from './settings.catalog.js';
import { settingsRepo, type Setting } from './settings.repo.js';

type AnyValues = Record<string, unknown>;

export class SettingsService {
  readonly #db: Executor;
  readonly #clock: Clock;
  readonly #box: SecretBox;
  readonly #audit: AuditLog;
  readonly #bus: Pick<EventBus, 'publish'> | undefined;

  /** `bus`: every node hears of a change, to apply what it holds in memory (the log level). */
  constructor(deps: {
    db: Executor;
    clock: Clock;
    box: SecretBox;
    audit: AuditLog;
    bus?: Pick<EventBus, 'publish'>;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#box = deps.box;
    this.#audit = deps.audit;
    this.#bus = deps.bus;
  }

  /** Only the keys of a group an organisation saved, clear: what it chose rather than a default. */
  async readSaved<G extends SettingsGroup>(orgId: string, group: G): Promise<Partial<SettingsValues<G>>> {
    const rows = await settingsRepo.list(this.#db, orgId, group);
    const values = this.#merge(group, rows) as AnyValues;
    return Object.fromEntries(rows.map((row) => [row.key, values[row.key]])) as Partial<SettingsValues<G>>;
  }

  /** Clear values, for the server's own use only: never return these through the API. */
  async read<G extends SettingsGroup>(
    orgId: string,
    group: G,
    db: Executor = this.#db,
  ): Promise<SettingsValues<G>> {
    const rows = await settingsRepo.list(db, orgId, group);
    return this.#merge(group, rows);
  }

  /** Instance-wide settings (signup, mail delivery) live in the primary organisation. */
  async readInstance<G extends SettingsGroup>(group: G): Promise<SettingsValues<G>> {
    const primary = await primaryOrg(this.#db);
    return primary ? this.read(primary.id, group) : settingsDefaults(group);
  }

  async readMasked<G extends SettingsGroup>(orgId: string, group: G): Promise<SettingsValues<G>> {
    return this.#mask(group, await this.read(orgId, group));
  }

  async readAllMasked(orgId: string): Promise<{ [G in SettingsGroup]: SettingsValues<G> }> {
    const rows = await settingsRepo.list(this.#db, orgId);
    const entries = settingsGroups.map((group) => [
      group,
      this.#mask(
        group,
        this.#merge(
          group,
          rows.filter((r) => r.group_name === group),
        ),
      ),
    ]);
    return Object.fromEntries(entries) as { [G in SettingsGroup]: SettingsValues<G> };
  }

  /** Applies a validated partial update; a secret sent back as the mask keeps its value. */
  async update<G extends SettingsGroup>(
    ctx: RequestContext,
    group: G,
    patch: Partial<SettingsValues<G>>,
  ): Promise<SettingsValues<G>> {
    checkValues(group, patch);
    const secrets = secretSettings[group];
    const now = this.#clock.now().toISOString();
    const saved = await inTransaction(this.#db, async (trx) => {
      const before = await this.read(ctx.orgId, group, trx);
      const changes = Object.entries(patch).filter(
        ([key, value]) => !(secrets.includes(key) && value === MASK),
      );
      for (const [key, value] of changes) {
        const stored =
          secrets.includes(key) && value !== ''
            ? { sealed: true as const, value: this.#box.seal(JSON.stringify(value)) }
            : { sealed: false as const, value };
        await settingsRepo.upsert(trx, {
          org_id: ctx.orgId,
          group_name: group,
          key,
          ...stored,
          updated_at: now,
          updated_by: ctx.actor.id,
        });
      }
      const after = await this.read(ctx.orgId, group, trx);
      await this.#audit.record(trx, ctx, {
        action: 'modified',
        entityType: 'settings',
        entityId: group,
        before: this.#mask(group, before),
        after: this.#mask(group, after),
      });
      return this.#mask(group, after);
    });
    this.#bus?.publish({ type: 'settings.changed', org_id: ctx.orgId, group });
    return saved;
  }

  #merge<G extends SettingsGroup>(group: G, rows: Setting[]): SettingsValues<G> {
    const values: AnyValues = { ...settingsDefaults(group) };
    for (const row of rows) {
      if (!(row.key in values)) continue;
      // A secret is sealed as the JSON of its value.
      values[row.key] = row.sealed ? JSON.parse(this.#box.open(row.value)) : row.value;
    }
    return values as SettingsValues<G>;
  }

  #mask<G extends SettingsGroup>(group: G, values: SettingsValues<G>): SettingsValues<G> {
    const masked: AnyValues = { ...values };
    for (const key of secretSettings[group]) masked[key] = masked[key] ? MASK : '';
    return masked as SettingsValues<G>;
  }
}

/** Rules the catalogue's schemas cannot say: 422 naming the field. */
function checkValues(group: SettingsGroup, patch: { timezone?: unknown }): void {
  const { timezone } = patch;
  if (group === 'general' && typeof timezone === 'string' && !isTimeZone(timezone))
    throw new AppError('unprocessable', `"${timezone}" is not an IANA time zone`, {
      details: [{ field: 'timezone', message: 'not an IANA time zone (Europe/Paris, UTC, …)' }],
    });
}
