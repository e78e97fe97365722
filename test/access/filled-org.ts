import { enroll, facts, register, ScriptedAgent } from '../support/agents.js';
import { processBody, uploadPackage } from '../processes/support.js';
import { addMember, call, expectStatus, signup, type Session } from '../support/client.js';
import type { TestServer } from '../support/harness.js';
import { newId } from '../../src/server/lib/ids.js';
import { assistantRepo } from '../../src/server/modules/assistant/assistant.repo.js';

/** The kinds of id an organisation holds, as routes and filters take them. */
export type IdKind =
  | 'org'
  | 'role'
  | 'user'
  | 'invite'
  | 'apiKey'
  | 'audit'
  | 'agent'
  | 'agentGroup'
  | 'enrollmentToken'
  | 'job'
  | 'run'
  | 'script'
  | 'profile'
  | 'template'
  | 'task'
  | 'schedule'
  | 'package'
  | 'process'
  | 'processJob'
  | 'robot'
  | 'queue'
  | 'queueItem'
  | 'asset'
  | 'sdkToken'
  | 'service'
  | 'deployToken'
  | 'deployment'
  | 'alertRule'
  | 'alert'
  | 'notificationChannel'
  | 'silence'
  | 'webhook'
  | 'conversation'
  | 'request';

export const ID_KINDS: IdKind[] = [
  'org',
  'role',
  'user',
  'invite',
  'apiKey',
  'audit',
  'agent',
  'agentGroup',
  'enrollmentToken',
  'job',
  'run',
  'script',
  'profile',
  'template',
  'task',
  'schedule',
  'package',
  'process',
  'processJob',
  'robot',
  'queue',
  'queueItem',
  'asset',
  'sdkToken',
  'service',
  'deployToken',
  'deployment',
  'alertRule',
  'alert',
  'notificationChannel',
  'silence',
  'webhook',
  'conversation',
  'request',
];

/** Any UUID in a text: every id of the API is one. */
export const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

export function uuidsIn(value: unknown): string[] {
  return JSON.stringify(value ?? null).match(UUID) ?? [];
}

/**
 * Which kind of id each `{id}` route takes, by path prefix. A new route with an `{id}` must be
 * added here, or the walk fails: isolation is proven for every route, not for a sample.
 */
export const idKindByPrefix: [prefix: string, kind: IdKind][] = [
  ['/api/v1/access/roles/', 'role'],
  ['/api/v1/access/users/', 'user'],
  ['/api/v1/access/invites/', 'invite'],
  ['/api/v1/api-keys/', 'apiKey'],
  ['/api/v1/audit/', 'audit'],
  ['/api/v1/agents/', 'agent'],
  ['/api/v1/agent-groups/', 'agentGroup'],
  ['/api/v1/enrollment-tokens/', 'enrollmentToken'],
  ['/api/v1/jobs/', 'job'],
  ['/api/v1/runs/', 'run'],
  ['/api/v1/scripts/', 'script'],
  ['/api/v1/profiles/', 'profile'],
  ['/api/v1/templates/', 'template'],
  ['/api/v1/schedules/', 'schedule'],
  ['/api/v1/packages/', 'package'],
  ['/api/v1/processes/', 'process'],
  ['/api/v1/process-jobs/', 'processJob'],
  ['/api/v1/robots/', 'robot'],
  ['/api/v1/queues/', 'queue'],
  ['/api/v1/queue-items/', 'queueItem'],
  ['/api/v1/assets/', 'asset'],
  ['/api/v1/sdk/tokens/', 'sdkToken'],
  ['/api/v1/services/', 'service'],
  ['/api/v1/deploy-tokens/', 'deployToken'],
  ['/api/v1/deployments/', 'deployment'],
  ['/api/v1/webhooks/', 'webhook'],
  ['/api/v1/assistant/conversations/', 'conversation'],
  ['/api/v1/alert-rules/', 'alertRule'],
  ['/api/v1/alerts/', 'alert'],
  ['/api/v1/notification-channels/', 'notificationChannel'],
  ['/api/v1/silences/', 'silence'],
];

export function idKindOf(path: string): IdKind | undefined {
  return idKindByPrefix.find(([prefix]) => path.startsWith(prefix))?.[1];
}

/** The path parameters that name a row inside the `{id}` of the route: a task, a deployment's target. */
export const CHILD_PARAMS = /\{(taskId|targetId|deliveryId)\}/;

/**
 * The route with this id, and a value that exists in the organisation for any other parameter:
 * script version 1, for `{taskId}` the task of the profile or template the route names, and for
 * `{targetId}` the target of the deployment.
 */
export function concrete(path: string, id: string, childId?: string): string {
  if (CHILD_PARAMS.test(path) && !childId) throw new Error(`no child id known for ${path}`);
  return path
    .replace('{id}', id)
    .replace('{version}', '1')
    .replace(CHILD_PARAMS, childId ?? '');
}

/**
 * The task of the organisation's profile or template, or the target of its deployment `id`, for
 * routes of that kind.
 */
export function childIdOf(org: FilledOrg, kind: IdKind, id = org.ids[kind]): string | undefined {
  if (kind === 'profile' || kind === 'template') return org.taskIds[kind];
  if (kind === 'webhook') return org.deliveryIds[id];
  return kind === 'deployment' ? org.targetIds[id] : undefined;
}

export interface FilledOrg {
  owner: Session;
  /** An operator who joined through an invite. */
  member: Session;
  /** The id of each kind that routes are called with. */
  ids: Record<IdKind, string>;
  /** Every id of each kind the organisation was seen to hold. */
  byKind: Record<IdKind, Set<string>>;
  /** A task of the profile and one of the template, for `{taskId}`. */
  taskIds: { profile: string; template: string };
  /** The machine of each of its deployments, by deployment id, for `{targetId}`. */
  targetIds: Record<string, string>;
  /** A delivery of each of its webhooks, by webhook id, for `{deliveryId}`. */
  deliveryIds: Record<string, string>;
  /** The custom role as created. */
  role: any;
  apiKeySecret: string;
  /** The robot token of its registered runner robot. */
  robotToken: string;
  /** The FP_DEPLOYMENT_TOKEN of its deployment still running, as its deploy script holds it. */
  deploymentToken: string;
  /** Secrets of its service token (for its service) and of its config token. */
  serviceTokenSecret: string;
  configTokenSecret: string;
  /** Names and emails of its rows: text that must never reach another organisation. */
  texts: string[];
}

/** Ends a claimed job with some output, as an agent would. */
async function finishWithOutput(server: TestServer, agentToken: string, job: any, text: string) {
  const base = { job_id: job.job_id, attempt: job.attempt };
  await expectStatus(
    call(server, 'POST', `/api/v1/agent/jobs/${job.job_id}/events`, {
      token: agentToken,
      body: {
        events: [
          { type: 'ack', ...base },
          { type: 'output', ...base, seq: 0, stream: 'stdout', data: `${text}\n` },
          { type: 'result', ...base, status: 'succeeded', exit_code: 0, duration_ms: 5 },
        ],
      },
    }),
    200,
  );
}

/** A conversation of the owner with one request, written straight to its tables. */
async function ownerConversation(server: TestServer, owner: Session, label: string): Promise<{ id: string }> {
  const now = new Date().toISOString();
  const id = newId();
  const db = server.database.db;
  await assistantRepo.insertConversation(db, {
    id,
    org_id: owner.orgId,
    user_id: owner.userId,
    title: `${label} conversation`,
    os_type: 'ubuntu',
    shell: 'bash',
    agent_id: null,
    created_at: now,
    updated_at: now,
  });
  await assistantRepo.insertMessage(db, {
    id: newId(),
    conversation_id: id,
    role: 'user',
    content: `${label} conversation`,
    proposal: null,
    job_id: null,
    run_id: null,
    created_at: now,
  });
  return { id };
}

/**
 * A new organisation holding one of everything the API can create: members, a custom role, an
 * invite, an API key, a group, an enrollment token, an agent enrolled with it (that ran a job
 * with output) and one registered with a machine key, a script with two versions, a saved
 * command, a profile and a template with tasks, a job, runs of every source, schedules, an
 * agent robot and a registered runner robot, a process with two versions, a service on the enrolled
 * agent with a deployment that succeeded (steps, output, published config) and one still running,
 * a service token and a config token, a second organisation of its owner, and the audit events of
 * all that. Every name starts with `label`.
 */
export async function fillOrganisation(server: TestServer, label: string): Promise<FilledOrg> {
  const owner = await signup(server, label);
  const member = await addMember(server, owner, 'operator');
  const as = (method: string, route: string, body: unknown, status: number) =>
    expectStatus(call(server, method, route, { token: owner.token, body }), status);

  const role = await as(
    'POST',
    '/api/v1/access/roles',
    { name: `${label}-ops`, description: `${label} only`, permissions: ['audit:read', 'roles:read'] },
    201,
  );
  const invite = await as(
    'POST',
    '/api/v1/access/invites',
    { email: `pending@${label}.test`, role_id: role.id },
    201,
  );
  const key = await as('POST', '/api/v1/api-keys', { name: `${label} key`, role_id: role.id }, 201);
  const group = await as('POST', '/api/v1/agent-groups', { name: `${label} group` }, 201);
  // agent updates roll out to this group first: its id shows in the policy
  await as(
    'PUT',
    '/api/v1/agent-updates',
    { paused: false, stage: 'canary', canary_group_id: group.id },
    200,
  );
  const enrollment = await as(
    'POST',
    '/api/v1/enrollment-tokens',
    { name: `${label} enrollment`, group_id: group.id, tags: [label] },
    201,
  );
  const enrolled = await enroll(server, owner, {
    secret: enrollment.secret,
    facts: { hostname: `${label}-enrolled` },
  });
  const machine = await as(
    'POST',
    '/api/v1/agents',
    { name: `${label} machine`, group_id: group.id, tags: [label] },
    201,
  );
  const registered = await expectStatus(
    register(server, { machine_key: machine.machine_key, facts: facts({ hostname: `${label}-machine` }) }),
    200,
  );
  const agentId = machine.agent.id as string;

  const script = await as(
    'POST',
    '/api/v1/scripts',
    { name: `${label} script`, language: 'sh', content: `echo ${label}` },
    201,
  );
  await as('PATCH', `/api/v1/scripts/${script.id}`, { content: `echo ${label} again` }, 200);
  const command = await as(
    'POST',
    '/api/v1/scripts',
    { name: `${label} command`, kind: 'command', language: 'sh', content: 'uptime' },
    201,
  );
  const task = { name: `${label} task`, action: 'command', content: `echo ${label}`, interpreter: 'sh' };
  const profile = await as('POST', '/api/v1/profiles', { name: `${label} profile`, tasks: [task] }, 201);
  const scriptTask = await as(
    'POST',
    `/api/v1/profiles/${profile.id}/tasks`,
    { name: `${label} script task`, action: 'script', script_id: script.id },
    201,
  );
  const template = await as('POST', '/api/v1/templates', { name: `${label} template`, tasks: [task] }, 201);

  // The enrolled agent runs a job to the end, with output; the others stay queued.
  const job = await as(
    'POST',
    `/api/v1/agents/${enrolled.agentId}/jobs`,
    { interpreter: 'sh', command: `echo ${label}` },
    202,
  );
  const runner = new ScriptedAgent(server, enrolled.agentId, enrolled.agentToken);
  await finishWithOutput(server, enrolled.agentToken, await runner.next(), label);
  const run = await as(
    'POST',
    '/api/v1/runs',
    {
      name: `${label} run`,
      target: { agent_ids: [agentId] },
      job: { interpreter: 'sh', command: `echo ${label}` },
    },
    202,
  );
  const scriptJob = await as('POST', `/api/v1/scripts/${script.id}/run`, { agent_id: agentId }, 202);
  const scriptRun = await as(
    'POST',
    `/api/v1/scripts/${command.id}/execute`,
    { target: { agent_ids: [agentId] } },
    202,
  );
  const applied = await as('POST', `/api/v1/profiles/${profile.id}/apply`, { agent_ids: [agentId] }, 202);
  const schedule = await as(
    'POST',
    '/api/v1/schedules',
    {
      name: `${label} schedule`,
      action: { kind: 'script', script_id: script.id },
      target: { agent_ids: [agentId] },
      interval_seconds: 3600,
    },
    201,
  );
  const profileSchedule = await as(
    'POST',
    '/api/v1/schedules',
    {
      name: `${label} profile schedule`,
      action: { kind: 'profile', profile_id: profile.id },
      target: { group_id: group.id },
      cron: '0 9 * * *',
      timezone: 'Europe/Paris',
    },
    201,
  );
  // A robot on the enrolled agent, and a runner that registered (its token acts in the audit log).
  const agentRobot = await as(
    'POST',
    '/api/v1/robots',
    { name: `${label} agent robot`, kind: 'agent', agent_id: enrolled.agentId, pools: [label] },
    201,
  );
  const runnerRobot = await as('POST', '/api/v1/robots', { name: `${label} runner`, kind: 'runner' }, 201);
  const runnerToken = await expectStatus(
    call(server, 'POST', '/api/v1/runner/register', {
      body: { name: `${label} runner`, machine_key: runnerRobot.machine_key },
    }),
    200,
  );
  // A work queue with an item waiting and one taken.
  const queue = await as('POST', '/api/v1/queues', { name: `${label} queue`, unique_references: true }, 201);
  const queueItem = await as(
    'POST',
    `/api/v1/queues/${queue.id}/items`,
    { content: { label }, reference: `${label}-ref-1` },
    201,
  );
  const takenItem = await as('POST', `/api/v1/queues/${queue.id}/items`, { content: { label } }, 201);
  await as('POST', `/api/v1/queues/${queue.id}/items/claim`, undefined, 200);
  // A credential asset with a global value and the runner's own, and an SDK token of the owner.
  const asset = await as(
    'POST',
    '/api/v1/assets',
    { name: `${label}-asset`, type: 'credential', value: { username: `${label}-user`, password: 'pw' } },
    201,
  );
  await as(
    'PUT',
    `/api/v1/assets/${asset.id}/robots/${runnerRobot.robot.id}/value`,
    { value: { username: `${label}-runner-user`, password: 'pw' } },
    200,
  );
  const device = await expectStatus(
    call(server, 'POST', '/api/v1/sdk/device/start', { body: { client_name: `${label} sdk` } }),
    200,
  );
  await as('POST', '/api/v1/sdk/device/confirm', { user_code: device.user_code, approve: true }, 200);
  await expectStatus(
    call(server, 'POST', '/api/v1/sdk/device/token', { body: { device_code: device.device_code } }),
    200,
  );
  const sdkTokens = await as('GET', '/api/v1/sdk/tokens', undefined, 200);
  const processPackage = await uploadPackage(server, owner, `${label}-process-bot`, '1.0.0');
  const processDef = await as(
    'POST',
    '/api/v1/processes',
    processBody(processPackage.name, { name: `${label} process`, package_version: '1.0.0' }),
    201,
  );
  await as('PATCH', `/api/v1/processes/${processDef.id}`, { timeout_seconds: 600 }, 200);
  // A job of it for the runner, which waits: the runner never claims it.
  const processJob = await as(
    'POST',
    '/api/v1/process-jobs',
    { process_id: processDef.id, robot_id: runnerRobot.robot.id },
    201,
  );
  // A service on the enrolled agent: one deployment ran to the end (steps, output, config published
  // for discovery), the next one runs, so its script's token is live.
  const service = await as(
    'POST',
    '/api/v1/services',
    {
      name: `${label}-service`,
      description: `${label} recipe`,
      script: { interpreter: 'sh', content: `echo ${label} deploy` },
      steps: [`${label} build`],
      runs_on: { type: 'agent', agent_id: enrolled.agentId },
      env: { REGION: `${label}-region` },
    },
    201,
  );
  const deployed = await as('POST', '/api/v1/deployments', { service_id: service.id }, 201);
  const deployJob = await runner.next();
  const deployScript = (method: string, route: string, body: unknown) =>
    expectStatus(call(server, method, route, { token: deployJob.env.FP_DEPLOYMENT_TOKEN, body }), 200);
  await deployScript('POST', '/api/v1/steps', {
    name: `${label} build`,
    state: 'success',
    message: `${label} built`,
  });
  await deployScript('PUT', '/api/v1/deployments/finish', { config: { url: `https://${label}.example` } });
  await finishWithOutput(server, enrolled.agentToken, deployJob, `${label} deployed`);
  const deploying = await as('POST', '/api/v1/deployments', { service_id: service.id }, 201);
  const liveJob = await runner.next();
  const serviceToken = await as(
    'POST',
    '/api/v1/deploy-tokens',
    { kind: 'service', service_id: service.id, origin: 'github', expires_in_days: 30 },
    201,
  );
  // A webhook (to a TEST-NET address: public as the server judges it) with one delivery, its ping;
  // disabled, so nothing is sent where nothing answers.
  const webhook = await as(
    'POST',
    '/api/v1/webhooks',
    {
      url: `http://192.0.2.10/${label}-hook`,
      description: `${label} hook`,
      events: ['job.*'],
      enabled: false,
    },
    201,
  );
  const ping = await as('POST', `/api/v1/webhooks/${webhook.webhook.id}/test`, undefined, 202);
  const configToken = await as(
    'POST',
    '/api/v1/deploy-tokens',
    { kind: 'config', origin: 'discovery', expires_in_days: 30 },
    201,
  );
  // Alerting: an email channel, a rule on the queue's backlog that fired (its item waits), a silence.
  const channel = await as(
    'POST',
    '/api/v1/notification-channels',
    { name: `${label} channel`, kind: 'email', config: { to: [`oncall@${label}.test`] } },
    201,
  );
  const alertRule = await as(
    'POST',
    '/api/v1/alert-rules',
    {
      name: `${label} backlog rule`,
      kind: 'queue_backlog',
      params: { queue_id: queue.id, items: 0 },
      channel_ids: [channel.id],
    },
    201,
  );
  await server.app.services.alerting.evaluator.evaluate();
  const alerts = await as('GET', `/api/v1/alerts?rule_id=${alertRule.id}`, undefined, 200);
  const silence = await as(
    'POST',
    '/api/v1/silences',
    { rule_id: alertRule.id, reason: `${label} maintenance`, ends_at: '2999-01-01T00:00:00.000Z' },
    201,
  );
  // An assistant conversation of the owner, written as the assistant would (no provider here).
  const conversation = await ownerConversation(server, owner, label);
  // The owner's second organisation: listed to its members only.
  const secondOrg = await as('POST', '/api/v1/orgs', { name: `${label} second org` }, 201);
  const audit = await as('GET', '/api/v1/audit?limit=200', undefined, 200);

  const kinds: Record<IdKind, string[]> = {
    org: [owner.orgId, secondOrg.id],
    role: [role.id],
    user: [member.userId, owner.userId],
    invite: [invite.invite.id],
    apiKey: [key.key.id],
    audit: audit.items.map((e: { id: string }) => e.id),
    agent: [agentId, enrolled.agentId, registered.agent_id],
    agentGroup: [group.id],
    enrollmentToken: [enrollment.enrollment_token.id],
    job: [job.id, scriptJob.id],
    run: [run.id, scriptRun.id, applied.id],
    script: [script.id, command.id],
    profile: [profile.id],
    template: [template.id],
    task: [profile.tasks[0].id, scriptTask.id, template.tasks[0].id],
    schedule: [schedule.id, profileSchedule.id],
    package: [processPackage.id],
    process: [processDef.id],
    processJob: [processJob.id],
    robot: [agentRobot.robot.id, runnerRobot.robot.id],
    queue: [queue.id],
    queueItem: [queueItem.id, takenItem.id],
    asset: [asset.id],
    sdkToken: sdkTokens.items.map((t: { id: string }) => t.id),
    service: [service.id],
    deployToken: [serviceToken.token.id, configToken.token.id],
    deployment: [deployed.id, deploying.id],
    webhook: [webhook.webhook.id],
    conversation: [conversation.id],
    alertRule: [alertRule.id],
    alert: alerts.items.map((a: { id: string }) => a.id),
    notificationChannel: [channel.id],
    silence: [silence.id],
    request: audit.items.map((e: { request_id: string | null }) => e.request_id).filter(Boolean),
  };
  return {
    owner,
    member,
    ids: Object.fromEntries(ID_KINDS.map((kind) => [kind, kinds[kind][0]])) as Record<IdKind, string>,
    byKind: Object.fromEntries(ID_KINDS.map((kind) => [kind, new Set(kinds[kind])])) as Record<
      IdKind,
      Set<string>
    >,
    taskIds: { profile: profile.tasks[0].id, template: template.tasks[0].id },
    targetIds: { [deployed.id]: deployed.targets[0].id, [deploying.id]: deploying.targets[0].id },
    deliveryIds: { [webhook.webhook.id]: ping.id },
    role,
    apiKeySecret: key.secret,
    robotToken: runnerToken.robot_token,
    deploymentToken: liveJob.env.FP_DEPLOYMENT_TOKEN,
    serviceTokenSecret: serviceToken.secret,
    configTokenSecret: configToken.secret,
    texts: [
      owner.email,
      member.email,
      `pending@${label}.test`,
      `${label}-ops`,
      `${label} only`,
      `${label} key`,
      `${label} group`,
      `${label} enrollment`,
      `${label}-enrolled`,
      `${label} machine`,
      `${label}-machine`,
      `${label} script`,
      `${label} command`,
      `${label} profile`,
      `${label} template`,
      `${label} task`,
      `${label} run`,
      `${label} schedule`,
      `${label}-process-bot`,
      `${label} process`,
      `${label} second org`,
      `${label} queue`,
      `${label}-ref-1`,
      `${label} agent robot`,
      `${label} runner`,
      `${label}-asset`,
      `${label}-user`,
      `${label}-runner-user`,
      `${label} sdk`,
      `${label}-service`,
      `${label} recipe`,
      `${label} deploy`,
      `${label} build`,
      `${label} built`,
      `${label}-region`,
      `https://${label}.example`,
      `${label} hook`,
      `${label}-hook`,
      `${label} channel`,
      `oncall@${label}.test`,
      `${label} backlog rule`,
      `${label} maintenance`,
      `${label} conversation`,
    ],
  };
}
