import cookie from '@fastify/cookie';
import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import websocket from '@fastify/websocket';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance } from 'fastify';
import path from 'node:path';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Config } from './config.js';
import { outageAwareLogger } from './db/availability.js';
import { pingDatabase, type Database } from './db/database.js';
import { frameworkErrors, installErrorHandling } from './http/errors.js';
import { webConsole } from './http/console.js';
import { installGuard } from './http/guard.js';
import { installOpenApiConventions, openApiOptions } from './http/openapi.js';
import { RateLimiter } from './http/rate-limit.js';
import { validatorCompiler } from './http/validation.js';
import { systemClock, type Clock } from './lib/clock.js';
import { SecretBox, loadMasterKey } from './lib/crypto.js';
import { OutageHold, silenceGraceMs } from './lib/sweep-timer.js';
import { anyUsage, type EntityUser } from './lib/usage.js';
import { newId } from './lib/ids.js';
import type { Logger } from './lib/logger.js';
import { packageVersion } from './lib/version.js';
import { accessRoutes } from './modules/access/access.routes.js';
import { AccessService } from './modules/access/access.service.js';
import { agentsRoutes } from './modules/agents/agents.routes.js';
import { AgentsService, countAgentVersions } from './modules/agents/agents.service.js';
import { groupsRoutes } from './modules/agents/groups.routes.js';
import { GroupsService } from './modules/agents/groups.service.js';
import { Liveness } from './modules/agents/liveness.js';
import { registerFleetMetrics } from './modules/metrics/metrics.prom.js';
import { MetricsRollup } from './modules/metrics/metrics.rollup.js';
import { metricsRoutes } from './modules/metrics/metrics.routes.js';
import { MetricsService } from './modules/metrics/metrics.service.js';
import { apiKeysRoutes } from './modules/apikeys/apikeys.routes.js';
import { assetsRoutes } from './modules/assets/assets.routes.js';
import { AssetsService } from './modules/assets/assets.service.js';
import { ApiKeysService } from './modules/apikeys/apikeys.service.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { AuditLog } from './modules/audit/audit.service.js';
import { authRoutes } from './modules/auth/auth.routes.js';
import { AuthService } from './modules/auth/auth.service.js';
import { Authenticator } from './modules/auth/authenticator.js';
import { deviceRoutes } from './modules/auth/device.routes.js';
import { DeviceService } from './modules/auth/device.service.js';
import { PrincipalCache } from './modules/auth/principal-cache.js';
import { AccessTokens } from './modules/auth/tokens.js';
import { Mailer } from './modules/email/mailer.js';
import { enrollmentRoutes } from './modules/enrollment/enrollment.routes.js';
import { EnrollmentService } from './modules/enrollment/enrollment.service.js';
import { RegistrationService } from './modules/enrollment/registration.service.js';
import { orgsRoutes } from './modules/orgs/orgs.routes.js';
import { OrgsService } from './modules/orgs/orgs.service.js';
import { packagesRoutes } from './modules/packages/packages.routes.js';
import { PackagesService } from './modules/packages/packages.service.js';
import { processesRoutes } from './modules/processes/processes.routes.js';
import { processPackageUsage, ProcessesService } from './modules/processes/processes.service.js';
import { openBlobStore } from './modules/storage/storage.js';
import { settingsRoutes } from './modules/settings/settings.routes.js';
import { SettingsService } from './modules/settings/settings.service.js';
import { LiveLogLevel } from './modules/settings/log-level.js';
import { NodeLeases } from './db/node-leases.js';
import { invitePurges } from './modules/access/invites.purges.js';
import { auditPurge } from './modules/audit/audit.purges.js';
import { authPurges } from './modules/auth/auth.purges.js';
import { enrollmentPurges } from './modules/enrollment/enrollment.purges.js';
import { jobOutputPurge } from './modules/execution/jobs.purges.js';
import { housekeepingRoutes } from './modules/housekeeping/housekeeping.routes.js';
import { Housekeeper } from './modules/housekeeping/housekeeping.service.js';
import { systemRoutes } from './modules/system/system.routes.js';
import { SystemService } from './modules/system/system.service.js';
import { jobsRoutes } from './modules/execution/jobs.routes.js';
import { AgentSession } from './modules/execution/agent-session.js';
import { JobTokens } from './modules/execution/job-tokens.js';
import { JobsService } from './modules/execution/jobs.service.js';
import { runsRoutes } from './modules/execution/runs.routes.js';
import { RunsService } from './modules/execution/runs.service.js';
import { scriptsRoutes } from './modules/scripts/scripts.routes.js';
import { ScriptRunner } from './modules/scripts/scripts.runner.js';
import { ScriptsService } from './modules/scripts/scripts.service.js';
import { ProfileApplier } from './modules/profiles/profiles.apply.js';
import { profilesRoutes } from './modules/profiles/profiles.routes.js';
import { StepSequencer } from './modules/execution/sequencer.js';
import { profileScriptUsage, ProfilesService } from './modules/profiles/profiles.service.js';
import { robotsRoutes } from './modules/robots/robots.routes.js';
import { deployTokensRoutes } from './modules/services/deploy-tokens.routes.js';
import { DeployTokensService } from './modules/services/deploy-tokens.service.js';
import { servicesRoutes } from './modules/services/services.routes.js';
import { AgentBuilds } from './modules/agent-builds/agent-builds.js';
import { agentBuildsRoutes } from './modules/agent-builds/agent-builds.routes.js';
import { agentUpdatesRoutes } from './modules/agent-builds/agent-updates.routes.js';
import { AgentUpdatesService } from './modules/agent-builds/agent-updates.service.js';
import { BuildSigningKey } from './modules/agent-builds/signing-key.js';
import { installersRoutes } from './modules/installers/installers.routes.js';
import { InstallersService } from './modules/installers/installers.service.js';
import { ServicesService } from './modules/services/services.service.js';
import { DeploymentTokens } from './modules/deployments/deployment-tokens.js';
import { DeploymentEvents } from './modules/deployments/deployments.events.js';
import { DeploymentPacer } from './modules/deployments/deployments.pacer.js';
import { DeploymentReports } from './modules/deployments/deployments.reports.js';
import { deploymentsRoutes } from './modules/deployments/deployments.routes.js';
import { DeploymentsService } from './modules/deployments/deployments.service.js';
import { serviceCatalog } from './modules/deployments/service-catalog.js';
import { robotAgentUsage, robotCredentialUsage, RobotsService } from './modules/robots/robots.service.js';
import { tasksRoutes } from './modules/profiles/tasks.routes.js';
import { TasksService } from './modules/profiles/tasks.service.js';
import { Scheduler } from './modules/schedules/scheduler.js';
import { LibraryLauncher } from './modules/schedules/schedules.launcher.js';
import { schedulesRoutes } from './modules/schedules/schedules.routes.js';
import { SchedulesService } from './modules/schedules/schedules.service.js';
import { scheduleProfileUsage, scheduleScriptUsage } from './modules/schedules/schedules.views.js';
import { AgentAuthenticator } from './realtime/agent-auth.js';
import { AgentGateway } from './realtime/agent-gateway.js';
import { agentChannelRoutes } from './realtime/agent.routes.js';
import { consoleRoutes } from './realtime/console.routes.js';
import { InProcessEventBus, PostgresEventBus, type EventBus } from './realtime/events.js';
import { onSocketError } from './realtime/socket-errors.js';
import { Sweeper } from './realtime/sweeper.js';
import { QueueConsumers } from './modules/queues/consumers.service.js';
import { queueItemsRoutes } from './modules/queues/items.routes.js';
import { QueueItemsService } from './modules/queues/items.service.js';
import { queuesRoutes } from './modules/queues/queues.routes.js';
import { QueuesService } from './modules/queues/queues.service.js';
import { QueueSweeper } from './modules/queues/queues.sweeper.js';
import { processJobsRoutes } from './modules/rpa/process-jobs.routes.js';
import { ProcessJobsService } from './modules/rpa/process-jobs.service.js';
import { processQueueTrigger } from './modules/rpa/queue-trigger.js';
import { robotSeats } from './modules/rpa/robot-seats.js';
import { runnerRoutes } from './modules/rpa/runner.routes.js';
import { alertingRoutes, createAlerting } from './modules/alerts/alerting.js';
import { WebhookEnqueuer } from './modules/webhooks/webhooks.enqueuer.js';
import { webhooksRoutes } from './modules/webhooks/webhooks.routes.js';
import { WebhookSender } from './modules/webhooks/webhooks.sender.js';
import { WebhooksService } from './modules/webhooks/webhooks.service.js';
import { assistantRoutes } from './modules/assistant/assistant.routes.js';
import { AssistantService } from './modules/assistant/assistant.service.js';
import { ChatProvider } from './modules/assistant/provider.js';

export interface AppDeps {
  config: Readonly<Config>;
  database: Database;
  clock?: Clock;
  /** Where logs go; tests pass a stream to read them. Defaults to stdout. */
  logStream?: NodeJS.WritableStream;
}

export type Services = ReturnType<typeof createServices>;

/** Events stay in the process on SQLite; on PostgreSQL they cross server nodes by LISTEN/NOTIFY. */
async function openEventBus(database: Database, logger: Logger): Promise<EventBus> {
  return database.caps.notify && database.pool
    ? PostgresEventBus.start(database.pool, logger)
    : new InProcessEventBus();
}

/** Wires services from their narrow dependencies: the one place that knows them all. */
export function createServices(deps: {
  config: Readonly<Config>;
  database: Database;
  clock: Clock;
  logger: Logger;
  bus: EventBus;
}) {
  const { config, database, clock, logger, bus } = deps;
  const db = database.db;
  const masterKey = loadMasterKey(config.masterKeyHex, config.dataDir);
  const audit = new AuditLog({ db, clock });
  const box = new SecretBox(masterKey);
  const settings = new SettingsService({ db, clock, box, audit, bus });
  const orgs = new OrgsService({ db, clock, audit });
  const tokens = new AccessTokens({ masterKey, ttlMs: config.accessTokenTtlMs, clock });
  const mailer = new Mailer({ settings, logger });
  const jobs = new JobsService({
    db,
    clock,
    audit,
    bus,
    settings,
    leaseMs: config.fleet.leaseMs,
    logger,
    box,
    // Process jobs seat the robots of the agents that claim them and open their assets.
    robots: robotSeats({ robots: (): RobotsService => robots, assets: (): AssetsService => assets }),
    jobTokens: new JobTokens(masterKey),
  });
  // Profile runs queue each agent's next task as the previous one ends, before the run settles.
  const sequencer = new StepSequencer({ db, clock, jobs, logger });
  const runs = new RunsService({
    db,
    clock,
    audit,
    bus,
    jobs,
    logger,
    followUp: (job) => sequencer.followUp(job),
  });
  // A script that a profile's task or a schedule runs, or a profile a schedule runs, cannot be
  // deleted (409 naming them).
  const scripts = new ScriptsService({
    db,
    clock,
    audit,
    usage: anyUsage(profileScriptUsage, scheduleScriptUsage),
  });
  const profileTasks = new TasksService({ db, clock, audit, box });
  const profiles = new ProfilesService({
    db,
    clock,
    audit,
    tasks: profileTasks,
    usage: scheduleProfileUsage,
  });
  const profileApplier = new ProfileApplier({ db, clock, audit, runs, logger });
  const scriptRunner = new ScriptRunner({ scripts, jobs, runs });
  const scheduleLauncher = new LibraryLauncher({
    scripts,
    runner: scriptRunner,
    profiles,
    applier: profileApplier,
    box,
  });
  // Requests are authenticated from this node's cache; the services that change what a
  // principal may do drop it here and, through the bus, on every node.
  const principals = new PrincipalCache({ bus, clock, ttlMs: config.principalCacheTtlMs });
  const apiKeys = new ApiKeysService({ db, clock, audit, settings, principals });
  // A package a process runs cannot be deleted (409 naming the processes): they answer here.
  const packages = new PackagesService({
    db,
    clock,
    audit,
    settings,
    store: openBlobStore({ kind: config.storage, dataDir: config.dataDir, db, clock }),
    usage: anyUsage(processPackageUsage),
    logger,
    tmpDir: path.join(config.dataDir, 'uploads'),
  });
  const processes = new ProcessesService({
    db,
    clock,
    audit,
    packages,
    // A process with jobs queued or running cannot be deleted (409 naming them): the engine answers.
    jobs: {
      activeJobs: async (db, orgId, processId) =>
        (await jobs.liveProcessJobs(orgId, processId, 100, db)).map((job) => ({
          type: 'process_job',
          id: job.id,
          name: job.id,
        })),
    },
  });
  const robots = new RobotsService({
    db,
    clock,
    audit,
    onHeartbeat: (robotId: string): Promise<unknown> => jobs.renewRunnerLeases(robotId),
    // a process on an agent robot speaks as its robot with its job's token
    jobTokens: (token: string) => jobs.robotOfJobToken(token),
  });
  const assets = new AssetsService({
    db,
    clock,
    audit,
    box,
    // An asset a robot runs as (its credential) cannot be deleted (409 naming the robots).
    usage: anyUsage(robotCredentialUsage),
    robotExists: (orgId, robotId) => robots.exists(orgId, robotId),
  });
  const processJobs = new ProcessJobsService({ jobs, processes, robots, logger });
  const deployServices = new ServicesService({
    db,
    clock,
    audit,
    bus,
    box,
    // A service whose deployments run cannot be deleted (409 naming them): the deployments answer.
    usage: { usersOf: (db, orgId, id): Promise<EntityUser[]> => deployments.usage.usersOf(db, orgId, id) },
    dir: config.servicesDir,
  });
  const deployTokens = new DeployTokensService({ db, clock, audit });
  const deploymentTokens = new DeploymentTokens(masterKey);
  const deploymentEvents = new DeploymentEvents({ db, bus, logger });
  const deployments = new DeploymentsService({
    db,
    clock,
    audit,
    events: deploymentEvents,
    box,
    jobs,
    services: serviceCatalog(deployServices),
    tokens: deploymentTokens,
    logger,
  });
  const deploymentReports = new DeploymentReports({
    db,
    clock,
    tokens: deploymentTokens,
    events: deploymentEvents,
  });
  const agents = new AgentsService({
    db,
    clock,
    audit,
    bus,
    uninstaller: jobs,
    // An agent robots live on cannot be deleted (409 naming them).
    usage: robotAgentUsage,
  });
  // After a database outage, agents are judged by their silence only once heartbeats are written.
  const outageHold = new OutageHold({
    graceMs: silenceGraceMs(config.fleet),
    probe: () => pingDatabase(database),
  });
  const metricsHistory = new MetricsService({ db, clock, agents, settings });
  const liveness = new Liveness({
    db,
    clock,
    bus,
    fleet: config.fleet,
    hold: outageHold,
    logger,
    onSeen: (ids) => jobs.renewLeases(ids).then(() => undefined),
    onMetrics: (heard) => metricsHistory.recordHeard(heard),
  });
  const agentAuth = new AgentAuthenticator({ db, jobs });
  // Outbound webhooks: events published on this node become deliveries, sent from the database.
  const webhookSender = new WebhookSender({
    db,
    clock,
    box,
    settings,
    audit,
    logger,
    allow: config.outboundAllow,
    // retries back off 10 s at least: looking for them each sweep is soon enough
    pollMs: config.fleet.sweepIntervalMs,
  });
  const webhookKick = (): void => webhookSender.kick();
  const agentBuilds = new AgentBuilds({
    dir: config.agentBuildsDir,
    warn: (message) => logger.warn({}, message),
  });
  const enrollment = new EnrollmentService({ db, clock, audit });
  const agentUpdates = new AgentUpdatesService({
    db,
    clock,
    audit,
    builds: agentBuilds,
    key: new BuildSigningKey({ db, clock, box }),
    groupOf: async (orgId, agentId) => (await agents.get(orgId, agentId)).group_id,
    versionCounts: (orgId) => countAgentVersions(db, orgId),
    // a connected agent is looked at again every few heartbeats: a new build reaches it within a minute
    recheckMs: 4 * config.fleet.heartbeatIntervalMs,
  });
  // Both agent transports (the WebSocket gateway, the HTTP fallback) speak through this one session.
  const agentSession = new AgentSession({
    jobs,
    agents,
    liveness,
    bus,
    heartbeatIntervalMs: config.fleet.heartbeatIntervalMs,
    logger,
    updates: agentUpdates,
  });
  return {
    assistant: new AssistantService({
      db,
      clock,
      audit,
      settings,
      agents,
      jobs,
      runs,
      scripts,
      provider: new ChatProvider({ allow: config.outboundAllow }),
      // Each generation costs the organisation tokens: 30 a minute per user is ample for a person.
      limiter: new RateLimiter({ max: 30, windowMs: 60_000, clock }),
    }),
    webhookSender,
    webhooks: new WebhooksService({ db, clock, audit, box, allow: config.outboundAllow, kick: webhookKick }),
    webhookEnqueuer: new WebhookEnqueuer({ db, bus, clock, logger, enqueued: webhookKick }),
    // Alert rules, alerts, silences and channels; the evaluator runs on the node holding its lease.
    alerting: createAlerting({
      db,
      clock,
      audit,
      bus,
      box,
      mailer,
      settings,
      logger,
      outboundAllow: config.outboundAllow,
      // agents go offline at a sweep: evaluating more often than that would see nothing new
      minIntervalMs: config.fleet.sweepIntervalMs,
    }),
    audit,
    settings,
    orgs,
    mailer,
    principals,
    authenticator: new Authenticator({ db, clock, tokens, cache: principals }),
    auth: new AuthService({
      db,
      clock,
      tokens,
      audit,
      orgs,
      settings,
      mailer,
      logger,
      refreshTtlMs: config.refreshTokenTtlMs,
      resetTtlMs: config.passwordResetTtlMs,
      publicUrl: config.publicUrl,
      principals,
    }),
    access: new AccessService({ db, clock, audit, apiKeys, principals }),
    apiKeys,
    packages,
    processes,
    assets,
    device: new DeviceService({ db, clock, audit, principals }),
    system: new SystemService({
      database,
      bus,
      dataDir: config.dataDir,
      instanceName: async () => (await settings.readInstance('general')).instance_name,
    }),
    metrics: metricsHistory,
    // Rolls metrics history up once across nodes; at least each 15 s so a minute is never missed for long.
    metricsRollup: new MetricsRollup({
      db,
      clock,
      leases: new NodeLeases({ db, clock }),
      settings,
      logger,
      intervalMs: Math.max(config.fleet.sweepIntervalMs, 15_000),
    }),
    bus,
    agents,
    robots,
    deployServices,
    deployTokens,
    deployments,
    deploymentReports,
    deploymentPacer: new DeploymentPacer({ deployments, intervalMs: config.fleet.sweepIntervalMs, logger }),
    agentBuilds,
    agentUpdates,
    agentGroups: new GroupsService({ db, clock, audit }),
    enrollment,
    installers: new InstallersService({
      db,
      clock,
      audit,
      enrollment,
      builds: agentBuilds,
    }),
    registration: new RegistrationService({
      db,
      clock,
      audit,
      bus,
      heartbeatIntervalMs: config.fleet.heartbeatIntervalMs,
      uninstaller: jobs,
      // A machine enrolling into a group with an auto profile gets that profile applied.
      onEnrolled: (agent, meta) => profileApplier.applyOnEnroll(agent, meta),
      updateKey: () => agentSession.updateKey(),
    }),
    liveness,
    jobs,
    runs,
    scripts,
    scriptRunner,
    profiles,
    profileTasks,
    profileApplier,
    profileSequencer: sequencer,
    schedules: new SchedulesService({
      db,
      clock,
      audit,
      launcher: scheduleLauncher,
      defaultZone: async (orgId) => (await settings.read(orgId, 'general')).timezone,
    }),
    housekeeper: new Housekeeper({
      db,
      clock,
      leases: new NodeLeases({ db, clock }),
      audit,
      logger,
      intervalMs: config.housekeeping.intervalMs,
      expiries: [...authPurges, ...invitePurges, ...enrollmentPurges],
      retentions: [
        // events of no organisation are kept as long as the instance's (primary organisation's) say
        auditPurge(async (orgId) =>
          orgId === null
            ? (await settings.readInstance('logging')).audit_retention_days
            : (await settings.read(orgId, 'logging')).audit_retention_days,
        ),
        jobOutputPurge(async (orgId) =>
          orgId === null ? 0 : (await settings.read(orgId, 'jobs')).output_retention_days,
        ),
      ],
      orgIds: () => orgs.ids(),
      instanceOrgId: async () => (await orgs.primary())?.id,
    }),
    scheduler: new Scheduler({
      db,
      clock,
      launcher: scheduleLauncher,
      logger,
      tickMs: config.schedules.tickMs,
    }),
    agentAuth,
    agentSession,
    gateway: new AgentGateway({
      session: agentSession,
      auth: agentAuth,
      bus,
      logger,
      maxSockets: config.maxAgentSockets,
    }),
    sweeper: new Sweeper({
      jobs,
      runs,
      liveness,
      hold: outageHold,
      intervalMs: config.fleet.sweepIntervalMs,
      logger,
    }),
    queues: new QueuesService({
      db,
      clock,
      audit,
      processExists: (orgId, processId) => processes.exists(orgId, processId),
    }),
    queueItems: new QueueItemsService({ db, clock, audit }),
    processJobs,
    queueConsumers: new QueueConsumers({ db, clock, audit }),
    // Abandons items in progress too long, and starts a queue's trigger process while items wait.
    // noQueueTrigger starts nothing: the processes module's QueueTrigger replaces it once wired.
    queueSweeper: new QueueSweeper({
      db,
      clock,
      trigger: processQueueTrigger({ jobs, processJobs }),
      intervalMs: config.fleet.sweepIntervalMs,
      logger,
    }),
  };
}

function requestId(header: string | string[] | undefined): string {
  return typeof header === 'string' && /^[\w.-]{1,100}$/.test(header) ? header : newId();
}

/** How long a console's socket has to answer the close frame before it is cut. */
const SOCKET_CLOSE_GRACE_MS = 1000;

/** Closes every socket left; one that does not answer the close handshake is cut after a grace. */
async function closeSockets(server: FastifyInstance['websocketServer']): Promise<void> {
  const closed = new Promise((resolve) => server.close(resolve));
  for (const client of server.clients) client.close(1001, 'server shutting down');
  const cut = setTimeout(() => {
    for (const client of server.clients) client.terminate();
  }, SOCKET_CLOSE_GRACE_MS);
  await closed;
  clearTimeout(cut);
}

/** Builds the HTTP app; it never listens by itself, so tests and main.ts both use it. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config, database } = deps;
  const clock = deps.clock ?? systemClock;
  const app = Fastify({
    logger: { level: config.logLevel, ...(deps.logStream ? { stream: deps.logStream } : {}) },
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    genReqId: (request) => requestId(request.headers['x-request-id']),
    return503OnClosing: true,
    frameworkErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // A database outage is logged once each way; what fails meanwhile because of it is not.
  const { availability } = database;
  const unwatch = availability.onChange((change) => {
    if (change.reachable) app.log.info('database reachable again');
    else
      app.log.warn(
        { err: change.error, during: change.during },
        'database unreachable: requests answer 503, agents stay connected, background work waits',
      );
  });
  const logger = outageAwareLogger(app.log, availability);
  const bus = await openEventBus(database, logger);
  const services = createServices({ config, database, clock, logger, bus });
  app.decorate('services', services);
  services.principals.start();
  services.liveness.start();
  services.gateway.start();
  services.runs.start();
  services.sweeper.start();
  services.queueSweeper.start();
  services.deploymentPacer.start();
  services.scheduler.start();
  services.alerting.evaluator.start();
  services.housekeeper.start();
  services.metricsRollup.start();
  const logLevel = new LiveLogLevel({
    settings: services.settings,
    primaryOrgId: async () => (await services.orgs.primary())?.id,
    bus,
    target: app.log,
    logger,
  });
  logLevel.start();
  services.webhookEnqueuer.start();
  services.webhookSender.start();
  app.addHook('onClose', async () => {
    // Before the runs: a fire under way finishes starting its run.
    await services.scheduler.stop();
    await services.alerting.evaluator.stop();
    await services.housekeeper.stop();
    await services.metricsRollup.stop();
    logLevel.stop();
    await services.runs.stop();
    await services.sweeper.stop();
    await services.queueSweeper.stop();
    await services.deploymentPacer.stop();
    await services.liveness.stop();
    // after the work that publishes events: what they published is enqueued, then sending stops
    await services.webhookEnqueuer.stop();
    await services.webhookSender.stop();
    services.principals.stop();
    await bus.close();
    unwatch();
  });
  app.setValidatorCompiler(validatorCompiler());
  installErrorHandling(app);
  app.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
  });

  await app.register(cors, {
    origin: config.corsOrigins.length > 0 ? config.corsOrigins : false,
    credentials: true,
  });
  await app.register(cookie);
  // Uploads (packages) are streamed by their routes, which set their own limits per request.
  await app.register(multipart);
  await app.register(swagger, openApiOptions({ version: packageVersion(), publicUrl: config.publicUrl }));
  installGuard(app, {
    users: services.authenticator,
    agents: services.agentAuth,
    robots: services.robots,
    deployments: services.deploymentReports,
    enrollment: services.enrollment,
  });
  installOpenApiConventions(app);
  await app.register(websocket, {
    options: { maxPayload: 1024 * 1024 },
    errorHandler: onSocketError,
    // Before the database closes: the gateway marks its agents disconnected and closes their
    // sockets, then every other socket (consoles) is closed.
    async preClose() {
      await services.gateway.stop();
      await closeSockets(app.websocketServer);
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const httpDuration = new Histogram({
    name: 'fleetplane_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [metrics],
  });
  const { liveness } = services;
  new Counter({
    name: 'fleetplane_heartbeats_total',
    help: 'Agent heartbeats: received (heard, hellos included) and written (agent rows updated; one per agent per flush)',
    labelNames: ['stage'],
    registers: [metrics],
    collect() {
      this.reset();
      this.inc({ stage: 'received' }, liveness.counts.received);
      this.inc({ stage: 'written' }, liveness.counts.written);
    },
  });
  const { gateway } = services;
  new Gauge({
    name: 'fleetplane_agent_sockets',
    // agents_connected in /api/v1/system/info counts the whole deployment; this is one node's share
    help: 'Agent WebSockets this node holds',
    registers: [metrics],
    collect() {
      this.set(gateway.connectedCount);
    },
  });
  new Gauge({
    name: 'fleetplane_agent_sockets_max',
    help: 'Agent WebSockets this node may hold (FLEETPLANE_MAX_AGENT_SOCKETS); +Inf when no open-files limit is known',
    registers: [metrics],
    collect() {
      this.set(gateway.maxSockets);
    },
  });
  new Counter({
    name: 'fleetplane_agent_sockets_refused_total',
    help: 'New agent WebSockets this node refused (503 node_full) because it held fleetplane_agent_sockets_max',
    registers: [metrics],
    collect() {
      this.reset();
      this.inc(gateway.refusedCount);
    },
  });
  app.addHook('onResponse', async (request, reply) => {
    httpDuration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unknown',
        status: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
  });

  const limiter = new RateLimiter({ ...config.authRateLimit, clock });
  registerFleetMetrics(metrics, { metrics: services.metrics, jobs: services.jobs });
  await app.register(systemRoutes({ system: services.system, metrics }));
  await app.register(metricsRoutes({ metrics: services.metrics }));
  await app.register(authRoutes({ auth: services.auth, limiter, refreshTtlMs: config.refreshTokenTtlMs }));
  await app.register(orgsRoutes({ orgs: services.orgs }));
  await app.register(accessRoutes({ access: services.access }));
  await app.register(apiKeysRoutes({ apiKeys: services.apiKeys }));
  await app.register(packagesRoutes({ packages: services.packages }));
  await app.register(processesRoutes({ processes: services.processes }));
  await app.register(assetsRoutes({ assets: services.assets }));
  await app.register(deviceRoutes({ device: services.device, limiter, publicUrl: config.publicUrl }));
  await app.register(auditRoutes({ audit: services.audit }));
  await app.register(settingsRoutes({ settings: services.settings }));
  await app.register(housekeepingRoutes({ housekeeper: services.housekeeper }));
  await app.register(agentsRoutes({ agents: services.agents }));
  await app.register(groupsRoutes({ groups: services.agentGroups }));
  await app.register(robotsRoutes({ robots: services.robots, limiter }));
  await app.register(servicesRoutes({ services: services.deployServices }));
  await app.register(agentBuildsRoutes({ builds: services.agentBuilds }));
  await app.register(
    agentUpdatesRoutes({
      updates: services.agentUpdates,
      heartbeatIntervalMs: config.fleet.heartbeatIntervalMs,
    }),
  );
  await app.register(installersRoutes({ installers: services.installers, publicUrl: config.publicUrl }));
  await app.register(deployTokensRoutes({ deployTokens: services.deployTokens }));
  await app.register(
    deploymentsRoutes({ deployments: services.deployments, reports: services.deploymentReports }),
  );
  await app.register(
    enrollmentRoutes({ enrollment: services.enrollment, registration: services.registration }),
  );
  await app.register(jobsRoutes({ jobs: services.jobs }));
  await app.register(runsRoutes({ runs: services.runs, jobs: services.jobs }));
  await app.register(
    scriptsRoutes({ scripts: services.scripts, runner: services.scriptRunner, jobs: services.jobs }),
  );
  await app.register(profilesRoutes({ profiles: services.profiles, applier: services.profileApplier }));
  await app.register(tasksRoutes({ tasks: services.profileTasks }));
  await app.register(schedulesRoutes({ schedules: services.schedules }));
  await app.register(alertingRoutes(services.alerting));
  await app.register(
    queuesRoutes({ queues: services.queues, items: services.queueItems, consumers: services.queueConsumers }),
  );
  await app.register(queueItemsRoutes({ items: services.queueItems, consumers: services.queueConsumers }));
  await app.register(processJobsRoutes({ processJobs: services.processJobs }));
  await app.register(
    runnerRoutes({
      jobs: services.jobs,
      consumers: services.queueConsumers,
      items: services.queueItems,
      assets: services.assets,
      packages: services.packages,
    }),
  );
  await app.register(webhooksRoutes({ webhooks: services.webhooks }));
  await app.register(assistantRoutes({ assistant: services.assistant }));
  await app.register(agentChannelRoutes({ gateway: services.gateway, session: services.agentSession }));
  await app.register(
    consoleRoutes({
      bus,
      jobs: services.jobs,
      deployments: services.deployments,
      auth: services.authenticator,
    }),
  );
  await app.register(webConsole({ dir: config.consoleDir }));
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}
