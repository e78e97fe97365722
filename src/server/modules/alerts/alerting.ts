import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Executor } from '../../db/executor.js';
import { NodeLeases } from '../../db/node-leases.js';
import type { Clock } from '../../lib/clock.js';
import type { SecretBox } from '../../lib/crypto.js';
import type { Logger } from '../../lib/logger.js';
import type { OutboundRange } from '../../lib/outbound.js';
import type { EventBus } from '../../realtime/events.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { Mailer } from '../email/mailer.js';
import type { SettingsService } from '../settings/settings.service.js';
import { AlertEvaluator } from './alerts.evaluator.js';
import { alertsRoutes } from './alerts.routes.js';
import { AlertsService } from './alerts.service.js';
import { ChannelsService } from './channels.service.js';
import { Notifier } from './notifier.js';
import { alertConfigRoutes } from './rules.routes.js';
import { RulesService } from './rules.service.js';
import { SilencesService } from './silences.service.js';

/** A failed notification is tried again after each of these (then recorded as failed in the alert's history). */
const RETRY_DELAYS_MS = [1000, 5000];

/** The alerting module's services, wired from their narrow dependencies. */
export function createAlerting(deps: {
  db: Executor;
  clock: Clock;
  audit: AuditLog;
  bus: EventBus;
  box: SecretBox;
  mailer: Mailer;
  settings: SettingsService;
  logger: Logger;
  /** Address ranges notifications may call besides public ones. */
  outboundAllow: readonly OutboundRange[];
  /** The evaluator never runs more often than this, whatever the setting says. */
  minIntervalMs: number;
}) {
  const { db, clock, audit, box, logger } = deps;
  const notifier = new Notifier({
    box,
    mailer: deps.mailer,
    allowed: deps.outboundAllow,
    retryDelaysMs: RETRY_DELAYS_MS,
    clock,
    logger,
  });
  return {
    notifier,
    rules: new RulesService({ db, clock, audit }),
    channels: new ChannelsService({ db, clock, audit, box, notifier, allowed: deps.outboundAllow }),
    silences: new SilencesService({ db, clock, audit }),
    alerts: new AlertsService({ db, clock, audit }),
    evaluator: new AlertEvaluator({
      db,
      clock,
      bus: deps.bus,
      leases: new NodeLeases({ db, clock }),
      notifier,
      logger,
      intervalMs: async () =>
        Math.max(
          (await deps.settings.readInstance('alerts')).evaluation_interval_seconds * 1000,
          deps.minIntervalMs,
        ),
    }),
  };
}

export type Alerting = ReturnType<typeof createAlerting>;

/** Every alerting route. */
export function alertingRoutes(alerting: Alerting): FastifyPluginAsyncTypebox {
  return async (app) => {
    await app.register(alertsRoutes({ alerts: alerting.alerts, notifier: alerting.notifier }));
    await app.register(
      alertConfigRoutes({ rules: alerting.rules, channels: alerting.channels, silences: alerting.silences }),
    );
  };
}
